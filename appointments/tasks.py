"""Thin django-q2 tasks: they take ids and call services (the sweeps run through
``yuyue.tasks.sweep_task``)."""

from django.utils import timezone

from .register import register_export_run


def register_export_task(export_id: int) -> None:
    """DB1403/T 附录A: write a register export queued from the console."""
    register_export_run(export_id=export_id, now=timezone.now())
