"""The dashboard's fast SQL (DB1403/T 6.2.1–6.2.3, 8.2) gives the same figures as a
straightforward computation, on a random-ish data set with times to the microsecond.

The dashboard counts with SQL tuned for a year of bookings: the on-time rules of
``evaluation.figures`` move datetimes with SQLite's own ``datetime()`` rather than Django's
per-row Python function, local days and times use a fixed UTC offset, follow-ups and bad-review
cases are found by their own dates with their booking's or rating's scope in an EXISTS. Here
every figure that depends on those is recounted in Python from the records one by one.
"""

import datetime as dt
import random

import pytest
from django.conf import settings
from django.utils import timezone

from appointments.models import Appointment, NoShowFollowUp
from evaluation.figures import (
    change_told_late,
    follow_up_on_time,
    rating_figures,
    served_on_time,
)
from evaluation.models import BadReviewCase, Rating
from evaluation.reporting.dashboard import dashboard_figures

from .conftest import at
from .test_dashboard import change as make_change

START, END = dt.date(2026, 9, 28), dt.date(2026, 10, 11)
NOW = at(2026, 10, 12, 12, 0)
STATUSES = ["pending", "accepted", "served", "served", "served", "no_show", "cancelled"]


def _micro(rng) -> dt.timedelta:
    """Now and then a fraction of a second, sometimes none (stored without one)."""
    return dt.timedelta(microseconds=rng.choice([0, 0, 1, 999_999, rng.randrange(1_000_000)]))


@pytest.fixture
def random_data(hall, matter, no_rest_window, regular_window, head, desk):
    rng = random.Random(20261001)
    on_time_minutes = dt.timedelta(minutes=settings.SERVED_ON_TIME_MINUTES)
    windows = [no_rest_window, regular_window]
    bookings = []
    for n in range(160):
        day = dt.date(2026, 9, 26) + dt.timedelta(days=rng.randrange(18))
        start = dt.datetime.combine(
            day,
            dt.time(rng.randrange(24), rng.choice([0, 30])),
            tzinfo=timezone.get_default_timezone(),
        ) + rng.choice([dt.timedelta(0), _micro(rng)])
        status = rng.choice(STATUSES)
        arrived = served = None
        if status == "served":
            arrived = rng.choice([None, start - dt.timedelta(minutes=5), start + _micro(rng)])
            base = max(start, arrived or start)
            # Around the limit: exactly on it, a microsecond either side, or well off.
            served = base + on_time_minutes + rng.choice(
                [dt.timedelta(0), dt.timedelta(microseconds=1), -dt.timedelta(microseconds=1),
                 dt.timedelta(minutes=-40), dt.timedelta(minutes=7), _micro(rng)]
            )  # fmt: skip
        bookings.append(
            Appointment.objects.create(
                reference=f"R{n:07d}",
                channel=rng.choice(["online", "onsite", "phone"]),
                status=status,
                matter=matter,
                window=rng.choice(windows),
                start=start,
                end=start + dt.timedelta(minutes=30),
                applicant_name=f"随机{n}",
                phone="+8613800138000",
                created_at=start - dt.timedelta(days=3) + _micro(rng),
                accepted_at=None if status == "pending" else start - dt.timedelta(days=2),
                arrived_at=arrived,
                served_at=served,
                cancelled_at=start - dt.timedelta(days=1) if status == "cancelled" else None,
            )
        )
    for booking in bookings:
        if booking.served_at and rng.random() < 0.7:
            rating = Rating.objects.create(
                appointment=booking,
                hall=booking.window.hall,
                window=booking.window,
                department=matter.departments.first(),
                overall=(level := rng.randrange(1, 6)),
                efficiency=level,
                service_level=level,
                attitude=level,
                source=(source := rng.choice(["sms_link", "qr_code", "my_booking", "paper"])),
                entered_by=desk if source == "paper" else None,
                rated_at=booking.served_at + dt.timedelta(hours=1),
                excluded=rng.random() < 0.1,
            )
            if level <= 2:
                due = booking.start.date() + dt.timedelta(days=rng.randrange(-2, 8))
                rectified = rng.choice([None, at(due.year, due.month, due.day, 23, 59, 59)])
                BadReviewCase.objects.create(
                    rating=rating,
                    opened_at=rating.rated_at,
                    contact_due=due - dt.timedelta(days=4),
                    rectify_due=due,
                    rectified_at=rectified + rng.choice([dt.timedelta(0), dt.timedelta(seconds=1)])
                    if rectified
                    else None,
                    state="rectified" if rectified else "open",
                )
        if booking.status == "no_show":
            due = booking.start + dt.timedelta(minutes=30)
            grace = dt.timedelta(minutes=settings.NO_SHOW_FOLLOW_UP_RECORD_MINUTES)
            recorded = rng.choice(
                [None, due + grace, due + grace + dt.timedelta(microseconds=1), due + _micro(rng)]
            )
            NoShowFollowUp.objects.create(
                appointment=booking,
                slot_start=booking.start,
                due_at=due,
                opened_at=due,
                outcome="unreachable" if recorded else "",
                recorded_at=recorded,
            )
        if booking.status != "cancelled" and rng.random() < 0.2:
            notice = dt.timedelta(hours=settings.CHANGE_NOTICE_MIN_HOURS)
            told = booking.start - notice + rng.choice(
                [dt.timedelta(0), dt.timedelta(microseconds=1), -dt.timedelta(microseconds=1),
                 dt.timedelta(hours=3)]
            )  # fmt: skip
            make_change(booking, booking.start, told, emergency=rng.random() < 0.3, actor=head)
    return bookings


