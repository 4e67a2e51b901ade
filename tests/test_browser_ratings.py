"""好差评 on a phone (headless Chromium, 390×844): the applicant opens the rating link from the
invitation SMS, chooses a level for each of the four items, comments and submits (DB1403/T 8.2;
国办发〔2019〕51号). Screenshots are kept under the test's tmp path for a person to look at."""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment
from appointments.services import appointment_check_in, appointment_register, appointment_serve
from evaluation.models import Rating
from sms.models import Message

from .conftest import START

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"


def assert_accessible(page, name: str) -> None:
    """No serious or critical axe-core violation, where axe-core is installed."""
    if not AXE.exists():
        return
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [v["id"] for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"{name}: {bad}"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_applicant_rates_on_a_phone(
    live_server, browser_page_factory, tmp_path, matter, no_rest_window, desk, window_staff
):
    appointment = appointment_register(
        matter=matter,
        window=no_rest_window,
        start=START,
        applicant_name="张伟",
        phone="13800138000",
        channel="onsite",
        actor=desk,
        now=START - dt.timedelta(days=3),
    )
    appointment_check_in(appointment=appointment, actor=window_staff, now=START)
    appointment_serve(
        appointment=appointment, actor=window_staff, now=START + dt.timedelta(minutes=5)
    )
    # The rating period runs from the service; set it to an hour ago on the real clock, which
    # the browser and the live server share.
    Appointment.objects.filter(pk=appointment.pk).update(
        served_at=timezone.now() - dt.timedelta(hours=1)
    )
    text = Message.objects.get(purpose=Message.Purpose.RATING_INVITATION).text
    path = re.search(r"https?://[^/]+(/rate/\S+?/)", text).group(1)

    page = browser_page_factory(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page.goto(f"{live_server.url}{path}")
    expect(page.locator("h1")).to_be_visible()
    for group in ("overall", "efficiency", "service_level", "attitude"):
        expect(page.locator(f"#group-{group} input[type=radio]")).to_have_count(5)
        expect(page.locator(f"#group-{group} input:checked")).to_have_count(0)
    assert_accessible(page, "rate")
    page.screenshot(path=tmp_path / "rate-1-empty.png", full_page=True)

    # Submitting without a level is refused next to the group; nothing is recorded.
    page.locator("#group-overall label").nth(0).click()
    page.locator("form button[type=submit]").click()
    expect(page.locator("#efficiency-errors")).to_be_visible()
    assert not Rating.objects.exists()
    page.screenshot(path=tmp_path / "rate-2-missing.png", full_page=True)

    for group, index in (("overall", 0), ("efficiency", 1), ("service_level", 0), ("attitude", 2)):
        page.locator(f"#group-{group} label").nth(index).click()
    page.locator("textarea").fill("窗口办事很快，态度也好。")
    page.screenshot(path=tmp_path / "rate-3-filled.png", full_page=True)
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/rate/thanks/$"))
    assert_accessible(page, "thanks")
    page.screenshot(path=tmp_path / "rate-4-thanks.png", full_page=True)

    rating = Rating.objects.get()
    assert (rating.overall, rating.efficiency, rating.service_level, rating.attitude) == (
        5,
        4,
        5,
        3,
    )
    assert rating.source == "sms_link" and rating.comment == "窗口办事很快，态度也好。"

    # The link is used up.
    page.goto(f"{live_server.url}{path}")
    expect(page.locator(".rate-refused")).to_be_visible()
    page.screenshot(path=tmp_path / "rate-5-reused.png", full_page=True)
    print(f"screenshots: {tmp_path}")  # noqa: T201
