"""Reactions to what the booking lifecycle reports (appointments/signals.py)."""

import datetime as dt
import logging

from django.db import transaction
from django.dispatch import receiver

from appointments.models import Appointment
from appointments.signals import appointment_served

from .ratings import rating_invitation_send

logger = logging.getLogger(__name__)


@receiver(appointment_served, dispatch_uid="evaluation.invite_to_rate")
def invite_to_rate(sender, *, appointment: Appointment, now: dt.datetime, **kwargs) -> None:
    """国办发〔2019〕51号, DB1403/T 8.2: when a booking is served, its applicant is invited by SMS
    to rate the service. The message is written in the serving transaction and sent after it
    commits (``sms_send``); a rollback takes it away with the service record."""
    try:
        # A savepoint: an invitation that cannot be written must not undo the service.
        with transaction.atomic():
            rating_invitation_send(appointment=appointment, now=now)
    except Exception:  # noqa: BLE001 - logged; the applicant can still rate at the window
        logger.exception("Rating invitation for %s not queued.", appointment.reference)