def _in_period(moment) -> bool:
    return START <= timezone.localtime(moment).date() <= END


def test_fast_figures_equal_a_straightforward_count(hall, random_data):
    f = dashboard_figures(hall_id=hall.pk, start=START, end=END, now=NOW)
    on_time = dt.timedelta(minutes=settings.SERVED_ON_TIME_MINUTES)
    period = [b for b in random_data if _in_period(b.start)]
    served = [b for b in period if b.served_at]

    # 6.2.1 served on time, judged in Python to the microsecond.
    expected_on_time = sum(
        1 for b in served if b.served_at <= max(b.start, b.arrived_at or b.start) + on_time
    )
    assert f["served_on_time"]["on_time"] == expected_on_time
    assert f["served_on_time"]["served"] == len(served)
    assert 0 < expected_on_time < len(served)  # the data set has both

    # 8.2 the rating figures, as evaluation.figures.rating_figures counts them.
    expected = rating_figures(Appointment.objects.filter(pk__in=[b.pk for b in served]))
    assert {k: f["ratings"][k] for k in expected} == expected

    # Bookings per local day (the trend) and per status.
    per_day = {}
    for b in period:
        day = timezone.localtime(b.start).date()
        per_day[day] = per_day.get(day, 0) + 1
    assert {row["start"]: row["bookings"] for row in f["trend"] if row["bookings"]} == per_day
    assert f["bookings"]["by_status"]["no_show"] == sum(b.status == "no_show" for b in period)

    # 6.2.3 follow-ups of the period, recorded on time.
    grace = dt.timedelta(minutes=settings.NO_SHOW_FOLLOW_UP_RECORD_MINUTES)
    follow_ups = [u for u in NoShowFollowUp.objects.all() if _in_period(u.slot_start)]
    assert f["no_shows"]["follow_ups"] == len(follow_ups)
    assert f["no_shows"]["follow_ups_on_time"] == sum(
        1 for u in follow_ups if u.recorded_at and u.recorded_at <= u.due_at + grace
    )
    assert f["no_shows"]["follow_ups_open"] == sum(1 for u in follow_ups if not u.outcome)

    # 6.2.2 the 8 h rule.
    from appointments.models import ChangeRequest

    notice = dt.timedelta(hours=settings.CHANGE_NOTICE_MIN_HOURS)
    changes = [c for c in ChangeRequest.objects.all() if _in_period(c.original_start)]
    late = [c for c in changes if c.notified_at > c.original_start - notice]
    assert f["changes"] == {
        "notified": len(changes),
        "late": sum(1 for c in late if not c.is_emergency),
        "emergency": sum(1 for c in late if c.is_emergency),
    }

    # 8.3 bad-review cases due in the period and passed, rectified on or before their date.
    cases = [
        c
        for c in BadReviewCase.objects.all()
        if START <= c.rectify_due <= END and c.rectify_due < NOW.date()
    ]
    assert f["bad_reviews"]["due"] == len(cases)
    assert f["bad_reviews"]["rectified"] == sum(
        1
        for c in cases
        if c.rectified_at and timezone.localtime(c.rectified_at).date() <= c.rectify_due
    )


def test_on_time_rules_agree_with_python_at_the_microsecond(hall, random_data):
    """The same Q objects filter alike in SQL and in a Python recount (the self-evaluation and
    the assessment use them too)."""
    on_time = dt.timedelta(minutes=settings.SERVED_ON_TIME_MINUTES)
    in_sql = set(Appointment.objects.filter(served_on_time()).values_list("pk", flat=True))
    in_python = {
        b.pk
        for b in Appointment.objects.all()
        if b.served_at and b.served_at <= max(b.start, b.arrived_at or b.start) + on_time
    }
    assert in_sql == in_python
    grace = dt.timedelta(minutes=settings.NO_SHOW_FOLLOW_UP_RECORD_MINUTES)
    assert set(NoShowFollowUp.objects.filter(follow_up_on_time()).values_list("pk", flat=True)) == {
        u.pk
        for u in NoShowFollowUp.objects.all()
        if u.recorded_at and u.recorded_at <= u.due_at + grace
    }
    from appointments.models import ChangeRequest

    notice = dt.timedelta(hours=settings.CHANGE_NOTICE_MIN_HOURS)
    assert set(ChangeRequest.objects.filter(change_told_late()).values_list("pk", flat=True)) == {
        c.pk for c in ChangeRequest.objects.all() if c.notified_at > c.original_start - notice
    }
