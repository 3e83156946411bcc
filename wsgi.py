"""The WSGI entry: gunicorn wsgi:app, or flask --app wsgi."""
from tickets import create_app, logs

app = create_app()
# Logs to stdout, one JSON object a line in production (LOG_FORMAT): here, not in the factory,
# so that an app built in a test or a script leaves the process's logging alone.
logs.configure_for(app)
