"""The OpenAPI specification is built from the routes and kept in sync with them."""
from __future__ import annotations

import schemathesis

from tickets.api.spec import openapi_path

# Routes of the API blueprint that are not calls of the API: the specification and its page.
NOT_CALLS = {"api.openapi", "api.docs", "api.docs_asset"}


def api_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith("api.") and r.endpoint not in NOT_CALLS]


def test_every_route_of_the_api_is_in_the_specification_and_nothing_else(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    routes = {(openapi_path(r.rule), m.lower()) for r in api_rules(app) for m in r.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops
                  if method in ("get", "post", "put", "patch", "delete")}
    assert routes - documented == set(), "routes missing from the specification"
    assert documented - routes == set(), "the specification names routes that do not exist"


def test_the_specification_is_valid_openapi_and_names_every_answer(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    # Against the OpenAPI 3.0 meta-schema, by the independent tool that tests the API (raises when invalid).
    schemathesis.openapi.from_dict(spec).validate()
    assert spec["openapi"].startswith("3.0")
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            statuses = set(op["responses"])
            assert {"401", "429"} <= statuses, (path, method)
            if method == "post":
                assert "403" in statuses and "requestBody" in op, (path, method)
            if "{number}" in path:
                assert "404" in statuses, (path, method)
            assert op["security"] == [{"bearerAuth": []}]


def test_the_docs_page_serves_swagger_ui_from_the_app_itself(client):
    page = client.get("/api/v1/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "https://" not in html and "//cdn" not in html
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"/api/v1/docs/assets/{asset}" in html
        resp = client.get(f"/api/v1/docs/assets/{asset}")
        assert resp.status_code == 200 and len(resp.data) > 10_000
    assert "script-src 'self';" in page.headers["Content-Security-Policy"]
    assert client.get("/api/v1/docs/assets/index.html").status_code == 404
