"""A complaint from a phone (headless Chromium, 390×844): the citizen files it with an SMS code
and follows it by tracking number (GB/T 36113 投诉渠道, DB1403/T 7.3). Screenshots go to
tests/artifacts/."""

from pathlib import Path

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from complaints.models import Complaint

ARTIFACTS = Path(__file__).parent / "artifacts"


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"complaint-{name}.png", full_page=True)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_citizen_complains_on_a_phone_then_follows_it(
    live_server, browser_page_factory, sms_inbox, settings, hall, no_rest_window
):
    settings.VERIFICATION_CODE_RESEND_SECONDS = 0
    cache.clear()
    page = browser_page_factory(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
    )
    page.goto(f"{live_server.url}/")
    page.locator("header nav a[href='/complaints/']").click()
    page.locator("#id_category").select_option("attitude")
    page.locator("#id_text").fill("午休时段窗口无人值守，等了四十分钟。")
    page.locator("#id_window").select_option(str(no_rest_window.pk))
    page.locator("#id_complainant_name").fill("李娜")
    page.locator("#id_phone").fill("137 0013 7000")
    page.locator("#id_identity_withheld").check()
    # Nothing wider than the phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "1-form")
    page.locator("form.card button[type=submit]").click()

    page.locator("#id_code").fill(sms_inbox.last_code("+8613700137000"))
    shot(page, "2-code")
    page.locator("form.card button[type=submit]").click()

    complaint = Complaint.objects.get()
    expect(page.locator(".reference")).to_have_text(complaint.tracking_number)
    assert complaint.identity_withheld and complaint.channel == "online"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "3-filed")

    # Later, on another phone: the tracking number and a fresh code.
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/complaints/track/")
    page.locator("#id_tracking_number").fill(complaint.tracking_number.lower())
    page.locator("#id_phone").fill("13700137000")
    page.locator("form.card button[type=submit]").click()
    page.locator("#id_code").fill(sms_inbox.last_code("+8613700137000"))
    page.locator("form.card button[type=submit]").click()
    expect(page.locator(".reference")).to_have_text(complaint.tracking_number)
    expect(page.locator("ol li")).to_have_count(1)
    shot(page, "4-progress")
