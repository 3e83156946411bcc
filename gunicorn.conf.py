"""gunicorn's settings for production: `gunicorn -c gunicorn.conf.py wsgi:app` (docs/DEPLOY.md).

Every value can be changed from the environment; the defaults suit one web machine behind a
reverse proxy (nginx) that terminates TLS.
"""
import multiprocessing
import os

# Where the reverse proxy reaches this machine (GUNICORN_BIND, or BIND, or PORT on 127.0.0.1).
bind = os.environ.get("GUNICORN_BIND") or os.environ.get("BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"

# Sync workers: each request holds one database connection for its length. The usual 2 x cores + 1,
# capped so that the pool of every worker (DB_POOL_SIZE + DB_MAX_OVERFLOW each) stays below the
# database's max_connections across the web machines (docs/DEPLOY.md, PostgreSQL pooling).
_default_workers = min(2 * multiprocessing.cpu_count() + 1, int(os.environ.get("WEB_CONCURRENCY_MAX", "12")))
workers = int(os.environ.get("WEB_CONCURRENCY", _default_workers))
worker_class = "sync"

# Each worker imports the app itself, so that each has its own connection pool: a pool created
# before fork would share its sockets between processes.
preload_app = False

# A request that takes longer than this is killed (and logged); uploads of 50 MB over a slow line
# fit well inside it.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# On SIGTERM (a deploy), requests under way get this long to finish.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# A worker is replaced after this many requests (and a random extra), so that a slow leak never
# grows for ever.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "200"))

# The reverse proxy's X-Forwarded-* headers are trusted from these addresses only.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Logs: one JSON object a line to stdout, for the access log and gunicorn's own lines alike
# (tickets/gunicorn_log.py); the app's lines are JSON too (LOG_FORMAT=json in production).
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
logger_class = "tickets.gunicorn_log.JsonLogger"
# Never `Server: gunicorn/x.y`: no version for a visitor to look up.
