"""A text message about a booking that did not reach the applicant — refused by the gateway, or
accepted and then reported undelivered by the provider's receipt — alerts the desk of the
booking's hall once, so that someone phones the applicant instead (DB1403/T 6.1.1: the applicant
is told at once, by phone when the text fails)."""

import datetime as dt

import pytest
from django.utils import timezone

from appointments.sweeps import failed_messages_alert
from sms.models import Alert, Message

from .conftest import THREE_DAYS_BEFORE

pytestmark = pytest.mark.django_db


def registration_text(accepted) -> Message:
    return Message.objects.about(accepted).get(purpose="booking_registered")


def test_a_text_that_failed_alerts_the_desk_once_with_the_number_to_call(accepted, desk):
    message = registration_text(accepted)
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.FAILED, failed_at=THREE_DAYS_BEFORE
    )
    now = THREE_DAYS_BEFORE + dt.timedelta(minutes=5)

    failed_messages_alert(now=now)
    failed_messages_alert(now=now + dt.timedelta(minutes=5))  # the next run adds nothing

    alert = Alert.objects.get(kind=Alert.Kind.SMS_FAILED)
    assert alert.recipient == desk
    assert accepted.reference in alert.text and "未能送达申请人" in alert.text
    assert alert.text.endswith("请致电138 0013 8000。")


def test_a_text_reported_undelivered_alerts_the_desk_like_one_never_sent(accepted, desk):
    """Accepted by the provider, then its receipt said undelivered (status failed with the
    provider's code): the applicant did not get it either."""
    message = registration_text(accepted)
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.FAILED,
        sent_at=THREE_DAYS_BEFORE,
        failed_at=THREE_DAYS_BEFORE + dt.timedelta(minutes=1),
        error_code="MK:0001",
    )
    failed_messages_alert(now=THREE_DAYS_BEFORE + dt.timedelta(minutes=5))
    assert Alert.objects.filter(kind=Alert.Kind.SMS_FAILED, recipient=desk).count() == 1


def test_a_text_delivered_alerts_nobody(accepted, desk):
    message = registration_text(accepted)
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.DELIVERED, delivered_at=timezone.now()
    )
    failed_messages_alert(now=THREE_DAYS_BEFORE + dt.timedelta(minutes=5))
    assert not Alert.objects.filter(kind=Alert.Kind.SMS_FAILED).exists()
