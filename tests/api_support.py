"""Scenario helpers of the API tests: tokens for the park's people, calls that read like the user's steps."""
from __future__ import annotations

from tickets.services import tokens


def token_for(user, scopes=("read", "write"), name="test") -> str:
    """A personal token of `user` (its secret)."""
    return tokens.create_personal(user, name, list(scopes), 90)[1]


def integration(park, firms, name="浙里办", scopes=("read", "write")):
    """An integration serving `firms`, made by the park's admin; returns (service user, token secret)."""
    service = tokens.save_integration(park.admin, None, name, "\n".join(f.credit_code for f in firms))
    return service, tokens.create_service_token(park.admin, service, "主令牌", list(scopes), 365)[1]


class Api:
    """Calls to /api/v1 with one token, on a Flask test client."""

    def __init__(self, client, token: str | None):
        self.client, self.token = client, token

    def headers(self, extra=None):
        h = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**h, **(extra or {})}

    def get(self, path, **params):
        return self.client.get("/api/v1" + path, query_string=params, headers=self.headers())

    def post(self, path, body=None, headers=None):
        return self.client.post("/api/v1" + path, json=body if body is not None else {}, headers=self.headers(headers))

    def act(self, number, action, **body):
        return self.post(f"/tickets/{number}/actions/{action}", body)
