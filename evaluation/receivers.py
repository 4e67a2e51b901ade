"""Reactions to what the booking lifecycle reports."""

import logging

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from appointments.models import AppointmentEvent

from .ratings import rating_invitation_send

logger = logging.getLogger(__name__)


@receiver(post_save, sender=AppointmentEvent, dispatch_uid="evaluation.invite_to_rate")
def invite_to_rate(sender, instance: AppointmentEvent, created: bool, **kwargs) -> None:
    """国办发〔2019〕51号, DB1403/T 8.2: when a booking is served, its applicant is invited by SMS
    to rate the service. The message is written in the serving transaction and sent after it
    commits (``sms_send``); a rollback takes it away with the service record."""
    if not created or instance.action != AppointmentEvent.Action.SERVED:
        return
    try:
        # A savepoint: an invitation that cannot be written must not undo the service.
        with transaction.atomic():
            rating_invitation_send(appointment=instance.appointment, now=instance.at)
    except Exception:  # noqa: BLE001 - logged; the applicant can still rate at the window
        logger.exception("Rating invitation for %s not queued.", instance.appointment.reference)
