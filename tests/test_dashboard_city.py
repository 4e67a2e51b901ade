"""The city-wide dashboard (DB1403/T 7.1–7.4, 8.1–8.3): a city supervisor's figures of every
hall together equal the figures counted from the records over all of them and, for the figures
that add up, the sum of the halls' own figures — with the per-day summary made, with days gone
stale since, and without it — in a number of queries that does not grow with the halls.
"""

import datetime as dt
import random

import pytest
import time_machine
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, Matter, NoShowFollowUp
from duty.models import Department, Hall, ServicePeriod, Window
from duty.services import hall_calendar_set_defaults
from evaluation.models import DashboardStaleDay, DashboardSummaryState
from evaluation.reporting.city import city_dashboard_figures
from evaluation.reporting.dashboard import dashboard_figures
from evaluation.reporting.summary import summary_refresh

from .conftest import at
from .test_dashboard import rate

START, END = dt.date(2026, 9, 28), dt.date(2026, 10, 11)
NOW = at(2026, 10, 12, 12, 0)
STATUSES = ["pending", "accepted", "served", "served", "served", "no_show", "cancelled"]


def hall_with_bookings(n: int, rng: random.Random, *, city: bool = False) -> Hall:
    """A hall with a no-rest and a regular window and some thirty bookings around the period
    (ratings, no-shows with their follow-ups)."""
    hall = Hall.objects.create(name=f"第{n}政务服务中心", code=f"h{n}", is_city_hall=city)
    hall_calendar_set_defaults(hall=hall)
    department = Department.objects.create(hall=hall, name=f"部门{n}")
    windows = [
        Window.objects.create(hall=hall, number="A01", name=f"无休{n}", is_no_rest=True),
        Window.objects.create(hall=hall, number="A02", name=f"常规{n}", is_no_rest=False),
    ]
    matter = Matter.objects.create(hall=hall, name=f"事项{n}")
    matter.departments.add(department)
    for window in windows:
        window.departments.add(department)
        matter.windows.add(window)
    for i in range(30):
        day = dt.date(2026, 9, 26) + dt.timedelta(days=rng.randrange(18))
        start = dt.datetime.combine(
            day,
            dt.time(rng.randrange(24), rng.choice([0, 30])),
            tzinfo=timezone.get_default_timezone(),
        )
        status = rng.choice(STATUSES)
        served = (
            start + dt.timedelta(minutes=rng.choice([5, 30, 90])) if status == "served" else None
        )
        booking = Appointment.objects.create(
            reference=f"C{n:02d}{i:05d}",
            channel=rng.choice(["online", "onsite", "phone"]),
            status=status,
            matter=matter,
            window=rng.choice(windows),
            start=start,
            end=start + dt.timedelta(minutes=30),
            applicant_name=f"市民{n}-{i}",
            phone="+8613800138000",
            created_at=start - dt.timedelta(days=3, minutes=rng.randrange(600)),
            accepted_at=None if status == "pending" else start - dt.timedelta(days=2),
            served_at=served,
            cancelled_at=start - dt.timedelta(days=1) if status == "cancelled" else None,
        )
        if served and rng.random() < 0.7:
            rate(booking, rng.randrange(1, 6))
        if status == "no_show":
            due = start + dt.timedelta(minutes=30)
            grace = dt.timedelta(minutes=settings.NO_SHOW_FOLLOW_UP_RECORD_MINUTES)
            recorded = rng.choice([None, due + grace, due + grace * 2])
            NoShowFollowUp.objects.create(
                appointment=booking,
                slot_start=start,
                due_at=due,
                opened_at=due,
                outcome="unreachable" if recorded else "",
                recorded_at=recorded,
            )
    return hall


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def make_city(db, holidays_2026):
    def make(count: int) -> list[Hall]:
        rng = random.Random(20261207 + count)
        halls = [hall_with_bookings(n, rng, city=n == 0) for n in range(count)]
        # One hall keeps other regular hours: counted in its own group of halls.
        ServicePeriod.objects.filter(
            hall=halls[-1], kind=ServicePeriod.Kind.REGULAR, start=dt.time(9)
        ).update(start=dt.time(8, 30))
        return halls

    return make


def city(halls, start=START, end=END):
    return city_dashboard_figures(hall_ids=[h.pk for h in halls], start=start, end=end, now=NOW)


def from_records(halls):
    """The city's figures with the summary set aside (rolled back)."""
    with transaction.atomic():
        DashboardSummaryState.objects.all().delete()
        figures = city(halls)
        transaction.set_rollback(True)
    return figures


ADDITIVE = {
    "bookings": ("total", "live"),
    "shares": ("off_hours", "weekend", "holiday"),
    "confirmation": ("count",),
    "no_shows": ("no_shows", "concluded", "follow_ups", "follow_ups_on_time", "follow_ups_open"),
    "changes": ("notified", "late", "emergency"),
    "duty": ("gaps", "holiday_gaps", "assignments_due", "late_check_ins"),
    "complaints": ("received", "open", "overdue"),
    "ratings": ("served", "rated", "good", "bad"),
    "served_on_time": ("on_time", "served"),
    "bad_reviews": ("due", "rectified"),
    "actions": ("open", "overdue"),
}


