"""Delivery receipts: what the providers report after they accepted a message, pushed to the
hall's callback (``yuyue.views.sms_receipt``), pulled or asked for by the receipts sweep, and
asked for when a send was interrupted.

A message moves sent → delivered or sent → failed on its receipt, once: a duplicate receipt
changes nothing, a failure reported after a delivery is ignored (the handset has the text), and
a delivery reported after a failure replaces it (carriers report intermediate failures). The
time recorded is the provider's (the handset's receipt time), not when the receipt reached us:
DB1403/T 6.2.2 asks when the applicant was told.
"""

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from .backends import get_backend
from .models import Message, OutboxMessage
from .providers import Receipt
from .signals import message_delivered, message_undelivered, records_listened

logger = logging.getLogger(__name__)

PROVIDERS = ("aliyun", "tencent")


def _receipt_message(backend: str, receipt: Receipt) -> Message | None:
    """The message a receipt is about, locked: by the provider's id, else by our id echoed
    back (a send whose answer was lost has no provider id yet)."""
    found = Q(gateway_id=receipt.gateway_id) if receipt.gateway_id else Q(pk__in=[])
    if receipt.message_id is not None:
        found |= Q(pk=receipt.message_id)
    # Race: the callback and the sweep may bring the same receipt at once; one waits.
    message = (
        Message.objects.select_for_update()
        .filter(found, backend__in=[backend, ""])
        .order_by("pk")
        .first()
    )
    if message and message.gateway_id and receipt.gateway_id != message.gateway_id:
        # Our id echoed back, but the provider's id is another message's (a send by another
        # system on the same account): not ours.
        return None
    return message


def _receipt_apply(message: Message, receipt: Receipt, *, now: dt.datetime) -> str:
    """Record the receipt on the locked message; returns "delivered", "failed" or "" (nothing
    changed)."""
    if message.status not in (Message.Status.SENDING, Message.Status.SENT, Message.Status.FAILED):
        return ""
    if message.status == Message.Status.FAILED and not (receipt.delivered and message.receipt_at):
        # Only a failure receipt gives way, to a delivery reported after it; a duplicate
        # failure, or a send that never reached the provider, stays as it is.
        return ""
    if receipt.pending and message.status != Message.Status.SENDING:
        return ""
    # An interrupted send the provider has after all: accepted when it was claimed.
    message.sent_at = message.sent_at or message.claimed_at or now
    message.gateway_id = message.gateway_id or receipt.gateway_id
    message.segments = receipt.segments or message.segments
    if receipt.pending:
        message.status = Message.Status.SENT
        return "sent"
    reported = min(receipt.reported_at or now, now)
    message.receipt_at, message.error_code = now, receipt.code
    if receipt.delivered:
        message.status, message.delivered_at, message.error = Message.Status.DELIVERED, reported, ""
        return "delivered"
    message.status, message.failed_at = Message.Status.FAILED, reported
    message.error = f"not delivered: {receipt.code}"
    return "failed"


def message_receipt_record(*, backend: str, receipt: Receipt, now: dt.datetime) -> Message | None:
    """Record one provider receipt (idempotent). An id nobody sent is logged and ignored: a
    provider pushes every receipt of its account, and a test send from its console has no
    message here. What the delivery means to the message's subject (a change applied,
    DB1403/T 6.2.2) follows from ``message_delivered`` / ``message_undelivered``."""
    with transaction.atomic():
        message = _receipt_message(backend, receipt)
        if message is None:
            logger.warning("SMS receipt for an unknown message: %s %s", backend, receipt)
            return None
        outcome = _receipt_apply(message, receipt, now=now)
        if outcome:
            message.backend = backend
            message.save()
    signal = {"delivered": message_delivered, "failed": message_undelivered}.get(outcome)
    if signal is not None:
        for model, record in records_listened(message, signal):
            signal.send(sender=model, message=message, record=record)
    return message


def _matching(receipts: list[Receipt], message: Message) -> Receipt | None:
    for receipt in receipts:
        if receipt.message_id == message.pk or (
            message.gateway_id and receipt.gateway_id == message.gateway_id
        ):
            return receipt
    return None


