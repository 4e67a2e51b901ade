"""The citizen site on a phone (headless Chromium, 390×844): book from the home page to the
confirmation, reading the SMS code from the file backend, then find the booking under
"My booking" and cancel it (DB1403/T 5.1.1, 5.1.3 c). axe-core checks every page.

Screenshots go to tests/artifacts/ for a person to look at.
"""

import contextlib
import datetime as dt
import json
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment, Status
from appointments.slots import window_availability
from duty.services import holiday_year_import
from tests.conftest import browser_requires

ARTIFACTS = Path(__file__).parent / "artifacts"
AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def phone_page(browser_page_factory):
    browser_requires(AXE, "axe-core (npm)")
    return browser_page_factory(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )


def assert_accessible(page, name: str) -> None:
    """No serious or critical axe-core violation on the page."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{name}: {json.dumps(bad, ensure_ascii=False)}"


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"citizen-{name}.png", full_page=True)


def first_bookable(window) -> dt.datetime:
    now = timezone.now()
    today = timezone.localdate(now)
    slots = window_availability(
        window=window,
        start_date=today,
        end_date=today + dt.timedelta(days=14),
        not_before=now + dt.timedelta(hours=25),
    )
    return next(a.slot.start for a in slots if a.remaining)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_citizen_books_on_a_phone_then_finds_and_cancels(
    live_server, phone_page, sms_inbox, settings, matter, no_rest_window
):
    settings.VERIFICATION_CODE_RESEND_SECONDS = 0
    # Rate-limit counters live in the cache table, which a transactional test's flush keeps.
    cache.clear()
    for year in {timezone.localdate().year, timezone.localdate().year + 1}:
        # A year the holiday library does not know yet falls back to weekends.
        with contextlib.suppress(Exception):
            holiday_year_import(year=year)
    page = phone_page
    start = first_bookable(no_rest_window)

    page.goto(f"{live_server.url}/")
    expect(page.locator("h1")).to_contain_text("网上预约")
    assert_accessible(page, "home")
    shot(page, "1-home")

    page.get_by_role("link", name=matter.name).click()
    expect(page.locator("h1")).to_have_text(matter.name)
    assert_accessible(page, "matter")
    shot(page, "2-matter")

    day = timezone.localtime(start).date()
    page.goto(f"{page.url}?from={day:%Y-%m-%d}&day={day:%Y-%m-%d}")
    page.locator(
        f'.slots a[href*="window={no_rest_window.pk}&start={quote(start.isoformat())}"]'
    ).click()
    page.get_by_label("姓名").fill("李娜")
    page.get_by_label("手机号码").fill("137 0013 7000")
    assert_accessible(page, "details")
    shot(page, "3-details")
    page.get_by_role("button", name="获取短信验证码").click()

    expect(page.locator("h1")).to_have_text("输入验证码")
    page.get_by_label("短信验证码").fill(sms_inbox.last_code("+8613700137000"))
    assert_accessible(page, "code")
    shot(page, "4-code")
    page.get_by_role("button", name="确认预约").click()

    expect(page.locator(".status")).to_have_text("待窗口确认")
    appointment = Appointment.objects.get()
    assert appointment.start == start and appointment.channel == "online"
    expect(page.locator(".reference")).to_have_text(appointment.reference)
    expect(page.locator(".qr svg")).to_be_visible()
    assert_accessible(page, "confirmation")
    shot(page, "5-confirmation")
    with page.expect_download() as download:
        page.get_by_role("link", name="添加到手机日历（.ics）").click()
    assert "BEGIN:VEVENT" in Path(download.value.path()).read_text(encoding="utf-8")

    # Later, on another phone: "My booking" with the reference and a fresh code.
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/my/")
    page.get_by_label("预约编号").fill(appointment.reference.lower())
    page.get_by_label("预约时使用的手机号码").fill("13700137000")
    assert_accessible(page, "my-booking")
    page.get_by_role("button", name="获取短信验证码").click()
    page.get_by_label("短信验证码").fill(sms_inbox.last_code("+8613700137000"))
    page.get_by_role("button", name="查看我的预约").click()
    expect(page.locator(".reference")).to_have_text(appointment.reference)
    # The red button asks first, on a page of its own; "keep" cancels nothing.
    page.get_by_role("link", name="取消此预约").click()
    expect(page.locator("h1")).to_have_text("确定取消此预约？")
    page.get_by_role("link", name="不取消，保留预约").click()
    expect(page.locator(".status")).to_have_text("待窗口确认")
    appointment.refresh_from_db()
    assert appointment.status == Status.PENDING
    page.get_by_role("link", name="取消此预约").click()
    expect(page.locator("h1")).to_have_text("确定取消此预约？")
    expect(page.locator(".reference")).to_have_text(appointment.reference)
    assert_accessible(page, "cancel-confirmation")
    shot(page, "6-cancel-confirmation")
    page.get_by_role("button", name="确定取消预约").click()
    expect(page.locator(".messages")).to_contain_text("已取消")
    expect(page.locator(".status")).to_have_text("已取消")
    assert_accessible(page, "cancelled")
    shot(page, "7-cancelled")
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_citizen_switches_to_english_and_back_to_chinese(live_server, phone_page, matter):
    """Tapping English by mistake is undone by tapping 中文, on the same page (it used to stay on
    /en/…)."""
    page = phone_page
    day = timezone.localdate() + dt.timedelta(days=3)
    path = f"/matters/{matter.pk}/?day={day:%Y-%m-%d}"
    page.goto(f"{live_server.url}{path}")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    page.get_by_role("button", name="English").click()
    expect(page).to_have_url(f"{live_server.url}/en{path}")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("link", name="My booking")).to_be_visible()
    page.get_by_role("button", name="中文").click()
    expect(page).to_have_url(f"{live_server.url}{path}")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.get_by_role("link", name="我的预约")).to_be_visible()
    # The next page opened stays in Chinese.
    page.get_by_role("link", name="我的预约").click()
    expect(page).to_have_url(f"{live_server.url}/my/")
    expect(page.locator("h1")).to_contain_text("我的预约")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_unknown_booking_page_is_the_sites_404_in_chinese(live_server, phone_page):
    page = phone_page
    answer = page.goto(f"{live_server.url}/bookings/NOSUCH00/")
    assert answer.status == 404
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.locator("h1")).to_have_text("页面不存在")
    expect(page.get_by_role("link", name="我的预约").first).to_be_visible()
    assert_accessible(page, "404")
    shot(page, "404")
    # The browser's icon request finds the icon.
    icon = page.request.get(f"{live_server.url}/favicon.ico")
    assert icon.status == 200 and icon.body()[:4] == b"\x00\x00\x01\x00"
    page.get_by_role("link", name="预约办事").click()
    expect(page.locator("h1")).to_contain_text("网上预约")
