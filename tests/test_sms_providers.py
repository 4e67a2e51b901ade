"""The Alibaba Cloud and Tencent Cloud SMS backends, through their official SDKs against local
stand-ins that check each request as the provider does (tests/sms_providers_standin.py): the
template and its parameters, the signature, the providers' refusals and throttling, the
per-number limits mirrored for citizens, reconciliation of an interrupted send, the receipts
sweep, and the parts billed."""

import datetime as dt
import json
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from appointments.sweeps import reminder_sweep
from sms.backends import get_backend
from sms.billing import message_counts, text_segments
from sms.checks import provider_settings, provider_templates
from sms.models import Message, MessageTemplate
from sms.providers import templated_sms
from sms.receipts import messages_receipts_check
from sms.registry import message_purposes
from sms.services import message_deliver, messages_deliver_due, sms_send, verification_code_send

from . import sms_providers_standin as standin

PHONE = "+8613800138000"
CONTEXT = {
    "reference": "26YQ9XS8",
    "time": "2026-09-16 12:00",
    "window": "A01 市场主体登记",
    "matter": "个体工商户设立登记",
}


def booking_received(now=None) -> Message:
    return sms_send(
        purpose="booking_received",
        phone=PHONE,
        context=CONTEXT,
        now=now or timezone.now(),
    )


def sent_params(server) -> list:
    """The parameters of the last send, as the provider received them."""
    headers, path, body = server.requests[-1]
    if server.name == "aliyun":
        return json.loads(dict(parse_qsl(urlsplit(path).query))["TemplateParam"])
    return json.loads(body)["TemplateParamSet"]


def test_every_purpose_declares_its_provider_parameters():
    """A purpose sent through a provider needs its template's parameters declared (a new
    purpose: add ``provider_params`` to its TextTemplate and a row to the README's table)."""
    undeclared = [
        p.value for p in message_purposes if not message_purposes.templates[p.value].provider_params
    ]
    assert undeclared == []


def test_a_message_goes_out_as_its_purposes_template_with_its_parameters(provider):
    message = message_deliver(message_id=booking_received().pk, now=timezone.now())
    assert message.status == Message.Status.SENT and message.backend == provider.name
    assert message.gateway_id == (provider.sent[0].get("biz_id") or provider.sent[0].get("serial"))
    assert message.delivered_at is None  # accepted is not delivered: the receipt will say
    code = MessageTemplate.objects.get(purpose="booking_received")
    if provider.name == "aliyun":
        assert provider.sent[0]["template"] == code.aliyun_template_code
        assert provider.sent[0]["phone"] == "13800138000" and provider.sent[0]["out_id"] == str(
            message.pk
        )
        assert sent_params(provider) == {
            "reference": "26YQ9XS8",
            "time": "2026-09-16 12:00",
            "window": "A01 市场主体登记",
        }
    else:
        assert provider.sent[0]["template"] == code.tencent_template_id
        assert provider.sent[0]["context"] == str(message.pk)
        assert sent_params(provider) == ["26YQ9XS8", "2026-09-16 12:00", "A01 市场主体登记"]
        assert message.segments == 1  # Tencent's Fee


def test_a_request_signed_with_the_wrong_secret_is_refused_and_not_retried(provider, settings):
    settings.SMS_ACCESS_KEY_SECRET = "not-the-secret"
    message = message_deliver(message_id=booking_received().pk, now=timezone.now())
    assert message.status == Message.Status.FAILED and provider.sent == []
    assert message.error_code in {"SignatureDoesNotMatch", "AuthFailure.SignatureFailure"}


def test_the_providers_flow_control_is_retried_later(provider):
    provider.flow_control = True
    now = timezone.now()
    message = message_deliver(message_id=booking_received(now).pk, now=now)
    assert message.status == Message.Status.QUEUED and message.next_attempt_at > now
    assert message.error_code in {"Throttling.User", "RequestLimitExceeded"}
    provider.flow_control = False
    messages_deliver_due(now=message.next_attempt_at)
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and len(provider.sent) == 1


def test_a_message_the_per_number_limit_refuses_goes_out_once_the_minute_has_passed(provider):
    """The provider's per-number limit (one a minute) refuses a second text to the same number;
    unlike a verification code, which the citizen asks for again, it is tried again later."""
    now = timezone.now()
    assert message_deliver(message_id=booking_received(now).pk, now=now).status == (
        Message.Status.SENT
    )
    cancelled = sms_send(purpose="booking_cancelled", phone=PHONE, context=CONTEXT, now=now)
    cancelled = message_deliver(message_id=cancelled.pk, now=now)
    assert cancelled.status == Message.Status.QUEUED and cancelled.next_attempt_at > now
    assert cancelled.error_code in {
        "isv.BUSINESS_LIMIT_CONTROL",
        "LimitExceeded.PhoneNumberThirtySecondLimit",
    }
    provider.minute_passes()
    messages_deliver_due(now=cancelled.next_attempt_at)
    cancelled.refresh_from_db()
    assert cancelled.status == Message.Status.SENT and len(provider.sent) == 2


