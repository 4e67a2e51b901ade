"""django-q2 tasks: thin wrappers that take ids and call a service."""

from django.utils import timezone

from .register import register_export_run


def register_export_task(export_id: int) -> None:
    """DB1403/T 附录A: write a register export queued from the console."""
    register_export_run(export_id=export_id, now=timezone.now())
