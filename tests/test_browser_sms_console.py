"""The administrators' SMS pages in a real browser (headless Chromium via Playwright): the
provider template codes kept beside each purpose's wording, with the parameters the provider is
sent, and the page of messages and parts billed per month.

Screenshots go to tests/artifacts/ for a person to look at.
"""

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from sms.models import Message, MessageTemplate
from sms.services import message_deliver

ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_administrator_enters_a_template_code_and_reads_the_billed_parts(
    live_server, browser_page_factory, make_user, hall
):
    make_user("sms-admin", "administrator", hall)
    now = timezone.now()
    for text in ("字" * 70, "字" * 71):
        message = Message.objects.create(
            phone="+8613800138000", purpose="reminder", text=text, created_at=now
        )
        message_deliver(message_id=message.pk, now=now - dt.timedelta(minutes=1))
    page = browser_page_factory(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "sms-admin")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")

    page.goto(f"{live_server.url}/admin/sms/messagetemplate/add/")
    page.select_option("#id_purpose", "change_notice")
    page.fill("#id_aliyun_template_code", "SMS_480001234")
    page.fill("#id_tencent_template_id", "1480001")
    page.click("input[name=_continue]")
    expect(page.locator(".field-provider_parameters")).to_contain_text(
        "${reference}, ${old_time}, ${new_time}, ${new_window}"
    )
    expect(page.locator(".field-provider_parameters")).to_contain_text("{1} = reference")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sms-template.png"), full_page=True)
    saved = MessageTemplate.objects.get(purpose="change_notice")
    assert (saved.text, saved.aliyun_template_code, saved.tencent_template_id) == (
        "",
        "SMS_480001234",
        "1480001",
    )

    page.goto(f"{live_server.url}/admin/sms/messagetemplate/")
    page.click("text=短信发送量与计费")
    rows = page.locator("#sms-usage tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td")).to_have_text(
        [timezone.localtime(now).strftime("%Y-%m"), "前一天提醒", "2", "3"], use_inner_text=True
    )
    page.screenshot(path=str(ARTIFACTS / "sms-usage.png"), full_page=True)
