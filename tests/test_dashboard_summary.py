"""The dashboard's per-day summary (evaluation.reporting.summary) never changes a figure: made
from the records it gives the figures counted from the records, and after any change to the
records, settings or service periods the dashboard shows the new figures at once (the changed
day counted from the records) and again after the sweep has made the summary anew.

Time is frozen at NOW (the receivers mark days before the clock's today): the summary then holds
days up to 2026-10-10 and the dashboard counts 10-11 from the bookings.
"""

import ast
import datetime as dt
from pathlib import Path

import pytest
import time_machine
from django.db import transaction

from appointments.models import Appointment, ChangeRequest, NoShowFollowUp, Status
from complaints.models import Complaint
from duty.models import DutyAssignment, ServicePeriod
from evaluation.models import (
    SUMMARY_COUNTS,
    DashboardDay,
    DashboardStaleDay,
    DashboardSummaryState,
    Rating,
)
from evaluation.reporting.dashboard import dashboard_figures
from evaluation.reporting.day_counts import booking_aggregates
from evaluation.reporting.summary import summary_check, summary_refresh
from evaluation.summary_marks import bookings_mark_stale
from evaluation.sweeps import dashboard_summary_sweep

from .conftest import at
from .test_dashboard import booking, rate
from .test_dashboard_equivalence import random_data  # noqa: F401 - a fixture

START, END = dt.date(2026, 9, 28), dt.date(2026, 10, 11)
NOW = at(2026, 10, 12, 12, 0)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def counted_from_records(hall, **scope):
    """The figures with the summary set aside (rolled back): every day counted from the
    bookings."""
    with transaction.atomic():
        DashboardSummaryState.objects.all().delete()
        figures = dashboard_figures(hall_id=hall.pk, start=START, end=END, now=NOW, **scope)
        transaction.set_rollback(True)
    return figures


def figures(hall, **scope):
    return dashboard_figures(hall_id=hall.pk, start=START, end=END, now=NOW, **scope)


def scopes(hall, windows, department):
    return [{}, {"department_id": department.pk}, *({"window_id": w.pk} for w in windows)]


def differing(a: dict, b: dict) -> dict:
    """The top-level figures that differ (to read a failure)."""
    return {k: (a.get(k), b.get(k)) for k in a.keys() | b.keys() if a.get(k) != b.get(k)}


def assert_exact(hall, windows, department):
    for scope in scopes(hall, windows, department):
        assert differing(figures(hall, **scope), counted_from_records(hall, **scope)) == {}, scope


def test_summary_columns_are_the_dashboards_counts():
    names = set(booking_aggregates(regular=[], holidays=[]))
    assert names == set(SUMMARY_COUNTS)


def test_figures_from_the_summary_equal_the_figures_from_the_records(
    frozen,
    hall,
    department,
    no_rest_window,
    regular_window,
    random_data,  # noqa: F811
):
    windows = [no_rest_window, regular_window]
    before = {str(s): counted_from_records(hall, **s) for s in scopes(hall, windows, department)}
    summary_refresh(now=NOW)
    assert DashboardDay.objects.filter(day__lte=dt.date(2026, 10, 10)).exists()
    assert not DashboardDay.objects.filter(day__gt=dt.date(2026, 10, 10)).exists()
    assert not DashboardStaleDay.objects.exists()
    assert summary_check(now=NOW) == []
    for scope in scopes(hall, windows, department):
        assert figures(hall, **scope) == before[str(scope)], scope
    # It is the summary that answers: a bulk write that marks nothing is not seen (which is why
    # every bulk writer must mark its days, see test_every_bulk_writer_of_counted_fields_…).
    Appointment.objects.filter(start__date__lt=dt.date(2026, 10, 10)).update(channel="phone")
    assert figures(hall) == before["{}"]
    assert summary_check(now=NOW) != []


def test_a_period_beyond_the_summary_and_one_without_it(
    frozen,
    hall,
    department,
    no_rest_window,
    regular_window,
    random_data,  # noqa: F811
):
    summary_refresh(now=NOW)
    for start, end in [(dt.date(2026, 10, 9), dt.date(2026, 10, 20)), (START, START)]:
        with_summary = dashboard_figures(hall_id=hall.pk, start=start, end=end, now=NOW)
        with transaction.atomic():
            DashboardSummaryState.objects.all().delete()
            live = dashboard_figures(hall_id=hall.pk, start=start, end=end, now=NOW)
            transaction.set_rollback(True)
        assert with_summary == live


def _status_change(bookings, **_):
    b = next(
        b
        for b in bookings
        if b.status == "served"
        and START <= b.start.date() <= dt.date(2026, 10, 10)
        and not Rating.objects.filter(appointment=b).exists()
    )
    b.status, b.served_at = Status.NO_SHOW, None
    b.save(update_fields=["status", "served_at"])


