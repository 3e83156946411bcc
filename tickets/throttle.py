"""Throttling sign-in with Flask-Limiter: failed attempts per account and per client address.

Only failures count (a wrong name, a wrong password, a deactivated account), and a success does
not use up the budget. Past LOGIN_ACCOUNT_LIMIT failures for one name (known or not: the answer
must not tell them apart) or LOGIN_ADDRESS_LIMIT from one address, in a moving window, every
further attempt is refused before any password is checked, until the window frees a slot or an
admin unlocks the account. The counts live in Redis, shared by every web process; while Redis is
unreachable Flask-Limiter counts in this process's memory instead (`in_memory_fallback`), so that
sign-in keeps working and stays throttled, only per process and not across them.
"""
from __future__ import annotations

import hashlib

from flask import current_app, request
from flask_limiter import Limit, Limiter
from limits import parse

ACCOUNT_SCOPE, ADDRESS_SCOPE = "signin-account", "signin-address"
SIGN_IN = "auth.login"
# Set on a request whose credentials were refused; Flask-Limiter counts only those.
FAILED = "bihuan.sign_in_failed"
EXTENSION = "bihuan.throttle"


def account_key(username: str | None) -> str:
    """The counter of a typed name: hashed, so that Redis never holds what people type there."""
    folded = (username or "").strip().lower()
    return "account-" + hashlib.sha256(folded.encode("utf-8")).hexdigest()[:32]


def _account_from_form() -> str:
    return account_key(request.form.get("username"))


def _address() -> str:
    return "address-" + (request.remote_addr or "unknown")


def _refused(response) -> bool:
    return bool(request.environ.get(FAILED))


def _account_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_LIMIT"]


def _address_limit() -> str:
    return current_app.config["LOGIN_ADDRESS_LIMIT"]


def _limits() -> list[Limit]:
    common = dict(shared=True, methods=["POST"], deduct_when=_refused)
    return [Limit(_account_limit, key_function=_account_from_form, scope=ACCOUNT_SCOPE, **common),
            Limit(_address_limit, key_function=_address, scope=ADDRESS_SCOPE, **common)]


def _not_sign_in() -> bool:
    # Every other request skips the limiter entirely, so that no other page waits on Redis.
    return not (request.endpoint == SIGN_IN and request.method == "POST")


def init_app(app) -> None:
    """One limiter per app (the tests build many apps): the sign-in limits, in Redis and in memory."""
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = storage_uri(app.config["REDIS_URL"])
    # The same two limits serve as the in-memory fallback: Flask-Limiter applies only those
    # while its storage is down.
    limiter = Limiter(_address, default_limits=_limits(), in_memory_fallback=_limits())
    limiter.request_filter(_not_sign_in)
    limiter.init_app(app)
    app.extensions[EXTENSION] = limiter


def storage_uri(redis_url: str) -> str:
    """REDIS_URL in the spelling of the `limits` package (`make run` passes a Unix socket)."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://"):]
    return redis_url


def _limiter() -> Limiter:
    return current_app.extensions[EXTENSION]


def window_minutes() -> int:
    """The window of the account limit, in minutes: how long a lock lasts at most."""
    return max(1, parse(_account_limit()).get_expiry() // 60)


def count_failure() -> list[str]:
    """Count this request as a refused sign-in; the scopes ("signin-account", ...) it locks now."""
    request.environ[FAILED] = True
    locked = []
    for current in _limiter().current_limits:
        try:
            left = current.remaining  # before this failure is counted (after the response)
        except Exception:  # storage gone mid-request: nothing to report, the count goes on
            continue
        if left <= 1:
            locked.append(current.request_args[-1])
    return locked


def _account_args(username: str) -> list[str]:
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX")
    return [*([prefix] if prefix else []), account_key(username), ACCOUNT_SCOPE]


def forget_failures(username: str) -> None:
    """After a successful sign-in, the account's earlier failures no longer count against it."""
    try:
        _limiter().limiter.clear(parse(_account_limit()), *_account_args(username))
    except Exception:  # best effort: the failures expire with their window anyway
        current_app.logger.warning("could not clear the sign-in failures of an account")


def unlock(username: str) -> bool:
    """Clear the account's failure count (Redis, or this process's memory while Redis is down)."""
    try:
        _limiter().limiter.clear(parse(_account_limit()), *_account_args(username))
    except Exception:
        current_app.logger.exception("could not unlock an account")
        return False
    return True


def is_locked(username: str) -> bool | None:
    """Whether the account's next sign-in would be refused; None when the count cannot be read."""
    try:
        return not _limiter().limiter.test(parse(_account_limit()), *_account_args(username))
    except Exception:
        return None
