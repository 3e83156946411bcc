"""Who calls: the API token of the Authorization header, never a session cookie.

The token is read before any other hook of the app looks at the user, so that a browser's session
cookie sent along is ignored (the API takes no CSRF token, so it must never act on a cookie).
Refused tokens are throttled like sign-ins: past API_TOKEN_ADDRESS_LIMIT refusals from one
address in the moving window, every request of that address with a token is answered 429 before
any token is looked up. The counts live where the sign-in counts live (Redis, or this process's
memory while Redis is down).
"""
from __future__ import annotations

from functools import wraps

from flask import current_app, g, request
from flask_babel import lazy_gettext as _l
from flask_login import AnonymousUserMixin, current_user
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from .. import throttle
from ..extensions import db
from ..services import tokens
from ..services.security_log import record
from .problems import is_api_request, problem

SCOPE = "api-token-address"
_fallback = MovingWindowRateLimiter(MemoryStorage())


def _address_args() -> list[str]:
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX")
    return [*([prefix] if prefix else []), "address-" + (request.remote_addr or "unknown"), SCOPE]


def _limit():
    return parse(current_app.config["API_TOKEN_ADDRESS_LIMIT"])


def _strategies():
    limiter = current_app.extensions[throttle.EXTENSION].limiter
    return (limiter, _fallback)


def _locked() -> bool:
    for strategy in _strategies():
        try:
            return not strategy.test(_limit(), *_address_args())
        except Exception:  # Redis down: this process's memory counts instead
            continue
    return False


def _count_refusal() -> None:
    for strategy in _strategies():
        try:
            strategy.hit(_limit(), *_address_args())
            return
        except Exception:
            continue


def load_token_user():
    """Before every API request: the token's user, or nobody; a bad token is answered 401 here."""
    if not is_api_request():
        return None
    g._login_user = current_app.login_manager.anonymous_user()
    g.api_token = None
    header = request.headers.get("Authorization")
    if header is None:
        return None  # the specification and the docs page are public; every other call asks `token_required`
    scheme, _, raw = header.strip().partition(" ")
    if _locked():
        return problem(429, headers={"Retry-After": str(_limit().get_expiry())})
    token = tokens.find(raw.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        _count_refusal()
        record("token_refused", reason="token")
        db.session.commit()
        return problem(401, headers={"WWW-Authenticate": 'Bearer realm="bihuan"'})
    g._login_user = token.user
    g.api_token = token
    tokens.touch(token)
    return None


def token_required(scope: str = "read"):
    """The view needs a token with `scope` ("write" for anything that changes the record)."""
    def wrap(view):
        @wraps(view)
        def inner(*args, **kwargs):
            token = g.get("api_token")
            if token is None:
                return problem(401, headers={"WWW-Authenticate": 'Bearer realm="bihuan"'})
            if scope not in token.scope_set:
                return problem(403, _l("This token may only read; making changes needs a token with the "
                                       "“write” permission."))
            return view(*args, **kwargs)
        inner._scope = scope
        return inner
    return wrap


def caller():
    return current_user._get_current_object()


def init_app(app) -> None:
    # First of the app's hooks (tests put their own user reset before it), so that nothing reads
    # the session's user on an API request.
    app.before_request_funcs.setdefault(None, []).insert(0, load_token_user)