def _rating_excluded_by_appeal(bookings, **_):
    rating = (
        Rating.objects.filter(excluded=False, appointment__start__date__range=(START, END))
        .order_by("pk")
        .first()
    )
    rating.excluded, rating.excluded_reason = True, "申诉复核"
    rating.save(update_fields=["excluded", "excluded_reason"])


def _late_rating(bookings, desk, **_):
    b = next(
        b
        for b in bookings
        if b.served_at
        and START <= b.start.date() <= END
        and not Rating.objects.filter(appointment=b).exists()
    )
    rate(b, 5)


def _booking_moved(bookings, **_):
    b = next(b for b in bookings if START <= b.start.date() < dt.date(2026, 10, 1))
    b.start += dt.timedelta(days=5, hours=3)
    b.end += dt.timedelta(days=5, hours=3)
    b.save(update_fields=["start", "end"])


def _missed_booking_moved_to_another_window(bookings, no_rest_window, **_):
    """Its follow-up is counted at the booking's window: both windows' days are stale."""
    follow_up = NoShowFollowUp.objects.filter(
        slot_start__date__range=(START, dt.date(2026, 10, 9)),
        appointment__window=no_rest_window,
    ).first()
    b = follow_up.appointment
    b.window = next(w for w in {x.window for x in bookings} if w.pk != no_rest_window.pk)
    b.start += dt.timedelta(days=1)
    b.end += dt.timedelta(days=1)
    b.save(update_fields=["window", "start", "end"])


def _booking_added_and_deleted(bookings, matter, no_rest_window, **_):
    booking(no_rest_window, matter, at(2026, 10, 3, 10), "online", "served",
            served=at(2026, 10, 3, 10, 20))  # fmt: skip
    next(b for b in bookings if not Rating.objects.filter(appointment=b).exists()
         and not NoShowFollowUp.objects.filter(appointment=b).exists()
         and not ChangeRequest.objects.filter(appointment=b).exists()).delete()  # fmt: skip


def _follow_up_recorded_late(bookings, **_):
    follow_up = NoShowFollowUp.objects.filter(
        recorded_at__isnull=True, slot_start__date__range=(START, END)
    ).first()
    follow_up.outcome, follow_up.recorded_at = "unreachable", NOW
    follow_up.save()


def _change_request(bookings, head, **_):
    from .test_dashboard import change as make_change

    b = next(b for b in bookings if b.status == "accepted" and START <= b.start.date() <= END)
    make_change(b, b.start, b.start - dt.timedelta(hours=2), emergency=False, actor=head)


def _duty_and_complaint(bookings, hall, no_rest_window, **_):
    DutyAssignment.objects.filter(duty__window=no_rest_window).update(is_late=True)
    Complaint.objects.filter(hall=hall).update(received_at=NOW)


def _bulk_writer_that_marks(bookings, **_):
    changed = Appointment.objects.filter(status="accepted", start__date__lt=dt.date(2026, 10, 5))
    bookings_mark_stale(changed)
    changed.update(status=Status.NO_SHOW)


def _settings_change(bookings, settings, **_):
    settings.SERVED_ON_TIME_MINUTES = 20


def _regular_hours_change(bookings, hall, **_):
    period = ServicePeriod.objects.filter(hall=hall, kind="regular").order_by("start").first()
    period.end = dt.time(11, 0)
    period.save()


@pytest.mark.parametrize(
    "change",
    [
        _status_change,
        _rating_excluded_by_appeal,
        _late_rating,
        _booking_moved,
        _missed_booking_moved_to_another_window,
        _booking_added_and_deleted,
        _follow_up_recorded_late,
        _change_request,
        _duty_and_complaint,
        _bulk_writer_that_marks,
        _settings_change,
        _regular_hours_change,
    ],
)
def test_each_kind_of_change_shows_at_once_and_after_the_sweep(
    frozen, change, settings, hall, department, matter, no_rest_window, regular_window, head,
    desk, random_data,  # noqa: F811
):  # fmt: skip
    windows = [no_rest_window, regular_window]
    summary_refresh(now=NOW)
    before = figures(hall)
    change(
        bookings=random_data, settings=settings, hall=hall, matter=matter,
        no_rest_window=no_rest_window, head=head, desk=desk,
    )  # fmt: skip
    assert figures(hall) != before  # the change is one the dashboard shows
    assert_exact(hall, windows, department)  # at once: the changed day counted from the records
    dashboard_summary_sweep(now=NOW)
    assert not DashboardStaleDay.objects.exists()
    assert summary_check(now=NOW) == []
    assert_exact(hall, windows, department)  # and from the summary made again


