"""Thin django-q2 tasks: they take names or ids and call services."""

from django.utils import timezone

from yuyue.worker import worker_heartbeat_write

from .register import register_export_run
from .sweeps import SWEEPS


def sweep_task(name: str) -> str:
    now = timezone.now()
    worker_heartbeat_write(now=now)
    return str(SWEEPS[name](now=now))


def register_export_task(export_id: int) -> None:
    """DB1403/T 附录A: write a register export queued from the console."""
    register_export_run(export_id=export_id, now=timezone.now())
