"""Bihuan: the enterprise request closed loop."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .extensions import babel, csrf, db, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


def select_locale() -> str:
    """The user's stored language, else the session's choice, else the browser's."""
    if not has_request_context():
        # Services run from the worker and the CLI too: their messages use the default.
        return current_app.config.get("BABEL_DEFAULT_LOCALE", "zh")
    if current_user and current_user.is_authenticated:
        return current_user.language
    chosen = session.get("language")
    if chosen in ("zh", "en"):
        return chosen
    return request.accept_languages.best_match(["zh", "en"]) or "zh"


def create_app(config_class=None) -> Flask:
    """Build the app: configuration, extensions, blueprints. No I/O here."""
    from config import config_from_env

    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_object(config_class or config_from_env())
    app.config["CELERY"] = dict(app.config["CELERY"], broker_url=app.config["REDIS_URL"])
    from config import engine_options

    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config["SQLALCHEMY_DATABASE_URI"],
                                                             app.config.get("SQLALCHEMY_ENGINE_OPTIONS"))
    (config_class or config_from_env()).check(app)

    from .routing import IdConverter, TextConverter

    # Before any route is added: every <int:...> is a row id in range (404 beyond), and every
    # <name> a text without NUL (404 with one: PostgreSQL refuses it in a query).
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["default"] = app.url_map.converters["string"] = TextConverter

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(ROOT / "translations"),
    )
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    from . import throttle

    throttle.init_app(app)

    from . import labels, security_headers, views_common

    views_common.init_app(app)
    labels.init_app(app)
    # Imported for its before_flush listener: webhook rows are written with their events.
    from .services import webhooks  # noqa: F401
    security_headers.init_app(app)
    from . import db_down, health

    db_down.init_app(app)
    health.init_app(app)

    from .auth import bp as auth_bp
    from .desk import bp as desk_bp
    from .firm import bp as firm_bp
    from .ticket import bp as ticket_bp
    from .admin import bp as admin_bp
    from .inbox import bp as inbox_bp
    from .inspect import bp as inspect_bp
    from .meeting import bp as meeting_bp
    from .rates import bp as rates_bp
    from .exports import bp as exports_bp
    from .notices import bp as notices_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(firm_bp)
    app.register_blueprint(desk_bp)
    app.register_blueprint(ticket_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(inbox_bp)
    for oversight_bp in (inspect_bp, meeting_bp, rates_bp, exports_bp, notices_bp):
        app.register_blueprint(oversight_bp)
    from . import api

    api.init_app(app)
    # Who may open each page (tickets/permissions.py), judged after the blueprints' session check.
    from . import permissions

    permissions.init_app(app)

    from . import cli

    cli.init_app(app)
    # Last, so that its hook runs first: every line of a request carries the request's id.
    from . import logs

    logs.init_app(app)
    return app
