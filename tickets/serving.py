"""The web server of `make run`: Werkzeug's, without its version in the `Server` header.

`flask run` answers with `Server: Werkzeug/3.x Python/3.y`, which tells a visitor which
known bugs to try; it offers no way to change that, so `make run` starts this instead
(`python -m tickets.serving --host 127.0.0.1 --port 5000`). In production gunicorn
serves the app and says only `Server: gunicorn`.
"""
from __future__ import annotations

import argparse

from werkzeug.serving import WSGIRequestHandler, run_simple

SERVER = "Bihuan"


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler, naming no server version (header and SERVER_SOFTWARE)."""

    @property
    def server_version(self) -> str:  # type: ignore[override]
        return SERVER

    def version_string(self) -> str:
        return SERVER


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)
    from wsgi import app

    run_simple(args.host, args.port, app, threaded=True, request_handler=QuietRequestHandler)


if __name__ == "__main__":
    main()
