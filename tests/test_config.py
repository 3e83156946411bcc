"""Production refuses to start without real secrets."""
import pytest

from config import ProductionConfig
from tickets import create_app


def _prod(**values):
    return type("Prod", (ProductionConfig,), values)


@pytest.mark.parametrize("secret, audit", [
    # The development defaults that earlier versions published in config.py.
    ("dev-secret-not-for-production", "a-real-audit-key-of-length"),
    ("a-real-secret-key-of-length", "dev-audit-key-not-for-production"),
    ("", "a-real-audit-key-of-length"),
    ("short", "a-real-audit-key-of-length"),
])
def test_production_refuses_missing_or_development_secrets(secret, audit):
    with pytest.raises(RuntimeError):
        create_app(_prod(SECRET_KEY=secret, AUDIT_KEY=audit, SQLALCHEMY_DATABASE_URI="sqlite://"))


def test_production_starts_with_real_secrets(monkeypatch):
    monkeypatch.delenv("BIHUAN_FROZEN_NOW", raising=False)
    monkeypatch.delenv("BIHUAN_CLOCK_OFFSET", raising=False)
    app = create_app(_prod(SECRET_KEY="a-real-secret-key-of-length", AUDIT_KEY="a-real-audit-key-of-length",
                           SQLALCHEMY_DATABASE_URI="sqlite://"))
    assert app.config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize("name,value", [("BIHUAN_FROZEN_NOW", "2026-11-28T01:00:00Z"),
                                        ("BIHUAN_CLOCK_OFFSET", "-86400")])
def test_production_refuses_a_test_clock(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(RuntimeError):
        create_app(_prod(SECRET_KEY="a-real-secret-key-of-length", AUDIT_KEY="a-real-audit-key-of-length",
                         SQLALCHEMY_DATABASE_URI="sqlite://"))
