"""The citizen's day page on a phone (headless Chromium, 390×844) on 2026-12-07, when 2027's
holiday arrangement is not published: 2027-01-01 is a provisional holiday served by appointment
(DB1403/T 4), and Saturday 2027-01-09 has no one on duty yet, so the page says by when its
weekend slots open (5.2). axe-core checks both. A city administrator follows the console's
banner to enter 2027's arrangement (4). Screenshots go to tests/artifacts/."""

import datetime as dt

import pytest
import time_machine
from playwright.sync_api import expect

from duty.calendar import day_info

from .conftest import at, roster_standing

# The citizen browser tests' phone (390×844) fixture, made visible here.
from .test_browser_public import assert_accessible, phone_page, shot  # noqa: F401
from .test_rosters import register

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


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_city_administrator_follows_the_banner_and_enters_2027_4(
    live_server, browser_page_factory, make_user, hall, matter, no_rest_window, desk, head
):
    """The banner links the city administrator to the arrangement page, prefilled with 2027's
    statutory days; saving a new make-up Saturday lists the booking on it."""
    make_user("city-admin", "administrator", hall)
    roster_standing(no_rest_window, head, dt.date(2027, 1, 30), dt.date(2027, 1, 30))
    register(matter, no_rest_window, desk, at(2027, 1, 30, 10), now=TODAY)
    page = browser_page_factory(viewport={"width": 1280, "height": 900})
    with time_machine.travel(TODAY, tick=True):
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", "city-admin")
        page.fill("#id_password", "pw")
        page.click("input[type=submit]")
        page.locator("#holiday-years a").first.click()
        expect(page.locator("#id_holidays")).to_contain_text("2027-02-05~2027-02-08 春节")
        page.fill("#id_makeup_days", "2027-01-30 春节")
        shot(page, "console-holiday-arrangement")
        page.click(".submit-row input[type=submit]")
        expect(page.locator("#affected-bookings")).to_contain_text("2027-01-30 10:00")
        shot(page, "console-holiday-arrangement-entered")
