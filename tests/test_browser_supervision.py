"""The 6.1.3 watch, the 7.2 findings' disposition and the personal-data page in a real browser
(headless Chromium via Playwright), each at a frozen moment that makes them due. Screenshots go
to tests/artifacts/ for a person to look at."""

import datetime as dt
from pathlib import Path

import pytest
import time_machine
from playwright.sync_api import expect

from duty.models import InspectionFinding
from duty.supervision import inspection_record
from tests.conftest import START, at

ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture
def browser_page(browser_page_factory):
    return browser_page_factory(viewport={"width": 1280, "height": 900})


def log_in(page, live_server, username):
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    expect(page.locator("#content h1")).to_contain_text("服务管理后台")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_desk_sees_the_missing_notice_and_the_window_its_check_in_warning_6_1_3(
    live_server, browser_page, desk, window_staff, handed_over
):
    page = browser_page
    with time_machine.travel(START - dt.timedelta(hours=5), tick=True):
        log_in(page, live_server, "desk")
        link = page.locator("a[href*='attention=notice_overdue']")
        expect(link).to_be_visible()
        link.click()
        expect(page.locator("#result_list")).to_contain_text(handed_over.reference)
        page.screenshot(path=ARTIFACTS / "notice-overdue-list.png", full_page=True)
        page.context.clear_cookies()
        log_in(page, live_server, "window")
        page.goto(
            f"{live_server.url}/admin/appointments/appointment/{handed_over.pk}/step/check_in/"
        )
        expect(page.locator("#notice-never-given")).to_contain_text("一次性告知")
        page.screenshot(path=ARTIFACTS / "check-in-notice-never-given.png", full_page=True)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_supervisor_deals_with_an_overdue_finding_7_2(
    live_server, browser_page, supervisor, window_staff, no_rest_window
):
    inspection = inspection_record(
        window=no_rest_window,
        at=at(2026, 9, 30, 15),
        inspector=supervisor,
        findings=[(InspectionFinding.Kind.ABSENT, window_staff, "值班时段不在岗")],
        now=at(2026, 9, 30, 16),
    )
    finding = inspection.findings.get()
    page = browser_page
    with time_machine.travel(at(2026, 10, 14, 9), tick=True):
        log_in(page, live_server, "supervisor")
        page.goto(f"{live_server.url}/admin/duty/inspectionfinding/?overdue=1")
        expect(page.locator("#result_list")).to_contain_text("2026年10月13日")
        page.screenshot(path=ARTIFACTS / "findings-overdue.png", full_page=True)
        page.goto(f"{live_server.url}/admin/duty/inspectionfinding/{finding.pk}/change/")
        page.click("a.step-dispose")
        page.select_option("#id_outcome", "corrected")
        page.fill("#id_measures", "批评教育，调整值班安排")
        page.screenshot(path=ARTIFACTS / "finding-dispose.png", full_page=True)
        page.click("input[name=_save]")
        expect(page.locator(".messagelist .success")).to_be_visible()
    finding.refresh_from_db()
    assert finding.outcome == "corrected" and finding.disposed_by == supervisor


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_administrator_sees_what_is_anonymised_next(
    live_server, browser_page, make_user, hall, handed_over
):
    make_user("admin", "administrator", hall)
    page = browser_page
    with time_machine.travel(START + dt.timedelta(days=1094), tick=True):
        log_in(page, live_server, "admin")
        page.click("#retention-link a")
        expect(page.locator("#retention")).to_contain_text(handed_over.reference)
        expect(page.locator("#retention")).to_contain_text("2029-09-15 12:00")
        page.screenshot(path=ARTIFACTS / "personal-data.png", full_page=True)
