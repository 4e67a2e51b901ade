"""The desk in a real browser at a staff screen's size (headless Chromium, 1366×768).

DB1403/T 5.1.3 b: a phone booking registered by keyboard alone, the caller's name and number
typed before the slot is picked, on one screen with Save in view; and without JavaScript.
DB1403/T 6.2.1: the applicant checked in from the QR code on their phone (a USB scanner types
the reference and Enter). axe-core checks the front page, the registration and the check-in.

Screenshots go to tests/artifacts/ for a person to look at.
"""

import datetime as dt

import pytest
from playwright.sync_api import expect

from appointments.models import Appointment, Status, booking_qr_text, reference_from_scan
from appointments.services import appointment_register
from tests.conftest import browser_requires
from tests.test_browser import first_off_hours_slot, local_iso
from tests.test_browser_public import ARTIFACTS, AXE, assert_accessible

STAFF_SCREEN = {"width": 1366, "height": 768}


@pytest.fixture
def desk_page(browser_page_factory):
    browser_requires(AXE, "axe-core (npm)")
    return browser_page_factory(viewport=STAFF_SCREEN)


def log_in(page, live_server, username="desk"):
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    expect(page.locator("#content h1")).to_be_visible()


def in_viewport(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= STAFF_SCREEN["height"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_desk_takes_a_phone_booking_by_keyboard_on_one_screen(
    live_server, desk_page, desk, matter, no_rest_window, regular_window
):
    """DB1403/T 5.1.3 b: from the call's first words to Save by keyboard: name and number
    first, then the matter by typing part of its name, then a slot with the arrow keys; what
    was typed stays when the matter's slots come in; the screen fits 1366×768 with Save."""
    page = desk_page
    log_in(page, live_server)
    expect(page.locator("#phone-line")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "desk-front-page.png", full_page=True)
    assert_accessible(page, "desk front page")

    page.click("#register-phone-booking")
    # The screen opens in the name field, with the phone channel chosen by the link.
    expect(page.locator("#id_applicant_name")).to_be_focused()
    expect(page.locator("input[name=channel][value=phone]")).to_be_checked()
    keyboard = page.keyboard
    keyboard.type("李娜")
    keyboard.press("Tab")
    keyboard.type("139 0013 9000")
    keyboard.press("Tab")
    expect(page.locator("#matter-search")).to_be_focused()
    keyboard.type("个体")
    expect(page.locator("#matter-options [role=option]")).to_have_count(1)
    keyboard.press("Enter")  # chooses the matter; does not submit
    expect(page.locator(".slot-window:not([hidden]) label.slot").first).to_be_visible()
    # Nothing typed was lost while the matter's windows and slots came in.
    expect(page.locator("#id_applicant_name")).to_have_value("李娜")
    expect(page.locator("#id_phone")).to_have_value("139 0013 9000")
    expect(page.locator("input[name=channel][value=phone]")).to_be_checked()
    # The window list holds the windows serving the matter, first chosen.
    window_options = page.locator("#id_window option")
    expect(window_options).to_have_count(2)
    expect(page.locator("#id_window")).to_have_value(str(no_rest_window.pk))

    keyboard.press("Tab")
    expect(page.locator("#id_window")).to_be_focused()
    keyboard.press("Tab")  # into the slots: the first free one
    keyboard.press("Space")
    keyboard.press("ArrowRight")  # the next time
    for _day in range(3):  # the same place on a day far enough ahead not to need a reason
        keyboard.press("ArrowDown")
    chosen = page.locator("input[name=slot]:checked")
    expect(chosen).to_have_count(1)
    expect(chosen).to_be_focused()
    window_id, _bar, start = chosen.get_attribute("value").partition("|")
    start = dt.datetime.fromisoformat(start)
    expect(page.locator("#id_start_0")).to_have_value(start.strftime("%Y-%m-%d"))
    expect(page.locator("#id_start_1")).to_have_value(start.strftime("%H:%M"))
    for _field in ("start date", "start time", "content"):
        keyboard.press("Tab")
    expect(page.locator("#id_content")).to_be_focused()
    keyboard.type("设立个体工商户")

    # One screen: the whole form and its Save button are in view without scrolling (the
    # console's side menu may run longer).
    assert page.evaluate("window.scrollY") == 0
    assert in_viewport(page, "#appointment_form")
    assert in_viewport(page, "input[name=_save]")
    page.screenshot(path=ARTIFACTS / "desk-registration.png")
    assert_accessible(page, "registration screen")

    keyboard.press("Enter")  # the form's first button is Save
    expect(page.locator(".messagelist .success")).to_be_visible()
    booking = Appointment.objects.get()
    assert (booking.applicant_name, booking.phone.as_e164) == ("李娜", "+8613900139000")
    assert booking.channel == "phone" and booking.content == "设立个体工商户"
    assert (booking.window_id, booking.start) == (int(window_id), start)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_registration_works_without_javascript(
    live_server, browser_page_factory, desk, matter, no_rest_window, regular_window
):
    """Progressive enhancement: without JavaScript "Show free slots" brings the screen back
    with everything typed, and the picked slot books."""
    page = browser_page_factory(viewport=STAFF_SCREEN, java_script_enabled=False)
    log_in(page, live_server)
    page.goto(f"{live_server.url}/admin/appointments/appointment/add/")
    page.check("input[name=channel][value=phone]")
    page.fill("#id_applicant_name", "王芳")
    page.fill("#id_phone", "139 0013 9001")
    page.select_option("#id_matter", str(matter.pk))
    page.click("#show-slots")
    expect(page.locator("#id_applicant_name")).to_have_value("王芳")
    expect(page.locator("#id_phone")).to_have_value("139 0013 9001")
    expect(page.locator("input[name=channel][value=phone]")).to_be_checked()
    assert not Appointment.objects.exists()
    start = first_off_hours_slot(no_rest_window, days_ahead=3)
    slot = page.locator(f'input[name=slot][value="{no_rest_window.pk}|{local_iso(start)}"]')
    slot.check()
    page.click("input[name=_save]")
    print("ERRORS", page.locator("#content-main").inner_text()[:1500])
    expect(page.locator(".messagelist .success")).to_be_visible()
    booking = Appointment.objects.get()
    assert booking.channel == "phone" and booking.window == no_rest_window
    assert booking.start == start


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_desk_checks_the_applicant_in_from_the_qr_code(
    live_server, desk_page, desk, matter, no_rest_window
):
    """DB1403/T 6.2.1: the scanner types what the citizen's QR code holds, and Enter; the
    booking shows with its check-in button ready; Enter again checks the applicant in."""
    start = first_off_hours_slot(no_rest_window, days_ahead=0)
    booking = appointment_register(
        matter=matter,
        window=no_rest_window,
        start=start,
        applicant_name="赵磊",
        phone="13700137000",
        channel="phone",
        actor=desk,
        now=start - dt.timedelta(days=3),
    )
    page = desk_page
    log_in(page, live_server)
    page.focus("#check-in-reference")
    scanned = booking_qr_text(booking.reference)
    assert reference_from_scan(scanned) == booking.reference
    page.keyboard.type(scanned.lower())  # a scanner in lower-case mode is read as well
    page.keyboard.press("Enter")
    expect(page.locator("#scanned-booking")).to_contain_text("赵磊")
    expect(page.locator(".check-in-button")).to_be_focused()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "desk-check-in.png")
    assert_accessible(page, "check-in")
    page.keyboard.press("Enter")
    expect(page.locator(".messagelist .success")).to_contain_text(booking.reference)
    expect(page.locator("#scan-reference")).to_be_focused()  # ready for the next applicant
    booking.refresh_from_db()
    assert booking.status == Status.ARRIVED and booking.arrived_at is not None