def test_a_template_the_provider_does_not_know_fails_with_its_code(provider):
    provider.templates.clear()
    message = message_deliver(message_id=booking_received().pk, now=timezone.now())
    assert message.status == Message.Status.FAILED
    assert message.error_code in {
        "isv.SMS_TEMPLATE_ILLEGAL",
        "FailedOperation.TemplateIncorrectOrUnapproved",
    }


def test_a_purpose_without_a_template_is_reported_by_the_system_check(provider, settings):
    MessageTemplate.objects.filter(purpose="reminder").update(
        aliyun_template_code="", tencent_template_id=""
    )
    [warning] = provider_templates(databases=["default"])
    assert warning.id == "sms.W001" and "reminder" in warning.msg
    message = sms_send(purpose="reminder", phone=PHONE, context=CONTEXT, now=timezone.now())
    message = message_deliver(message_id=message.pk, now=timezone.now())
    assert message.status == Message.Status.FAILED and message.error_code == "no_template"
    settings.SMS_SIGN_NAME = ""
    assert [error.id for error in provider_settings()] == ["sms.E001"]


def test_migrate_reports_the_missing_templates(provider, capsys):
    MessageTemplate.objects.all().delete()
    call_command("check", "--database", "default")
    assert "sms.W001" in capsys.readouterr().err


def test_a_parameter_over_the_providers_limit_is_cut(aliyun):
    context = {**CONTEXT, "window": "A01 " + "市场主体登记" * 8}
    message = sms_send(purpose="booking_received", phone=PHONE, context=context, now=timezone.now())
    message = message_deliver(message_id=message.pk, now=timezone.now())
    assert message.status == Message.Status.SENT
    window = sent_params(aliyun)["window"]
    assert len(window) == standin.PARAM_LIMIT and window.endswith("…")


def test_the_providers_per_number_limit_gives_the_citizen_a_clear_answer(provider, settings):
    """The provider allows one code a minute per number; with our own wait set lower, its
    refusal is told to the citizen as a limit, not as a failure to try again."""
    settings.VERIFICATION_CODE_RESEND_SECONDS = 0
    now = timezone.now()
    verification_code_send(phone="13800138000", client_address=None, now=now)
    with pytest.raises(ValidationError) as refused:
        verification_code_send(
            phone="13800138000", client_address=None, now=now + dt.timedelta(seconds=5)
        )
    assert refused.value.error_dict["phone"][0].code == "too_many_codes"
    assert (
        Message.objects.filter(error_code__startswith="isv.BUSINESS_LIMIT_CONTROL").count()
        + Message.objects.filter(error_code="LimitExceeded.PhoneNumberThirtySecondLimit").count()
        == 1
    )


def test_the_providers_daily_limit_is_mirrored_per_number(db, settings):
    """10 codes a day per number (the providers' default): the 11th within 24 h is refused by
    the application, at 24 h after the first it is allowed again."""
    settings.VERIFICATION_CODE_RESEND_SECONDS = 0
    settings.VERIFICATION_CODES_PER_NUMBER_PER_HOUR = 100
    first = timezone.now()
    for hour in range(10):
        verification_code_send(
            phone="13800138000", client_address=None, now=first + dt.timedelta(hours=hour)
        )
    with pytest.raises(ValidationError) as refused:
        verification_code_send(
            phone="13800138000", client_address=None, now=first + dt.timedelta(hours=23, minutes=59)
        )
    assert refused.value.error_dict["phone"][0].code == "too_many_codes"
    verification_code_send(
        phone="13800138000", client_address=None, now=first + dt.timedelta(hours=24)
    )


def test_a_verification_code_goes_out_with_the_real_code_and_is_logged_masked(provider):
    message = verification_code_send(phone="13800138000", client_address=None, now=timezone.now())
    params = sent_params(provider)
    code = params["code"] if provider.name == "aliyun" else params[0]
    assert code.isdigit() and len(code) == 6
    message.refresh_from_db()
    assert code not in message.text and message.context["code"] == "******"


# --- an interrupted send ------------------------------------------------------------------------


def interrupted(provider, *, reached_provider: bool) -> Message:
    """A message claimed by a worker that died after the provider's answer, before saving it."""
    message = booking_received()
    claimed_at = timezone.now()
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.SENDING, claimed_at=claimed_at
    )
    message.refresh_from_db()
    if reached_provider:
        backend = get_backend()
        backend.send_template(
            templated_sms(backend=backend, message=message, context=message.context)
        )
    return message


