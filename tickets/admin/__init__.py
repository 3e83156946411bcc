"""Admin pages: users, firms, departments, categories, the calendar, the XLSX import, webhooks.

Every endpoint of the blueprint is for admins only: tickets/permissions.py, ENDPOINTS.
"""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")


from . import (calendar_routes, import_routes, reference_routes, routes, schedule_routes,  # noqa: E402,F401
               security_routes, webhook_routes, worker_routes, integration_routes)
