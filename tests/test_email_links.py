"""Links in e-mails point at the address the app is served at.

`make run` (scripts/run.py) passes BASE_URL, from PORT, to the web app, the worker and
beat; the configuration reads it (or PORT, when run otherwise); the e-mail channel
builds every link from it.
"""
from __future__ import annotations

import subprocess
import sys

from tickets.channels.email import build
from tickets.extensions import db
from tickets.models import OutboxMessage

from .conftest import accept, file_request
from .procs import python_path
from .test_secrets import ROOT, load_run


def test_make_run_gives_its_children_the_address_of_its_port(tmp_path, monkeypatch):
    monkeypatch.delenv("BASE_URL", raising=False)
    run = load_run()
    run.INSTANCE = tmp_path  # the keys it creates go there, not into the project's instance/
    env = run.child_env(5901, "unix:///tmp/redis.sock?db=0")
    assert env["BASE_URL"] == "http://127.0.0.1:5901"
    assert env["MAIL_DIR"] == str(tmp_path / "mail")
    # An address set by whoever runs it (a proxy in front, a host name) is kept.
    monkeypatch.setenv("BASE_URL", "https://bihuan.example.test")
    assert run.child_env(5901, "unix:///tmp/redis.sock?db=0")["BASE_URL"] == "https://bihuan.example.test"


def config_base_url(**env) -> str:
    """BASE_URL as a fresh process (the worker, the web app) reads its configuration."""
    clean = {k: v for k, v in __import__("os").environ.items() if k not in ("BASE_URL", "PORT")}
    out = subprocess.run([sys.executable, "-c", "from config import DevelopmentConfig as C; print(C.BASE_URL)"],
                         cwd=ROOT, env=clean | {"PYTHONPATH": python_path(ROOT)} | env,
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_the_configuration_reads_the_address_or_the_port():
    assert config_base_url() == "http://127.0.0.1:5000"
    assert config_base_url(PORT="5901") == "http://127.0.0.1:5901"
    assert config_base_url(PORT="5901", BASE_URL="http://10.0.0.7:8080") == "http://10.0.0.7:8080"


def test_an_email_links_to_the_ticket_at_the_served_address(app, park, tmp_path, monkeypatch):
    monkeypatch.delenv("BASE_URL", raising=False)
    run = load_run()
    run.INSTANCE = tmp_path
    app.config["BASE_URL"] = run.child_env(5901, "unix:///tmp/redis.sock?db=0")["BASE_URL"]
    t = file_request(park)
    accept(park, t)
    row = db.session.scalar(db.select(OutboxMessage).filter_by(user_id=park.firm_user.id, channel="email",
                                                               kind="accepted"))
    msg = build(row)
    link = f"http://127.0.0.1:5901/tickets/{t.number}"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert link in text and f'href="{link}"' in html
    assert ":5000" not in text + html
