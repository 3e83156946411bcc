"""The specification, and Swagger UI served from the app itself (the swagger-ui-bundle package's files)."""
from __future__ import annotations

from flask import abort, current_app, render_template, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from . import bp
from .spec import build

# The files of Swagger UI the page loads; nothing else of the package is served.
ASSETS = frozenset({"swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css",
                    "favicon-32x32.png"})


@bp.route("/openapi.json")
def openapi():
    spec = current_app.extensions.get("bihuan.openapi")
    if spec is None:
        spec = current_app.extensions["bihuan.openapi"] = build(current_app)
    return spec


@bp.route("/docs")
def docs():
    # Under the app's own CSP (no inline script or style): the page starts Swagger UI from static/api-docs.js.
    return render_template("api/docs.html")


@bp.route("/docs/assets/<filename>")
def docs_asset(filename: str):
    if filename not in ASSETS:
        abort(404)
    return send_from_directory(swagger_ui_path, filename, max_age=3600)