def _interrupted_reconcile(message: Message, *, now: dt.datetime) -> None:
    """A message left in "sending" (the worker died between the provider's answer and saving
    it): ask whether the backend has it. Found: it was sent (and maybe delivered). Not found:
    it never got there, so it is queued again. A backend that cannot be asked (console, file,
    http) leaves it failed, saying so."""
    backend = get_backend(message.backend or None)
    if hasattr(backend, "receipts_query"):
        # Provider errors propagate to the caller, which leaves the message for the next run.
        found = _matching(
            backend.receipts_query(phone=message.phone.as_e164, sent_at=message.claimed_at),
            message,
        )
    elif backend.name == "db":
        outbox = OutboxMessage.objects.filter(message=message).first()
        found = outbox and Receipt(
            gateway_id=f"outbox-{outbox.pk}",
            delivered=False,
            code="",
            reported_at=None,
            message_id=message.pk,
            pending=True,
        )
    else:
        Message.objects.filter(pk=message.pk, status=Message.Status.SENDING).update(
            status=Message.Status.FAILED,
            failed_at=now,
            error="interrupted while sending; the gateway cannot be asked whether it has it",
        )
        return
    if found:
        message_receipt_record(backend=backend.name, receipt=found, now=now)
        return
    logger.warning("SMS %s interrupted, not at %s: queued again.", message.pk, backend.name)
    Message.objects.filter(pk=message.pk, status=Message.Status.SENDING).update(
        status=Message.Status.QUEUED, next_attempt_at=now
    )


def messages_reconcile(*, now: dt.datetime) -> int:
    """Reconcile the messages stuck in "sending" for SMS_STUCK_MINUTES; returns how many."""
    stuck = list(
        Message.objects.filter(
            status=Message.Status.SENDING,
            claimed_at__lt=now - dt.timedelta(minutes=settings.SMS_STUCK_MINUTES),
        ).exclude(purpose=Message.Purpose.VERIFICATION)[:100]
    )
    # A verification code is never sent again (its text is stored masked): failed, as before.
    Message.objects.filter(
        status=Message.Status.SENDING,
        purpose=Message.Purpose.VERIFICATION,
        claimed_at__lt=now - dt.timedelta(minutes=settings.SMS_STUCK_MINUTES),
    ).update(status=Message.Status.FAILED, failed_at=now, error="interrupted while sending")
    for message in stuck:
        try:
            _interrupted_reconcile(message, now=now)
        except Exception as error:  # noqa: BLE001 - the provider unreachable: next run
            logger.warning("SMS %s not reconciled yet: %s", message.pk, error)
    return len(stuck)


def messages_receipts_check(*, now: dt.datetime, limit: int = 200) -> int:
    """The receipts sweep: pull what the provider holds (Tencent's PullSmsSendStatus), then ask
    about each message accepted SMS_RECEIPT_QUERY_MINUTES ago or more that still has no receipt
    (up to SMS_RECEIPT_QUERY_HOURS after sending). Returns how many receipts were recorded."""
    backend = get_backend()
    if backend.name not in PROVIDERS:
        return 0
    recorded = 0

    def record(receipt: Receipt) -> None:
        nonlocal recorded
        recorded += (
            message_receipt_record(backend=backend.name, receipt=receipt, now=now) is not None
        )

    if hasattr(backend, "receipts_pull"):
        for receipt in backend.receipts_pull():
            record(receipt)
    waiting = Message.objects.filter(
        status=Message.Status.SENT,
        backend=backend.name,
        sent_at__lte=now - dt.timedelta(minutes=settings.SMS_RECEIPT_QUERY_MINUTES),
        sent_at__gt=now - dt.timedelta(hours=settings.SMS_RECEIPT_QUERY_HOURS),
    ).order_by("sent_at")[:limit]
    for message in waiting:
        try:
            receipts = backend.receipts_query(
                phone=message.phone.as_e164, sent_at=message.sent_at, gateway_id=message.gateway_id
            )
        except Exception as error:  # noqa: BLE001 - the provider unreachable: next run
            logger.warning("SMS receipts not queried: %s", error)
            break
        found = _matching(receipts, message)
        if found is not None and not found.pending:
            record(found)
    return recorded
