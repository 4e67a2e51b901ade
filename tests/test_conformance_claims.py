"""Claims of docs/CONFORMANCE.md that had no test proving exactly them: DB1403/T 6.1.1 (a
booking request is served at once) and 6.2.6 (no fees, said wherever the applicant reads about
the service)."""

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from appointments.citizen import citizen_booking_create
from appointments.models import Status
from appointments.services import appointment_register, one_time_notice_text
from appointments.sweeps import reminder_sweep
from complaints.models import ComplaintCategory
from duty.models import InspectionFinding
from sms.models import Message
from sms.services import verification_code_send
from tests.conftest import START, THREE_DAYS_BEFORE, at

FOOTER = "政务服务中心的各项服务均不收取任何费用。"
FREE = "本服务免费"


# --- 6.1.1: at once ------------------------------------------------------------------------------


def test_desk_registration_is_accepted_and_in_the_register_at_once_6_1_1(
    matter, no_rest_window, desk
):
    """DB1403/T 6.1.1: a booking asked for at the desk is provided at once: accepted, with its
    registration time the moment of asking, and in the register (附录A) from that moment."""
    booking = appointment_register(
        matter=matter,
        window=no_rest_window,
        start=START,
        applicant_name="张伟",
        phone="13800138000",
        channel="phone",
        actor=desk,
        now=THREE_DAYS_BEFORE,
    )
    assert booking.status == Status.ACCEPTED
    assert booking.accepted_at == booking.created_at == THREE_DAYS_BEFORE
    assert booking.received_by == desk
    assert type(booking).objects.in_register().filter(pk=booking.pk).exists()


def test_online_request_takes_its_place_and_is_acknowledged_at_once_6_1_1(
    matter, no_rest_window, sms_inbox
):
    """DB1403/T 6.1.1 with 5.1.3 c: an online request holds its place from the moment it is
    made and the applicant is told at once; the window then reconfirms it."""
    verification_code_send(phone="13700137000", client_address="10.0.0.1", now=THREE_DAYS_BEFORE)
    booking = citizen_booking_create(
        matter=matter,
        window=no_rest_window,
        start=START,
        applicant_name="李娜",
        phone="13700137000",
        code=sms_inbox.last_code("+8613700137000"),
        now=THREE_DAYS_BEFORE,
    )
    assert booking.status == Status.PENDING and booking.created_at == THREE_DAYS_BEFORE
    message = Message.objects.about(booking).get()
    assert message.purpose == Message.Purpose.BOOKING_RECEIVED
    assert message.created_at == THREE_DAYS_BEFORE
    assert FREE in message.text  # 6.2.6


# --- 6.2.6: no fees ------------------------------------------------------------------------------


def test_one_time_notice_says_the_service_is_free_6_2_6(handed_over):
    assert FREE in one_time_notice_text(appointment=handed_over)


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/complaints/",
        "/complaints/track/",
        "/my/",
        "/ratings/",
    ],
)
def test_every_citizen_page_says_the_hall_charges_no_fee_6_2_6(client, hall, matter, url):
    cache.clear()
    with time_machine.travel(at(2026, 9, 10, 10), tick=False):
        page = client.get(url).content.decode()
    assert FOOTER in page


def test_matter_and_booking_pages_say_it_is_free_6_2_6(client, matter, no_rest_window):
    cache.clear()
    with time_machine.travel(at(2026, 9, 10, 10), tick=False):
        page = client.get(reverse("public:matter", args=[matter.pk])).content.decode()
    assert FOOTER in page


def test_reminder_text_says_it_is_free_6_2_6(accepted):
    """The booking-received text says it too (the 6.1.1 test above)."""
    reminder_sweep(now=START - dt.timedelta(hours=18))
    reminder = Message.objects.about(accepted).get(purpose=Message.Purpose.REMINDER)
    assert "免费" in reminder.text


def test_a_fee_can_be_complained_of_and_found_by_an_inspection_6_2_6():
    """Where a fee is charged anyway, it is a complaint category (7.3) and an inspection
    finding (7.2), both counted against the window (7.4, 8.1)."""
    assert ComplaintCategory.FEES == "fees"
    assert InspectionFinding.Kind.FEE == "fee"