def test_a_mark_written_while_the_sweep_counts_survives_it(
    frozen,
    monkeypatch,
    hall,
    no_rest_window,
    random_data,  # noqa: F811
):
    from evaluation.reporting import summary

    summary_refresh(now=NOW)
    b = next(b for b in random_data if b.window_id == no_rest_window.pk and b.status == "served")
    b.status = Status.NO_SHOW
    b.save(update_fields=["status"])
    seen = set(DashboardStaleDay.objects.values_list("pk", flat=True))
    assert seen
    counting = summary._update

    def concurrent_write(*args, **kwargs):
        # A writer's mark after the sweep read the marks (its change maybe not counted).
        DashboardStaleDay.objects.create(window_id=b.window_id, day=b.start.date())
        return counting(*args, **kwargs)

    monkeypatch.setattr(summary, "_update", concurrent_write)
    summary_refresh(now=NOW)
    left = set(DashboardStaleDay.objects.values_list("pk", flat=True))
    assert not left & seen  # the marks it read and counted are gone
    assert len(left) == 1  # the later one stays: that day is counted live until the next run


def test_query_count_with_the_summary(
    frozen,
    client,
    supervisor,
    hall,
    random_data,  # noqa: F811
    django_assert_max_num_queries,
):
    summary_refresh(now=NOW)
    client.force_login(supervisor)
    params = {"start": START.isoformat(), "end": END.isoformat()}
    with django_assert_max_num_queries(22):
        assert client.get("/admin/dashboard/", params).status_code == 200
    b = random_data[0]
    b.status = Status.CANCELLED
    b.save(update_fields=["status"])  # a stale day: counted live beside the summary
    with django_assert_max_num_queries(22):
        assert client.get("/admin/dashboard/", params).status_code == 200


# --- every bulk writer of a counted field marks its days ------------------------------------------

# Fields of bookings and ratings the summary counts: a bulk write of one of them sends no
# signal, so its call site must mark the days stale (evaluation.summary_marks.day_mark_stale).
COUNTED = {
    *("window", "window_id", "start", "status", "channel", "matter", "matter_id"),
    *("created_at", "accepted_at", "arrived_at", "served_at"),
    *("excluded", "overall", "source", "appointment", "appointment_id"),
    *("slot_start", "due_at", "recorded_at", "outcome"),  # no-show follow-ups
}
# Bulk writes that look like it but are not of bookings or ratings, or do not change a figure.
NOT_COUNTED = {
    ("appointments/services/_placing.py", "update"): (
        "the fields of a move (saved by _update: post_save marks the days) and a parallel "
        "booking's part (not a booking)"
    ),
    ("sms/receipts.py", "update"): "text messages",
    ("sms/services.py", "update"): "text messages",
    ("yuyue/retention.py", "update"): "personal data only (contact logs' texts and outcomes)",
}
SEEDERS = ("evaluation/management/commands/seed_demo.py", "evaluation/management/commands/")
ROOT = Path(__file__).resolve().parent.parent


def _bulk_writes():
    """(path, method, line) of every .update / .bulk_update / .bulk_create call in the apps
    whose arguments or receiver name a counted field or a booking or rating."""
    for app in ("appointments", "complaints", "duty", "evaluation", "sms", "yuyue"):
        for path in (ROOT / app).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative or relative.startswith(SEEDERS):
                continue
            source = path.read_text()
            for node in ast.walk(ast.parse(source)):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                    continue
                method = node.func.attr
                if method not in ("update", "bulk_update", "bulk_create"):
                    continue
                receiver = ast.get_source_segment(source, node.func.value) or ""
                models = any(
                    m in receiver for m in ("Appointment", "Rating", "appointment", "FollowUp")
                )
                if method == "update":
                    words = {k.arg for k in node.keywords}
                    splat = None in words  # .update(**fields): judged by the receiver
                    if not (words & COUNTED or (splat and models)):
                        continue
                elif method == "bulk_update":
                    fields = {n.value for a in node.args for n in ast.walk(a)
                              if isinstance(n, ast.Constant)}  # fmt: skip
                    if not (fields & COUNTED or (models and not fields)):
                        continue
                elif not models:  # bulk_create
                    continue
                yield relative, method, node.lineno, source


def test_every_bulk_writer_of_counted_fields_marks_its_days():
    unmarked = []
    for relative, method, line, source in _bulk_writes():
        if (relative, method) in NOT_COUNTED:
            continue
        if "mark_stale(" in source:
            continue  # the module marks the days of what it writes
        unmarked.append(f"{relative}:{line} .{method}()")
    listed = {(relative, method) for relative, method, _line, _source in _bulk_writes()}
    assert set(NOT_COUNTED) <= listed, "an entry of NOT_COUNTED is gone: remove it"
    assert unmarked == [], (
        "A bulk write of a booking's or rating's counted field sends no signal: mark its days "
        "with evaluation.summary_marks.day_mark_stale / bookings_mark_stale in the same "
        "transaction, or list it in NOT_COUNTED with the reason."
    )
