"""Thin django-q2 tasks of the project itself."""

from django.utils import timezone

from .worker import worker_heartbeat_write


def heartbeat_task() -> None:
    worker_heartbeat_write(now=timezone.now())
