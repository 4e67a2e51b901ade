"""The 500 page for people and the API's JSON for a bug (issue 20): in Chinese on the citizen
site and the console, in English under /en/, each saying what to do now and whom to call;
the API answers in the shape of its other errors. The bug is made by a view's collaborator that
raises (no real bug is at hand); the error is logged with its traceback."""

import logging
from pathlib import Path

import pytest
from django.test import Client

from duty.models import Hall

ARTIFACTS = Path(__file__).parent / "artifacts"


class Bug(RuntimeError):
    pass


def _raise(*args, **kwargs):
    raise Bug("a bug")


@pytest.fixture
def people(db):
    return Client(raise_request_exception=False)


@pytest.fixture
def hall_phone(hall):
    Hall.objects.filter(pk=hall.pk).update(phone="0353-2020123")
    return "0353-2020123"


def test_a_bug_on_the_citizen_site_is_a_500_page_in_chinese_with_what_to_do(
    people, hall_phone, monkeypatch, caplog
):
    monkeypatch.setattr("appointments.public_views.render", _raise)

    with caplog.at_level(logging.ERROR, logger="django.request"):
        answer = people.get("/")

    page = answer.content.decode()
    assert answer.status_code == 500
    assert "<h1>系统出现错误</h1>" in page
    assert "请一分钟后重试" in page
    assert "请先在“我的预约”中查询" in page
    assert f"如果问题持续出现，请致电政务服务大厅：{hall_phone}。" in page
    assert 'lang="zh-Hans"' in page and 'class="console"' not in page
    assert any(r.exc_info and r.exc_info[0] is Bug for r in caplog.records)  # logged in full


def test_the_500_page_is_in_english_under_en(people, hall_phone, monkeypatch):
    monkeypatch.setattr("appointments.public_views.render", _raise)

    page = people.get("/en/").content.decode()

    assert "<h1>Something went wrong on our side</h1>" in page
    assert f"call the service hall: {hall_phone}." in page
    assert 'href="/en/"' in page


def test_help_phone_setting_is_the_number_given(people, hall_phone, monkeypatch, settings):
    settings.HELP_PHONE = "12345"
    monkeypatch.setattr("appointments.public_views.render", _raise)

    assert "请致电政务服务大厅：12345。" in people.get("/").content.decode()


def test_a_bug_in_the_console_is_a_500_page_in_the_consoles_look(people, admin_user, monkeypatch):
    people.force_login(admin_user)
    monkeypatch.setattr("django.contrib.admin.sites.AdminSite.each_context", _raise)

    answer = people.get("/admin/appointments/matter/")

    page = answer.content.decode()
    assert answer.status_code == 500
    assert 'class="console"' in page and "服务管理后台" in page
    assert "请先重新打开它，确认是否已经保存" in page


def test_a_bug_in_the_api_is_json_in_the_shape_of_its_other_errors(db, monkeypatch):
    api = Client(raise_request_exception=False)
    monkeypatch.setattr("appointments.api.Matter.objects", None)  # any use of it raises

    answer = api.get("/api/v1/matters/")

    assert answer.status_code == 500
    assert answer["Content-Type"] == "application/json"
    assert answer.json() == {
        "detail": "错误已记录，我们会尽快处理。请一分钟后重试；出现此页面之前完成的操作均已保存。"
    }


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_500_page_on_a_phone_is_legible_and_accessible(
    live_server, browser_page_factory, hall_phone, monkeypatch
):
    from .conftest import browser_requires
    from .test_browser_public import AXE, assert_accessible

    browser_requires(AXE, "axe-core (npm)")
    monkeypatch.setattr("appointments.public_views.render", _raise)
    page = browser_page_factory(viewport={"width": 390, "height": 844}, is_mobile=True)

    answer = page.goto(f"{live_server.url}/")

    assert answer.status == 500
    assert page.locator("h1").inner_text() == "系统出现错误"
    assert hall_phone in page.locator("#help-phone").inner_text()
    assert_accessible(page, "500")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "error-500-phone.png", full_page=True)
    page.get_by_role("link", name="重试").click()  # the same page again
    assert page.url == f"{live_server.url}/"
