"""Thin django-q2 tasks: they take ids and call services."""

from django.utils import timezone

from .receipts import messages_receipts_check
from .services import message_deliver, messages_deliver_due


def message_deliver_task(message_id: int) -> None:
    message_deliver(message_id=message_id, now=timezone.now())


def messages_deliver_due_task() -> int:
    return messages_deliver_due(now=timezone.now())


def messages_receipts_check_task() -> int:
    return messages_receipts_check(now=timezone.now())
