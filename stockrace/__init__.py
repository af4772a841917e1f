# The Celery app is loaded with Django in every process (web, commands, workers), so that a task's
# .delay() always goes to this project's broker, never to Celery's unconfigured default app.
from celery_app import app as celery_app

__all__ = ("celery_app",)
