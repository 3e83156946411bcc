"""Integration tests against real processes: Redis, a Celery worker and an SMTP server."""
