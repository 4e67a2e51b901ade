"""The supervisors' dashboard in a real browser (headless Chromium via Playwright, DB1403/T 7.4,
8.2): a supervisor logs in, opens the dashboard from the console, changes the period and the
window, and the trend charts are drawn by the project's own Chart.js (no CDN).

Screenshots go to tests/artifacts/ (and /tmp/dashboard.png) for a person to look at.
"""

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .test_dashboard import END, START
from .test_dashboard import data as data  # the hand-counted data set, as a fixture

ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_supervisor_changes_the_filters_and_sees_the_charts(
    live_server,
    browser_page_factory,
    supervisor,
    data,  # noqa: F811
    regular_window,
):
    page = browser_page_factory(viewport={"width": 1280, "height": 1000})
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "supervisor")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.click("#dashboard-link a")
    expect(page.locator("#content h1")).to_be_visible()
    expect(page.locator("form.dash-filter")).to_be_visible()

    # The period of National Day 2026, all windows.
    page.fill("#id_start", START.isoformat())
    page.fill("#id_end", END.isoformat())
    page.click("form.dash-filter input[type=submit]")
    page.wait_for_selector("html[data-charts-drawn=true]")
    expect(page.locator("#c-bookings + .big")).to_have_text("10")
    for canvas in ("#chart-bookings", "#chart-rating"):
        box = page.locator(canvas).bounding_box()
        assert box and box["width"] > 100 and box["height"] > 100
        drawn = page.evaluate(
            """(sel) => { const c = document.querySelector(sel);
                 const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                 for (let i = 3; i < d.length; i += 4) if (d[i]) return true; return false; }""",
            canvas,
        )
        assert drawn, f"{canvas} is blank"
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    shutil.copy(shot, "/tmp/dashboard.png")
    # Open complaints are not labelled with the phone line's "当前接听中".
    complaints = page.locator("#c-complaints + ul")
    expect(complaints).to_contain_text("尚未办结")
    expect(complaints).not_to_contain_text("当前接听中")
    # Chart.js came from the project's static files, nothing from elsewhere.
    assert any(u.endswith("chart.umd.min.js") and u.startswith(live_server.url) for u in requests)
    assert all(u.startswith(live_server.url) or u.startswith("data:") for u in requests)

    # 无人值班的时段 opens a list of as many periods, of the same period and windows.
    gaps = page.locator("#c-duty + ul li").first.locator("a")
    number = int(gaps.inner_text())
    assert number > 0
    gaps.click()
    expect(page.locator("#content h1")).to_have_text("无人值班的时段")
    expect(page.locator("#content-main tbody tr")).to_have_count(number)
    page.screenshot(path=str(ARTIFACTS / "dashboard-gaps.png"), full_page=True)
    page.go_back()
    page.wait_for_selector("html[data-charts-drawn=true]")

    # One window: the figures follow.
    page.select_option("#id_window", str(regular_window.pk))
    page.click("form.dash-filter input[type=submit]")
    page.wait_for_selector("html[data-charts-drawn=true]")
    expect(page.locator("#c-bookings + .big")).to_have_text("3")

    # A reversed period: the form says so, no figures, no server error.
    page.fill("#id_start", END.isoformat())
    page.fill("#id_end", START.isoformat())
    page.click("form.dash-filter input[type=submit]")
    expect(page.locator(".dash-filter .errorlist")).to_be_visible()
    expect(page.locator("#chart-bookings")).to_have_count(0)

    # On a phone the cards stack and the page still reads.
    phone = browser_page_factory(viewport={"width": 390, "height": 844})
    phone.context.add_cookies(page.context.cookies())
    phone.goto(
        f"{live_server.url}/admin/dashboard/?start={START.isoformat()}&end={END.isoformat()}"
    )
    phone.wait_for_selector("html[data-charts-drawn=true]")
    phone.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"), full_page=True)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_city_supervisor_sees_all_halls_together(
    live_server,
    browser_page_factory,
    supervisor,
    data,  # noqa: F811
    other_hall,
    matter,
):
    """The city hall's supervisor picks 全部大厅: the figures of every hall, ranked by hall."""
    from appointments.models import Appointment
    from duty.models import Window

    from .conftest import at
    from .test_dashboard import booking

    window = Window.objects.create(hall=other_hall, number="B01", name="郊区窗口")
    booking(window, matter, at(2026, 10, 2, 10), "online", "served", served=at(2026, 10, 2, 10, 9))
    page = browser_page_factory(viewport={"width": 1280, "height": 1000})
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "supervisor")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/dashboard/")
    page.fill("#id_start", START.isoformat())
    page.fill("#id_end", END.isoformat())
    page.select_option("#id_hall", "all")
    page.click("form.dash-filter input[type=submit]")
    page.wait_for_selector("html[data-charts-drawn=true]")
    total = Appointment.objects.filter(start__date__range=(START, END)).count()
    expect(page.locator("#c-bookings + .big")).to_have_text(str(total))
    expect(page.locator(".dash-tables").first).to_contain_text("郊区政务服务中心")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "dashboard-city.png"
    page.screenshot(path=str(shot), full_page=True)
    shutil.copy(shot, "/tmp/dashboard-city.png")
