"""The console in a real browser (headless Chromium via Playwright): a desk clerk logs in,
registers an on-site booking (DB1403/T 5.1.3 a) and sees a refused one explained in Chinese;
takes a phone booking from the free slots and downloads the register (5.1.3 b, 附录A).

Screenshots go to tests/artifacts/ for a person to look at.
"""

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment
from appointments.slots import window_slots

ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture
def browser_page(browser_page_factory):
    return browser_page_factory(viewport={"width": 1280, "height": 900})


def first_off_hours_slot(window, days_ahead):
    day = timezone.localdate() + dt.timedelta(days=days_ahead)
    slots = window_slots(window=window, start_date=day, end_date=day + dt.timedelta(days=6))
    return next(s.start for s in slots if s.is_off_hours)


def choose_matter(page, matter):
    """The registration screen's matter search: part of the name, then Enter."""
    page.fill("#matter-search", matter.name[:4])
    page.keyboard.press("Enter")
    expect(page.locator("#id_window")).not_to_have_value("")


def fill_booking(page, matter, window, start, name):
    local = timezone.localtime(start)
    page.check("input[name=channel][value=onsite]")
    choose_matter(page, matter)
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


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_desk_registers_a_phone_booking_and_downloads_the_register(
    live_server, browser_page, desk, matter, no_rest_window, regular_window
):
    """DB1403/T 5.1.3 b and 附录A: the desk takes a phone booking from the free slots of the
    matter's windows, then downloads the register with it in it."""
    page = browser_page
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "desk")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    expect(page.locator("#desk-summary")).to_contain_text("预约电话")
    page.screenshot(path=ARTIFACTS / "desk-front-page.png", full_page=True)

    # Matter → its windows with their free slots → one slot fills window and time.
    page.click("text=登记现场或电话预约")
    choose_matter(page, matter)
    expect(page.locator("#id_window")).to_contain_text(no_rest_window.number)
    start = first_off_hours_slot(no_rest_window, days_ahead=3)
    page.click(f'label.slot:has(input[value="{no_rest_window.pk}|{local_iso(start)}"])')
    expect(page.locator("#id_window")).to_have_value(str(no_rest_window.pk))
    expect(page.locator("#id_start_1")).to_have_value(timezone.localtime(start).strftime("%H:%M"))
    page.check("input[name=channel][value=phone]")
    page.fill("#id_applicant_name", "𠮷田")
    page.fill("#id_phone", "+86 139 0013 9000")
    page.fill("#id_content", "=设立个体工商户")
    page.screenshot(path=ARTIFACTS / "register-phone-booking.png", full_page=True)
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_be_visible()
    appointment = Appointment.objects.get()
    assert appointment.channel == "phone" and appointment.start == start

    # The register for the coming week, downloaded at once.
    page.goto(f"{live_server.url}/admin/appointments/appointment/register/")
    today = timezone.localdate()
    page.fill("#id_date_from", today.isoformat())
    page.fill("#id_date_to", (today + dt.timedelta(days=10)).isoformat())
    page.screenshot(path=ARTIFACTS / "register-export-form.png", full_page=True)
    with page.expect_download() as download_info:
        page.click("#register-form input[type=submit]")
    path = ARTIFACTS / "register.xlsx"
    download_info.value.save_as(path)
    assert download_info.value.suggested_filename.endswith(".xlsx")
    ws = openpyxl.load_workbook(path).active
    assert ws["A1"].value == "预约服务登记表"
    assert [c.value for c in ws[5]][2:4] == ["𠮷田", "139 0013 9000"]
    assert ws["F5"].data_type == "s" and ws["F5"].value.startswith("个体工商户设立登记")
    assert ws["G5"].value == "desk"  # the fixture's desk is named after its login


def local_iso(moment) -> str:
    return timezone.localtime(moment).isoformat()
