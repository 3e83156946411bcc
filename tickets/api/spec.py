"""The OpenAPI specification, built from the routes' own declarations with apispec.

Each API view carries its operation (`@operation(...)`); `build(app)` walks the URL map, so a route
without a declaration is missing from the specification, and tests/test_api_spec.py fails on it.
"""
from __future__ import annotations

import re

from apispec import APISpec

from . import schemas

TITLE = "Bihuan API"
VERSION = "1.0.0"
DESCRIPTION = """The request closed loop of the park, for the platforms around it.

Authenticate with an API token: `Authorization: Bearer bh_…`. A personal token (made on your
profile page) acts as you; a service token (made by an admin for an integration) files for and reads
the firms of its integration. A token with the `read` permission may only read.

Values are stable codes, each with its label in Chinese and English beside it. Errors are
`application/problem+json` (RFC 9457) with the message in both languages. Lists are paged by
`cursor` (give back `next_cursor`), in the order of the last change.
"""
_CONVERTER = re.compile(r"<(?:[a-z_]+:)?([a-z_]+)>")


def operation(method: str, summary: str, *, tag: str, scope: str | None = "read", params=(), body=None,
              ok: tuple[int, str] = (200, "Ticket"), errors=(), description: str = ""):
    """Declare the view's operation for `method`; `errors` are the problem statuses it may answer."""
    def wrap(view):
        ops = view.__dict__.setdefault("_openapi", {})
        statuses = set(errors)
        if scope is not None:
            statuses |= {401, 429} | ({403} if scope == "write" else set())
        responses = {str(ok[0]): {"description": "OK" if ok[0] == 200 else "Created",
                                  "content": {"application/json": {"schema": ref(ok[1])}}}}
        for status in sorted(statuses):
            responses[str(status)] = {"$ref": f"#/components/responses/Problem{status}"}
        op = {"summary": summary, "tags": [tag], "operationId": view.__name__ + ("" if method == "get" else
                                                                                   "_" + method),
              "parameters": list(params), "responses": responses}
        if description:
            op["description"] = description
        if scope is not None:
            op["security"] = [{"bearerAuth": []}]
        if body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(body)}}}
        ops[method] = op
        return view
    return wrap


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def openapi_path(rule: str) -> str:
    return _CONVERTER.sub(r"{\1}", rule)


def build(app) -> dict:
    spec = APISpec(title=TITLE, version=VERSION, openapi_version="3.0.3", info={"description": DESCRIPTION})
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer",
                                                   "description": "An API token: bh_ and 43 characters."})
    for name, schema in schemas.SCHEMAS.items():
        spec.components.schema(name, schema)
    for status, (code, title) in schemas.problem_statuses().items():
        spec.components.response(f"Problem{status}", {
            "description": title,
            "content": {"application/problem+json": {"schema": ref("Problem")}}})
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.startswith("api."):
            continue
        ops = getattr(app.view_functions[rule.endpoint], "_openapi", None)
        if not ops:
            continue
        path_params = [schemas.PATH_PARAMS[name] for name in rule.arguments if name in schemas.PATH_PARAMS]
        spec.path(path=openapi_path(rule.rule), operations={m: dict(op) for m, op in ops.items()},
                  parameters=path_params)
    return spec.to_dict()
