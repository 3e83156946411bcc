"""The WSGI entry: gunicorn wsgi:app, or flask --app wsgi."""
from tickets import create_app

app = create_app()
