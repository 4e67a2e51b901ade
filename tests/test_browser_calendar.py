"""The citizen's day page on a phone (headless Chromium, 390×844) on 2026-12-07, when 2027's
holiday arrangement is not published: 2027-01-01 is a provisional holiday served by appointment
(DB1403/T 4), and Saturday 2027-01-09 has no one on duty yet, so the page says by when its
weekend slots open (5.2). axe-core checks both; screenshots go to tests/artifacts/."""

import datetime as dt

import pytest
import time_machine
from playwright.sync_api import expect

from duty.calendar import day_info

from .conftest import at, roster_standing

# The citizen browser tests' phone (390×844) fixture, made visible here.
from .test_browser_public import assert_accessible, phone_page, shot  # noqa: F401

pytestmark = pytest.mark.no_standing_roster

TODAY = at(2026, 12, 7, 10)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_citizen_sees_a_provisional_holiday_and_when_weekend_slots_open_4_5_2(
    request, live_server, matter, no_rest_window, head
):
    # Covered for the next fortnight only: later weekends wait for the roster.
    roster_standing(no_rest_window, head, dt.date(2026, 12, 8), dt.date(2026, 12, 21))
    assert day_info(dt.date(2027, 1, 1)).provisional
    page = request.getfixturevalue("phone_page")
    url = f"{live_server.url}/matters/{matter.pk}/"
    with time_machine.travel(TODAY, tick=True):
        page.goto(f"{url}?from=2026-12-30&day=2027-01-01")
        expect(page.locator("#provisional-holiday")).to_contain_text("2027")
        expect(page.locator("#slots h3")).to_contain_text("元旦")
        expect(page.locator("#slots h3")).to_contain_text("暂定")
        expect(page.locator("#slots .slots a").first).to_be_visible()
        assert_accessible(page, "provisional holiday")
        shot(page, "day-provisional-holiday")

        page.goto(f"{url}?from=2027-01-06&day=2027-01-09")
        expect(page.locator("#off-hours-waiting")).to_contain_text("2026-12-26")
        expect(page.locator("#slots .slots a")).to_have_count(0)
        assert_accessible(page, "off-hours waiting")
        shot(page, "day-off-hours-waiting")
