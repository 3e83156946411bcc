"""The security headers of every response, set in one place.

No Flask-Talisman: the headers are a handful of fixed strings, and a plain
after_request keeps them readable in one screen. A view that sets a stricter
header of its own (an attachment download: `default-src 'none'; sandbox`)
keeps it; everything else gets the defaults below.
"""
from __future__ import annotations

from flask import Flask, request
from flask_login import current_user

# No inline script or style anywhere: every style is in static/*.css, every
# script in static/*.js, so an injected <script> or style="" never runs.
# Inline SVG keeps its presentation attributes (fill=, stroke=), which CSP allows.
CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
REFERRER_POLICY = "same-origin"


def init_app(app: Flask) -> None:
    @app.after_request
    def security_headers(resp):
        headers = resp.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", REFERRER_POLICY)
        # For browsers that predate frame-ancestors.
        headers.setdefault("X-Frame-Options", "DENY")
        hsts = app.config.get("HSTS")
        if hsts:
            headers.setdefault("Strict-Transport-Security", hsts)
        # A signed-in page holds a firm's problems or the record: no browser or proxy
        # keeps a copy (the back button on a shared office PC after sign-out, say).
        # Static files stay cacheable; they are the same for everyone.
        if request.endpoint != "static" and current_user and current_user.is_authenticated:
            if "no-store" not in headers.get("Cache-Control", ""):
                headers["Cache-Control"] = "no-store"
        return resp
