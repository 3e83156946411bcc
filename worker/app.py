"""The Celery entry point: `celery -A worker.app worker` and `celery -A worker.app beat`."""
from config import INSTANCE_DIR
from tickets import create_app

from .celery_app import celery_init_app

# Not named `app`: Celery's -A lookup tries `app` before `celery`.
flask_app = create_app()
celery = celery_init_app(flask_app)
# Beat keeps its schedule state beside the database, not in the working directory.
INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
celery.conf.beat_schedule_filename = str(INSTANCE_DIR / "celerybeat-schedule")
