"""The published keys sign nothing outside the test suite.

The app is started the way `make run` starts it: the development config, with
the keys that scripts/run.py created in an instance folder (here in tmp_path).
"""
from __future__ import annotations

import importlib.util
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

from config import DevelopmentConfig, ProductionConfig, published
from tickets import create_app
from tickets.extensions import db
from tickets.reference import ensure_reference_data

from .conftest import PASSWORD, Park
from .procs import python_path

ROOT = Path(__file__).resolve().parent.parent
# The development defaults that earlier versions shipped in config.py (issue 8).
PUBLISHED_SECRET = "dev-secret-not-for-production"
PUBLISHED_AUDIT_KEY = "dev-audit-key-not-for-production"
REFUSAL = "refuses to start without real secrets"


def load_run():
    """scripts/run.py as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bihuan_run", ROOT / "scripts" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dev_config(tmp_path: Path, base: type = DevelopmentConfig, **values) -> type:
    """DevelopmentConfig (or `base`) with nothing in the environment, its instance folder in tmp_path."""
    attrs = dict(INSTANCE_DIR=str(tmp_path / "instance"), SECRET_KEY=None, AUDIT_KEY=None,
                 SECRET_KEY_FALLBACKS=None, AUDIT_KEYS_RETIRED=None,
                 SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'dev.db'}",
                 UPLOAD_DIR=str(tmp_path / "uploads"), MAIL_DIR=str(tmp_path / "mail"))
    attrs.update(values)
    return type("Dev", (base,), attrs)


def started_like_make_run(tmp_path: Path) -> Flask:
    instance = tmp_path / "instance"
    instance.mkdir()
    run = load_run()
    for filename in run.KEY_FILES.values():
        run.ensure_key(instance / filename)
    return create_app(dev_config(tmp_path))


def forge(payload: dict, key: str) -> str:
    """A session cookie for `payload` signed with `key`, as Flask signs its own."""
    forger = Flask("forger")
    forger.secret_key = key
    return forger.session_interface.get_signing_serializer(forger).dumps(payload)


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


# --- the forged cookie ---------------------------------------------------------------------


def test_cookie_signed_with_the_published_key_does_not_open_admin(tmp_path):
    app = started_like_make_run(tmp_path)
    assert app.secret_key == (tmp_path / "instance" / "secret_key").read_text().strip()
    assert not published(app.secret_key) and app.secret_key != PUBLISHED_SECRET
    assert not published(app.config["AUDIT_KEY"])
    with app.app_context():
        db.create_all()
        ensure_reference_data()
        admin_id = Park().admin.id
        db.session.remove()

    # Whatever a real signed-in session holds (a user id, or a session token)...
    client = app.test_client()
    form = client.get("/login").get_data(as_text=True)
    resp = client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": csrf_token(form)})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    held = app.session_interface.get_signing_serializer(app).loads(client.get_cookie(cookie_name).value)
    assert client.get("/admin/users").status_code == 200

    def admin_page_with(cookie: str) -> int:
        outsider = app.test_client()
        outsider.set_cookie(cookie_name, cookie)
        return outsider.get("/admin/users").status_code

    # ...signed with the app's own key opens the page (so the forgery below is a fair try)...
    assert admin_page_with(forge(held, app.secret_key)) == 200
    # ...and signed with the published key does not, nor does the cookie of the report.
    assert admin_page_with(forge(held, PUBLISHED_SECRET)) == 302
    assert admin_page_with(forge({"_user_id": str(admin_id), "_fresh": True}, PUBLISHED_SECRET)) == 302


def test_old_session_key_in_the_fallbacks_keeps_sessions_through_a_rotation(tmp_path):
    app = started_like_make_run(tmp_path)
    old = app.secret_key
    with app.app_context():
        db.create_all()
        ensure_reference_data()
        Park()
        db.session.remove()
    client = app.test_client()
    form = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": csrf_token(form)})
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value

    def status_after_rotation(fallbacks) -> int:
        rotated = create_app(dev_config(tmp_path, SECRET_KEY="a-new-session-key-0123456789",
                                        SECRET_KEY_FALLBACKS=fallbacks))
        c = rotated.test_client()
        c.set_cookie(rotated.config["SESSION_COOKIE_NAME"], cookie)
        return c.get("/admin/users").status_code

    assert status_after_rotation([old]) == 200
    assert status_after_rotation(None) == 302  # without the fallback everyone signs in again


# --- refusing to start ---------------------------------------------------------------------


def test_development_start_without_keys_refuses_and_says_what_to_set(tmp_path):
    (tmp_path / "instance").mkdir()
    with pytest.raises(RuntimeError) as refused:
        create_app(dev_config(tmp_path))
    message = str(refused.value)
    assert REFUSAL in message
    assert "SECRET_KEY is not set" in message and "AUDIT_KEY is not set" in message
    assert str(tmp_path / "instance" / "secret_key") in message and "make run" in message


@pytest.mark.parametrize("secret, audit, problem", [
    (PUBLISHED_SECRET, "a-real-audit-key-0123456789", "SECRET_KEY is a key published with the code"),
    ("a-real-secret-key-0123456789", PUBLISHED_AUDIT_KEY, "AUDIT_KEY is a key published with the code"),
    ("test-secret-but-long-enough", "test-audit-key", "AUDIT_KEY is shorter than 16 characters"),
    ("the-same-key-for-both-0123456", "the-same-key-for-both-0123456", "SECRET_KEY and AUDIT_KEY are the same"),
])
@pytest.mark.parametrize("base", [DevelopmentConfig, ProductionConfig])
def test_published_short_or_shared_keys_are_refused(tmp_path, base, secret, audit, problem):
    cfg = dev_config(tmp_path, base, SECRET_KEY=secret, AUDIT_KEY=audit)
    with pytest.raises(RuntimeError, match=re.escape(problem)):
        create_app(cfg)


def test_the_test_constants_are_refused_outside_the_tests(tmp_path):
    from config import TestingConfig

    assert published(TestingConfig.SECRET_KEY) and published(TestingConfig.AUDIT_KEY)
    cfg = dev_config(tmp_path, SECRET_KEY=TestingConfig.SECRET_KEY + "-padded-out", AUDIT_KEY=TestingConfig.AUDIT_KEY)
    with pytest.raises(RuntimeError, match="AUDIT_KEY"):
        create_app(cfg)


def test_development_config_reads_the_keys_make_run_created(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "secret_key").write_text("s" * 40 + "\n")
    (instance / "audit_key").write_text("a" * 40 + "\n")
    (instance / "audit_keys_retired").write_text("old-one-0123456789\n\nold-two-0123456789\n")
    app = create_app(dev_config(tmp_path))
    assert (app.secret_key, app.config["AUDIT_KEY"]) == ("s" * 40, "a" * 40)
    assert app.config["AUDIT_KEYS_RETIRED"] == ["old-one-0123456789", "old-two-0123456789"]
    assert app.config["SECRET_KEY_FALLBACKS"] == []
    # The environment wins over the file.
    app = create_app(dev_config(tmp_path, AUDIT_KEY="from-the-environment-0123"))
    assert app.config["AUDIT_KEY"] == "from-the-environment-0123"


def _bare_env(instance: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("SECRET_KEY", "AUDIT_KEY", "SECRET_KEY_FALLBACKS", "AUDIT_KEYS_RETIRED", "DATABASE_URL",
                        "BIHUAN_ENV", "UPLOAD_DIR", "MAIL_DIR") and not k.startswith(("FLASK_", "TEST_"))}
    env.update(BIHUAN_INSTANCE=str(instance), PYTHONPATH=python_path(ROOT))
    return env


@pytest.mark.parametrize("argv", [
    ["-c", "from wsgi import app"],
    ["-m", "flask", "--app", "wsgi", "audit", "verify"],
    ["-c", "import worker.app"],
])
def test_every_entry_point_refuses_without_keys(tmp_path, argv):
    (tmp_path / "instance").mkdir()
    done = subprocess.run([sys.executable, *argv], cwd=ROOT, env=_bare_env(tmp_path / "instance"),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert REFUSAL in done.stderr and "SECRET_KEY is not set" in done.stderr, done.stderr[-2000:]


def test_cli_finds_the_keys_make_run_created(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    run = load_run()
    for filename in run.KEY_FILES.values():
        run.ensure_key(instance / filename)
    env = _bare_env(instance)
    for args in (["db", "upgrade"], ["audit", "verify"]):
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
    assert "0 tickets checked, 0 broken" in done.stdout


# --- scripts/run.py's keys -----------------------------------------------------------------


def test_launcher_creates_each_key_once_mode_0600_and_reuses_it(tmp_path, monkeypatch):
    run = load_run()
    path = tmp_path / "audit_key"
    modes = []
    real_link = run.os.link

    def link(src, dst):  # the mode the key was written with, before it is in place
        modes.append(stat.S_IMODE(os.stat(src).st_mode))
        real_link(src, dst)

    monkeypatch.setattr(run.os, "link", link)
    key = run.ensure_key(path)
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    assert modes == [0o600] and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert run.ensure_key(path) == key  # reused, not replaced
    assert run.ensure_key(tmp_path / "secret_key") != key
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit_key", "secret_key"]  # no temporary left

    path.chmod(0o644)  # loosened by hand: tightened again, key kept
    assert run.ensure_key(path) == key and stat.S_IMODE(path.stat().st_mode) == 0o600

    empty = tmp_path / "empty_key"
    empty.write_text("")
    with pytest.raises(SystemExit, match="empty"):
        run.ensure_key(empty)

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("AUDIT_KEY", "set-in-the-environment-01234")
    chosen = run.keys(tmp_path)
    assert chosen == {"SECRET_KEY": (tmp_path / "secret_key").read_text().strip(),
                      "AUDIT_KEY": "set-in-the-environment-01234"}
