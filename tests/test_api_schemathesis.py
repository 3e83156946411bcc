"""Schemathesis, the independent API testing tool, run against the API's own OpenAPI specification.

Its command line runs against the app served on a loopback port (a small park: requests in several
states, a meeting list, so that numbers generated from the specification's pattern meet real requests
too), with a coordinator's token, a firm's, and none. Its checks: no 5xx, and every answer conforms to
the specification (status code, content type, headers, body schema). The run is seeded and
deterministic, so that it is the same at any hour; its report is kept in test-artifacts/.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import pytest

from config import TestingConfig
from tickets import create_app
from tickets.extensions import db
from tickets.reference import ensure_reference_data
from tickets.services.calendar import seed_year
from tickets.timeutil import from_local, set_now

from .api_support import token_for
from .conftest import Park, accept, drop_everything, file_request, handle
from .pgsuite import separate_url

NOW = from_local(datetime(2026, 11, 24, 10))
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,"
          "response_schema_conformance")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
# The second database's run (TEST_SECOND_RUN=1, scripts/test_at_odd_hours.sh) asks a quarter of the examples.
SHARE = 4 if os.environ.get("TEST_SECOND_RUN") == "1" else 1


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from werkzeug.serving import make_server

    tmp = tmp_path_factory.mktemp("schemathesis")

    class Cfg(TestingConfig):
        UPLOAD_DIR = str(tmp / "uploads")
        SQLALCHEMY_DATABASE_URI = separate_url(tmp, "schemathesis")   # SQLite, or the run's PostgreSQL

    app = create_app(Cfg)
    with app.app_context():
        db.drop_all()
        db.create_all()
        ensure_reference_data()
        seed_year(2026)
        park = Park()
        set_now(from_local(datetime(2026, 11, 16, 9)))
        for i in range(6):
            t = file_request(park, title=f"诉求 {i}")
            if i % 3:
                accept(park, t)
            if i % 3 == 2:
                handle(park, t)
        file_request(park, user=park.firm_b_user, title="乙公司")
        set_now(NOW)
        from tickets.services.meeting import build_list, week_of

        build_list(week_of(NOW))
        tokens = {"coordinator": token_for(park.coordinator), "firm": token_for(park.firm_user)}
        db.session.remove()
    set_now(NOW, running=True)
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}", tokens
    finally:
        srv.shutdown()
        thread.join(10)
        srv.server_close()
        with app.app_context():
            db.session.remove()
            drop_everything()
        set_now(None)


@pytest.mark.parametrize("role,examples", [("coordinator", 40), ("firm", 25), (None, 5)])
def test_schemathesis_finds_no_5xx_and_no_answer_outside_the_specification(served, role, examples):
    base, tokens = served
    ARTIFACTS.mkdir(exist_ok=True)
    cmd = [str(Path(sys.executable).with_name("schemathesis")), "run", f"{base}/api/v1/openapi.json",
           "--checks", CHECKS, "--max-examples", str(max(2, examples // SHARE)), "--seed", "20261124", "--generation-deterministic",
           "--phases", "examples,coverage,fuzzing",
           "--suppress-health-check", "all", "--request-timeout", "60", "--continue-on-failure",
           "--report", "junit", "--report-junit-path", str(ARTIFACTS / f"schemathesis-{role or 'anonymous'}.xml")]
    if role:
        cmd += ["--header", f"Authorization: Bearer {tokens[role]}"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"})
    tail = (run.stdout + run.stderr)[-6000:]
    assert run.returncode == 0, tail
    assert "passed" in run.stdout, tail
    print(run.stdout[-3000:])
