"""The JSON API for the platforms around the park: /api/v1, authenticated by API tokens.

Every call goes through the same services, lifecycle table and permission function as the web
pages; a token acts as its user (tickets/services/tokens.py). The specification is built from the
routes' declarations (spec.py) and served at /api/v1/openapi.json, with Swagger UI at /api/v1/docs.
"""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PREFIX = "/api/v1/"

from . import docs_routes, reference_routes, ticket_routes  # noqa: E402,F401


def init_app(app) -> None:
    """Register the blueprint, without CSRF (no cookie is ever read here), and the token check."""
    from ..extensions import csrf
    from . import auth, problems

    app.register_blueprint(bp)
    csrf.exempt(bp)
    auth.init_app(app)
    problems.init_app(app)
