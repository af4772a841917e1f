"""The Celery application: tasks from every app, the beat schedule in the database."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockrace.settings")

app = Celery("stockrace")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
