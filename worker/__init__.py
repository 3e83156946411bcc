"""The Celery side of Bihuan: app, tasks and beat schedule.

The worker imports `tickets`; `tickets` never imports the worker.
"""
