"""Every number on the supervisors' dashboard and on the monthly assessment that links to a list
opens a list of exactly the records it counts (DB1403/T 7.4), for every role that sees the page
and with the dashboard's filters.

The numbers and links are read from the rendered page, so a number added later is checked too:
a link whose text is a count must open a list of that many records; a rate shown with its
fraction, "87 % (7/8)", must open the list of its denominator's records.
"""

import datetime as dt
import re
from html import unescape

import pytest
import time_machine
from django.urls import reverse

from duty.models import DutyAssignment, LeaveRequest, Window

from . import test_assessment, test_dashboard
from .conftest import at

# The hand-counted data sets of the dashboard's and the assessment's own tests.
START, END = test_dashboard.START, test_dashboard.END
data = test_dashboard.data
september, s1, s2 = test_assessment.september, test_assessment.s1, test_assessment.s2
_formula = test_assessment._formula

LINK = re.compile(r'<a href="(/admin/[^"#]*)"[^>]*>(.*?)</a>', re.S)
FRACTION = re.compile(r"\((\d+)/(\d+)\)")


def linked_numbers(html: str) -> list[tuple[str, int]]:
    """(url, the number of records the link's text promises) for every linked number."""
    found = []
    for url, text in LINK.findall(html):
        text = re.sub(r"<[^>]+>", "", text).strip()
        if text.isdigit():
            found.append((unescape(url), int(text)))
        elif fraction := FRACTION.search(text):
            found.append((unescape(url), int(fraction.group(2))))
    return found


def listed(client, url: str) -> int:
    """How many records the page at ``url`` lists (a console list, or a page of its own that
    says how many rows it shows)."""
    page = client.get(url)
    assert page.status_code == 200, url
    assert "?e=1" not in page.get("Location", ""), url
    if "cl" in page.context:
        return page.context["cl"].result_count
    return page.context.get("result_count") if "result_count" in page.context else None


def assert_numbers_match_lists(client, html: str, at_least: int) -> None:
    numbers = linked_numbers(html)
    assert len(numbers) >= at_least
    wrong = [(url, n, got) for url, n in numbers if (got := listed(client, url)) != n]
    assert not wrong, "\n".join(f"{n} opens {got}: {url}" for url, n, got in wrong)


# --- the dashboard ------------------------------------------------------------------------------


@pytest.fixture
def mid_period():
    """In the middle of the period: duties and follow-ups still to come, complaints open."""
    with time_machine.travel(at(2026, 10, 9, 12), tick=False):
        yield


@pytest.fixture
def on_leave(data, no_rest_window, head):
    """One duty of the period whose person is on leave: neither due nor a check-in."""
    assignment = DutyAssignment.objects.filter(
        duty__window=no_rest_window,
        duty__start__gte=at(2026, 9, 29),
        duty__start__lt=at(2026, 10, 1),
    ).first()
    leave = LeaveRequest.objects.create(
        staff=assignment.staff,
        start=assignment.duty.start,
        end=assignment.duty.end,
        window=assignment.duty.window,
        reason="病假",
        state="approved",
        requested_at=at(2026, 9, 20, 9),
    )
    DutyAssignment.objects.filter(pk=assignment.pk).update(on_leave=leave, is_receiving=False)
    return assignment


def dashboard(client, user, **params):
    client.force_login(user)
    response = client.get(
        reverse("evaluation_dashboard"),
        {"start": START.isoformat(), "end": END.isoformat(), **params},
    )
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("role", ["supervisor", "administrator"])
def test_every_dashboard_number_opens_a_list_of_as_many_records_7_4(
    client, make_user, hall, data, on_leave, mid_period, role
):
    user = make_user(role, role, hall)
    assert_numbers_match_lists(client, dashboard(client, user), at_least=20)


@pytest.mark.parametrize("scope", ["window", "department", "other department"])
def test_dashboard_numbers_match_their_lists_under_a_filter_7_4(
    client, supervisor, data, on_leave, mid_period, no_rest_window, department, scope
):
    params = {
        "window": {"window": no_rest_window.pk},
        "department": {"department": department.pk},
        "other department": {"department": data["tax"].pk},
    }[scope]
    assert_numbers_match_lists(client, dashboard(client, supervisor, **params), at_least=15)


def test_the_city_supervisors_numbers_of_another_hall_match_their_lists_7_4(
    client, supervisor, data, mid_period, other_hall
):
    """The city hall's supervisors see every hall: another hall's numbers open its lists."""
    html = dashboard(client, supervisor, hall=other_hall.pk)
    assert "郊区" in html
    assert_numbers_match_lists(client, html, at_least=15)


def test_the_city_wide_numbers_match_their_lists_7_4(
    client, supervisor, data, on_leave, mid_period, other_hall, matter
):
    """All halls together: every linked number opens the lists filtered to the same halls."""
    window = Window.objects.create(hall=other_hall, number="B01", name="郊区窗口", is_no_rest=True)
    for day in (2, 3):
        test_dashboard.booking(window, matter, at(2026, 10, day, 10), "online", "no_show")
    html = dashboard(client, supervisor, hall="all")
    assert "全部大厅" in html or "all halls" in html
    assert_numbers_match_lists(client, html, at_least=20)


def test_window_heads_dashboard_numbers_match_their_lists_7_4(
    client, head, data, on_leave, mid_period, no_rest_window
):
    no_rest_window.head = head
    no_rest_window.save(update_fields=["head"])
    assert_numbers_match_lists(client, dashboard(client, head), at_least=10)


def test_unstaffed_periods_open_the_same_periods_of_every_window_5_2(
    client, supervisor, data, mid_period, no_rest_window
):
    """无人值班的时段: the same hall, period and windows as the number, not one window's month."""
    no_rest_window.duties.filter(start__date__gte=dt.date(2026, 10, 8)).delete()
    html = dashboard(client, supervisor)
    [(url, n)] = [(u, n) for u, n in linked_numbers(html) if "/gaps/" in u]
    assert n > 0 and listed(client, url) == n


# --- the assessment -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["supervisor", "head", "s1"])
def test_every_assessment_number_opens_a_list_of_as_many_records_7_4(
    client, september, request, who
):
    user = request.getfixturevalue(who)
    client.force_login(user)
    with time_machine.travel(at(2026, 10, 15, 12), tick=False):
        response = client.get(reverse("admin:evaluation_assessment"), {"month": "2026-09"})
        assert response.status_code == 200
        assert_numbers_match_lists(client, response.content.decode(), at_least=10)


def test_assessment_numbers_of_the_month_still_running_match_their_lists_7_4(
    client, september, supervisor
):
    client.force_login(supervisor)
    with time_machine.travel(at(2026, 9, 20, 12), tick=False):
        response = client.get(reverse("admin:evaluation_assessment"), {"month": "2026-09"})
        assert response.status_code == 200
        assert_numbers_match_lists(client, response.content.decode(), at_least=10)
