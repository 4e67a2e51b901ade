"""``manage.py seed_demo`` writes a year of history the figures can be trusted on (DB1403/T 7.4,
8.2): every record consistent with the rules the services enforce."""

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db.models import F

from appointments.models import Appointment, Status
from evaluation.models import BadReviewCase, Rating

from .conftest import at

NOW = at(2026, 11, 27, 20)


@pytest.fixture
def seeded(db):
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", bookings=1500, seed=7, days=120)


def test_ratings_only_of_served_bookings_once_each_db1403_8_2(seeded):
    assert Appointment.objects.count() >= 1500
    assert Rating.objects.exists()
    assert not Rating.objects.exclude(appointment__status=Status.SERVED).exists()
    assert not Rating.objects.filter(rated_at__lt=F("appointment__served_at")).exists()
    # Voluntary: some served bookings stay unrated.
    assert Appointment.objects.filter(status=Status.SERVED, rating__isnull=True).exists()


def test_bad_review_cases_are_coherent_db1403_8_2(seeded):
    cases = BadReviewCase.objects.select_related("rating")
    assert cases.exists()
    for case in cases:
        assert case.rating.overall <= 2
        assert case.opened_at == case.rating.rated_at
        assert case.contact_due <= case.rectify_due
        for moment in (case.contacted_at, case.rectified_at, case.replied_at):
            assert moment is None or case.opened_at <= moment <= NOW
        if case.state == BadReviewCase.State.OPEN:
            assert case.contacted_at is None and case.rectified_at is None
        if case.rectified_at is not None:
            assert case.contacted_at is not None and case.contacted_at <= case.rectified_at
            assert case.state == BadReviewCase.State.CLOSED


def test_a_demo_booking_whose_reference_starts_with_sd_is_not_taken_for_seeded_data(db):
    """load_demo's references are random: one may begin with "SD" like the seeded ones."""
    with time_machine.travel(NOW, tick=False):
        call_command("load_demo")
        Appointment.objects.filter(pk=Appointment.objects.first().pk).update(reference="SDAB2345")
        call_command("seed_demo", bookings=50, seed=7, days=30)
    assert Appointment.objects.filter(reference__startswith="SD").count() >= 51


def test_a_second_run_on_the_same_hall_is_refused(seeded):
    with time_machine.travel(NOW, tick=False), pytest.raises(CommandError):
        call_command("seed_demo", bookings=10, seed=7, days=30)


def test_bad_arguments_are_refused(db):
    with pytest.raises(CommandError):
        call_command("seed_demo", bookings=0)
    with pytest.raises(CommandError):
        call_command("seed_demo", bookings=10, hall="no-such-hall")