def additive(figures) -> dict:
    found = {
        f"{group}.{key}": figures[group][key] for group, keys in ADDITIVE.items() for key in keys
    }
    for group in ("by_channel", "by_status"):
        found |= {f"{group}.{k}": v for k, v in figures["bookings"][group].items()}
    found |= {f"trend.{row['start']}": row["bookings"] for row in figures["trend"]}
    return found


def summed(halls) -> dict:
    total = {}
    for hall in halls:
        figures = dashboard_figures(hall_id=hall.pk, start=START, end=END, now=NOW)
        for key, value in additive(figures).items():
            total[key] = total.get(key, 0) + value
    return total


def assert_city_exact(halls):
    figures = city(halls)
    assert figures == from_records(halls)
    assert additive(figures) == summed(halls)
    assert figures["bookings"]["total"] > 0 and figures["no_shows"]["follow_ups"] > 0


def test_city_figures_equal_the_records_and_the_sum_of_the_halls_without_a_summary(
    frozen, make_city
):
    assert_city_exact(make_city(3))


def test_city_figures_equal_the_records_and_the_sum_of_the_halls_from_the_summary(
    frozen, make_city
):
    halls = make_city(3)
    summary_refresh(now=NOW)
    assert DashboardSummaryState.objects.count() == 3
    assert_city_exact(halls)


def test_city_figures_stay_exact_with_days_gone_stale(frozen, make_city):
    halls = make_city(3)
    summary_refresh(now=NOW)
    # A booking of each hall moved to another day, and one served: their days are stale.
    for hall in halls:
        booking = Appointment.objects.filter(
            window__hall=hall, start__date__range=(START, dt.date(2026, 10, 5))
        ).first()
        booking.start += dt.timedelta(days=2)
        booking.end += dt.timedelta(days=2)
        booking.save(update_fields=["start", "end"])
    assert DashboardStaleDay.objects.count() >= 3
    assert_city_exact(halls)
    # One hall's summary counted with other settings: that hall counted from its bookings.
    DashboardSummaryState.objects.filter(hall=halls[1]).update(fingerprint="old")
    assert_city_exact(halls)


def test_a_period_reaching_past_the_summary(frozen, make_city):
    halls = make_city(2)
    summary_refresh(now=NOW)
    figures = city(halls, start=dt.date(2026, 10, 9), end=dt.date(2026, 10, 20))
    with transaction.atomic():
        DashboardSummaryState.objects.all().delete()
        live = city(halls, start=dt.date(2026, 10, 9), end=dt.date(2026, 10, 20))
        transaction.set_rollback(True)
    assert figures == live


def _queries(halls) -> int:
    with CaptureQueriesContext(connection) as captured:
        city(halls)
    return len(captured.captured_queries)


@pytest.mark.parametrize("summarised", [False, True], ids=["records", "summary"])
def test_the_city_view_takes_as_many_queries_for_six_halls_as_for_two(
    frozen, make_city, django_assert_max_num_queries, summarised
):
    halls = make_city(6)
    if summarised:
        summary_refresh(now=NOW)
    two = _queries(halls[:1] + halls[-1:])  # both groups of service periods
    with django_assert_max_num_queries(two):
        city(halls)
    assert two <= 12


# --- the page ------------------------------------------------------------------------------------


def page(client, user, **params):
    client.force_login(user)
    return client.get(
        reverse("evaluation_dashboard"),
        {"start": START.isoformat(), "end": END.isoformat(), **params},
    )


def test_a_city_supervisor_may_see_all_halls_together(
    frozen, client, make_city, make_user, django_assert_max_num_queries
):
    halls = make_city(3)
    supervisor = make_user("city", "supervisor", halls[0])
    response = page(client, supervisor)
    assert '<option value="all">' in response.content.decode()
    with django_assert_max_num_queries(35):
        response = page(client, supervisor, hall="all")
    assert response.status_code == 200
    assert (
        response.context["f"]["bookings"]["total"]
        == Appointment.objects.filter(start__date__range=(START, END)).count()
    )
    html = response.content.decode()
    assert all(h.name in html for h in halls)  # the ranking is of halls


def test_a_hall_supervisor_gets_no_all_halls_choice(frozen, client, make_city, make_user):
    halls = make_city(2)
    supervisor = make_user("local", "supervisor", halls[1])
    assert '<option value="all">' not in page(client, supervisor).content.decode()
    assert page(client, supervisor, hall="all").status_code == 400


def test_all_halls_with_a_department_asks_for_one_hall(frozen, client, make_city, make_user):
    halls = make_city(2)
    supervisor = make_user("city", "supervisor", halls[0])
    department = Department.objects.filter(hall=halls[0]).first()
    response = page(client, supervisor, hall="all", department=department.pk)
    assert response.status_code == 400
    assert response.context["form"].has_error("hall", "all_halls")


@pytest.mark.parametrize(
    "prefix, words", [("", ["全部大厅", "政务服务中心"]), ("/en", ["all halls", "Halls"])]
)
def test_the_city_view_in_chinese_and_english(frozen, client, make_city, make_user, prefix, words):
    halls = make_city(2)
    client.force_login(make_user("city", "supervisor", halls[0]))
    response = client.get(
        f"{prefix}/admin/dashboard/",
        {"start": START.isoformat(), "end": END.isoformat(), "hall": "all"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert all(word in html for word in words), prefix
