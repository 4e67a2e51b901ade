"""The providers' delivery receipts pushed to the hall (/sms/receipts/<provider>/<secret>/):
the payloads each provider documents (Aliyun's SmsReport HTTP push, Tencent's status callback),
answered as each documents; duplicates, receipts out of order, a wrong secret or source, garbage,
and ids nobody sent, none of which answers 500."""

import datetime as dt
import json
import logging

import pytest
from django.utils import timezone

from sms.models import Message
from sms.services import message_deliver, sms_send

PHONE = "+8613800138000"
CONTEXT = {"reference": "26YQ9XS8", "time": "2026-09-16 12:00", "window": "A01"}


def sent(now=None) -> Message:
    now = now or timezone.now()
    message = sms_send(purpose="booking_received", phone=PHONE, context=CONTEXT, now=now)
    return message_deliver(message_id=message.pk, now=now)


def aliyun_report(message: Message, *, success=True, code="DELIVERED", at="2026-09-15 10:00:03"):
    """One item of Aliyun's SmsReport push, as its documentation shows it."""
    return {
        "phone_number": "13800138000",
        "send_time": "2026-09-15 10:00:00",
        "report_time": at,
        "success": success,
        "err_code": code,
        "err_msg": "用户接收成功" if success else "用户接收失败",
        "sms_size": "1",
        "biz_id": message.gateway_id,
        "out_id": str(message.pk),
    }


def tencent_report(message: Message, *, success=True, code="DELIVRD", at="2026-09-15 10:00:03"):
    """One item of Tencent's status callback, as its documentation shows it."""
    return {
        "user_receive_time": at,
        "nationcode": "86",
        "mobile": "13800138000",
        "report_status": "SUCCESS" if success else "FAIL",
        "errmsg": code,
        "description": "用户短信送达成功" if success else "用户短信接收失败",
        "sid": message.gateway_id,
    }


def report(provider, message, **kwargs):
    return (aliyun_report if provider.name == "aliyun" else tencent_report)(message, **kwargs)


def push(client, provider_name, payload, *, token="receipt-secret", raw=None, **extra):
    body = raw if raw is not None else json.dumps(payload, ensure_ascii=False)
    return client.post(
        f"/sms/receipts/{provider_name}/{token}/", body, content_type="application/json", **extra
    )


OK = {"aliyun": {"code": 0, "msg": "接收成功"}, "tencent": {"result": 0, "errmsg": "OK"}}


def test_a_documented_receipt_marks_the_message_delivered_at_the_reported_time(client, provider):
    message = sent()
    response = push(client, provider.name, [report(provider, message)])
    assert response.status_code == 200 and response.json() == OK[provider.name]
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED
    assert message.delivered_at == timezone.make_aware(dt.datetime(2026, 9, 15, 10, 0, 3))
    assert message.receipt_at is not None and message.error_code in {"DELIVERED", "DELIVRD"}


def test_a_failed_delivery_records_the_providers_code(client, provider):
    message = sent()
    push(client, provider.name, [report(provider, message, success=False, code="MK:0005")])
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED and message.error_code == "MK:0005"
    assert message.failed_at == timezone.make_aware(dt.datetime(2026, 9, 15, 10, 0, 3))


def test_a_duplicate_receipt_changes_nothing(client, provider):
    message = sent()
    push(client, provider.name, [report(provider, message)])
    message.refresh_from_db()
    first = (message.status, message.delivered_at, message.receipt_at)
    response = push(client, provider.name, [report(provider, message, at="2026-09-15 11:00:00")])
    assert response.json() == OK[provider.name]
    message.refresh_from_db()
    assert (message.status, message.delivered_at, message.receipt_at) == first


def test_a_failure_reported_after_the_delivery_is_ignored(client, provider):
    message = sent()
    push(client, provider.name, [report(provider, message, at="2026-09-15 10:00:05")])
    push(client, provider.name, [report(provider, message, success=False, code="UNDELIV")])
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED


def test_a_delivery_reported_after_a_failure_replaces_it(client, provider):
    """Out of order: the carrier's intermediate failure arrives, then the delivery."""
    message = sent()
    push(client, provider.name, [report(provider, message, success=False, code="UNDELIV")])
    push(client, provider.name, [report(provider, message, at="2026-09-15 10:02:00")])
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED and message.error == ""


def test_a_batch_with_several_receipts_records_each(client, provider):
    provider.per_minute = 2
    first, second = sent(), sent()
    push(client, provider.name, [report(provider, first), report(provider, second, success=False)])
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (Message.Status.DELIVERED, Message.Status.FAILED)


def test_a_receipt_for_an_unknown_message_is_logged_and_acknowledged(client, provider, caplog):
    message = sent()
    unknown = report(provider, message)
    unknown.update(
        {"biz_id": "999999^0", "out_id": ""} if provider.name == "aliyun" else {"sid": "2433:9"}
    )
    with caplog.at_level(logging.WARNING, logger="sms.receipts"):
        response = push(client, provider.name, [unknown])
    assert response.status_code == 200 and response.json() == OK[provider.name]
    assert "unknown message" in caplog.text
    message.refresh_from_db()
    assert message.status == Message.Status.SENT


def test_a_receipt_of_another_provider_does_not_touch_the_message(client, provider):
    message = sent()
    other = "tencent" if provider.name == "aliyun" else "aliyun"
    payload = [(tencent_report if other == "tencent" else aliyun_report)(message)]
    assert push(client, other, payload).status_code == 200
    message.refresh_from_db()
    assert message.status == Message.Status.SENT


def test_a_wrong_secret_is_refused(client, provider):
    message = sent()
    response = push(client, provider.name, [report(provider, message)], token="guess")
    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == Message.Status.SENT


def test_an_address_outside_the_providers_networks_is_refused(client, provider, settings):
    settings.SMS_RECEIPT_ALLOWED_NETWORKS = ["100.64.0.0/10"]
    message = sent()
    assert push(client, provider.name, [report(provider, message)]).status_code == 403
    response = push(client, provider.name, [report(provider, message)], REMOTE_ADDR="100.100.1.2")
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED


@pytest.mark.parametrize(
    "raw",
    ["not json", "{}", '{"biz_id": "1"}', "[1, 2]", '[{"success": true}]', "", "\xff"],
    ids=["text", "object", "no-array", "numbers", "no-id", "empty", "bad-utf8"],
)
def test_garbage_is_answered_as_the_provider_expects_never_500(client, provider, raw):
    response = push(client, provider.name, None, raw=raw)
    assert response.status_code == 400
    assert response.json() in (
        {"code": 1, "msg": "bad request"},
        {"result": 1, "errmsg": "bad request"},
    )


def test_only_post_and_only_known_providers(client, provider):
    assert client.get("/sms/receipts/aliyun/receipt-secret/").status_code == 405
    assert push(client, "huawei", []).status_code == 404


def test_without_a_secret_set_there_is_no_callback(client, settings):
    settings.SMS_RECEIPT_TOKEN = ""
    assert push(client, "aliyun", [], token="x").status_code == 404


def test_a_receipt_with_our_id_but_another_providers_id_is_not_ours(client, aliyun):
    """Another system on the hall's account sends with its own OutId, which may equal one of
    our ids: the provider's id decides."""
    message = sent()
    stranger = aliyun_report(message)
    stranger["biz_id"] = "777777^0"
    push(client, "aliyun", [stranger])
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