def test_an_interrupted_send_the_provider_has_is_recorded_sent_not_resent(provider, settings):
    message = interrupted(provider, reached_provider=True)
    messages_deliver_due(
        now=message.claimed_at + dt.timedelta(minutes=settings.SMS_STUCK_MINUTES + 1)
    )
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and len(provider.sent) == 1
    assert message.sent_at == message.claimed_at
    if provider.name == "tencent":
        assert message.gateway_id == provider.sent[0]["serial"]


def test_an_interrupted_send_the_provider_never_got_is_sent_again(provider, settings):
    message = interrupted(provider, reached_provider=False)
    messages_deliver_due(
        now=message.claimed_at + dt.timedelta(minutes=settings.SMS_STUCK_MINUTES + 1)
    )
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and len(provider.sent) == 1


def test_an_interrupted_send_is_left_for_later_while_the_provider_cannot_be_asked(
    provider, settings
):
    message = interrupted(provider, reached_provider=True)
    provider.flow_control = True
    messages_deliver_due(
        now=message.claimed_at + dt.timedelta(minutes=settings.SMS_STUCK_MINUTES + 1)
    )
    message.refresh_from_db()
    assert message.status == Message.Status.SENDING and len(provider.sent) == 1


# --- the receipts sweep --------------------------------------------------------------------------


def test_the_receipts_sweep_asks_about_messages_without_a_receipt(provider, settings):
    now = timezone.now()
    message = message_deliver(message_id=booking_received(now).pk, now=now)
    received = timezone.localtime(now + dt.timedelta(seconds=3)).replace(microsecond=0)
    record = provider.sent[0]
    if provider.name == "aliyun":
        record.update(
            status=3, err_code="DELIVERED", receive_date=received.strftime("%Y-%m-%d %H:%M:%S")
        )
    else:
        record["receipt"] = {
            "status": "SUCCESS",
            "description": "DELIVRD",
            "time": int(received.timestamp()),
        }
    # Too early to ask: nothing.
    assert (
        messages_receipts_check(now=now + dt.timedelta(minutes=1)) == 0
        or provider.name == "tencent"
    )
    messages_receipts_check(now=now + dt.timedelta(minutes=settings.SMS_RECEIPT_QUERY_MINUTES))
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED and message.delivered_at == received


def test_the_receipts_sweep_records_a_failed_delivery_with_its_code(aliyun, settings):
    now = timezone.now()
    message = message_deliver(message_id=booking_received(now).pk, now=now)
    aliyun.sent[0].update(status=2, err_code="MK:0001", receive_date="")
    messages_receipts_check(now=now + dt.timedelta(minutes=settings.SMS_RECEIPT_QUERY_MINUTES))
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED and message.error_code == "MK:0001"


# --- what the hall pays for ----------------------------------------------------------------------


@pytest.mark.parametrize(("length", "parts"), [(70, 1), (71, 2), (134, 2), (135, 3)])
def test_billed_parts_are_70_characters_or_67_each_when_longer(length, parts):
    assert text_segments("字" * length) == parts


def test_the_signature_counts_in_the_length():
    """【阳泉市政务服务中心】 is 11 characters: 59 more fill one part, 60 make two."""
    assert text_segments("字" * 59, signature=standin.SIGN_NAME) == 1
    assert text_segments("字" * 60, signature=standin.SIGN_NAME) == 2


def test_messages_and_parts_are_counted_per_month_and_purpose(db, sms_inbox):
    september = timezone.make_aware(dt.datetime(2026, 9, 30, 23, 30))
    october = timezone.make_aware(dt.datetime(2026, 10, 1, 0, 30))
    for when, text in [(september, "字" * 70), (september, "字" * 71), (october, "字" * 10)]:
        message = Message.objects.create(
            phone=PHONE, purpose="reminder", text=text, created_at=when
        )
        message_deliver(message_id=message.pk, now=when)
    Message.objects.create(phone=PHONE, purpose="reminder", text="queued", created_at=october)
    rows = message_counts(
        since=september - dt.timedelta(days=30), until=october + dt.timedelta(days=1)
    )
    assert [(r["month"].month, r["messages"], r["segments"]) for r in rows] == [
        (10, 1, 1),
        (9, 2, 3),
    ]


def test_a_sweeps_messages_go_out_with_their_templates_parameters(provider, accepted):
    """The reminder sweep writes its messages in bulk: each keeps its template values, and the
    provider gets the reminder's parameters (the materials stay on the booking page)."""
    now = timezone.make_aware(dt.datetime(2026, 9, 15, 18, 0))
    # The desk's registration text went out when the booking was made, three days earlier.
    messages_deliver_due(now=accepted.created_at)
    provider.minute_passes()
    reminder_sweep(now=now)
    messages_deliver_due(now=now)
    message = Message.objects.get(purpose="reminder")
    assert message.status == Message.Status.SENT and message.context["reference"]
    expected = ["2026-09-16 12:00", str(accepted.window), accepted.reference]
    params = sent_params(provider)
    assert (list(params.values()) if provider.name == "aliyun" else params) == expected
