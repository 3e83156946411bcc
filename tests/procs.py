"""The environment for third-party servers that the tests start (Chromium, redis-server)."""
from __future__ import annotations

import os


def without_faketime(env: dict | None = None) -> dict:
    """`env` (default: this process's) without libfaketime.

    scripts/test_at_odd_hours.sh moves the clock of the test process, and of every process it
    starts, with LD_PRELOAD. Chromium and redis-server hang under it at start; their clocks
    play no part in any date the tests check (the app's processes keep the faked clock).
    """
    env = dict(os.environ if env is None else env)
    return {k: v for k, v in env.items() if k != "LD_PRELOAD" and not k.startswith("FAKETIME")}


def python_path(root) -> str:
    """PYTHONPATH for a Python child process: the project, then what this process was given.

    The inherited part matters under scripts/test_at_odd_hours.sh: it carries
    scripts/faketime/sitecustomize.py, without which time.sleep fails under libfaketime.
    """
    inherited = os.environ.get("PYTHONPATH")
    return os.pathsep.join([str(root), inherited] if inherited else [str(root)])
