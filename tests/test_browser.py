"""The console in a real browser (headless Chromium via Playwright): a desk clerk logs in,
registers an on-site booking (DB1403/T 5.1.3 a) and sees a refused one explained in Chinese.

Screenshots go to tests/artifacts/ for a person to look at.
"""

import datetime as dt
import os
from pathlib import Path

import pytest
from django.db import connections
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from appointments.models import Appointment
from appointments.slots import window_slots

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def browser_page():
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # around it are synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        yield page
        browser.close()
        # Playwright's sync API runs the test in a greenlet with its own context, hence its own
        # database connection: close it, or PostgreSQL cannot drop the test database.
        connections.close_all()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def first_off_hours_slot(window, days_ahead):
    day = timezone.localdate() + dt.timedelta(days=days_ahead)
    slots = window_slots(window=window, start_date=day, end_date=day + dt.timedelta(days=6))
    return next(s.start for s in slots if s.is_off_hours)


def fill_booking(page, matter, window, start, name):
    local = timezone.localtime(start)
    page.select_option("#id_channel", "onsite")
    page.select_option("#id_matter", str(matter.pk))
    page.select_option("#id_window", str(window.pk))
    page.fill("#id_start_0", local.strftime("%Y-%m-%d"))
    page.fill("#id_start_1", local.strftime("%H:%M:%S"))
    page.fill("#id_applicant_name", name)
    page.fill("#id_phone", "138 0013 8000")
    page.fill("#id_content", "设立个体工商户")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_desk_registers_a_booking_in_the_browser(
    live_server, browser_page, desk, matter, no_rest_window, regular_window
):
    page = browser_page
    page.goto(f"{live_server.url}/admin/login/")
    expect(page.locator("#site-name")).to_contain_text("预约+无休服务")
    page.fill("#id_username", "desk")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    expect(page.locator("#content h1")).to_contain_text("服务管理后台")

    # A regular window does not serve the lunch break: the error stands next to the time.
    page.goto(f"{live_server.url}/admin/appointments/appointment/add/")
    lunch = first_off_hours_slot(no_rest_window, days_ahead=3)
    fill_booking(page, matter, regular_window, lunch, "李娜")
    page.click("input[name=_save]")
    error = page.locator(".field-start .errorlist")
    expect(error).to_contain_text("A02")
    expect(error).to_contain_text("不")
    page.screenshot(path=ARTIFACTS / "register-refused.png", full_page=True)
    assert not Appointment.objects.exists()

    # The no-rest window takes it.
    page.select_option("#id_window", str(no_rest_window.pk))
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "register-done.png", full_page=True)
    appointment = Appointment.objects.get()
    assert appointment.received_by == desk
    assert appointment.start == lunch
    expect(page.locator("#result_list")).to_contain_text(appointment.reference)
