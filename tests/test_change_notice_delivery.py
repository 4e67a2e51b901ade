"""DB1403/T 6.2.2 judged on delivery: the applicant is "told" of a change when its SMS notice
reaches the handset (the receipt time the provider reports), not when it is handed to the
provider; without a receipt by the 8 h mark, the approver and the desk phone; the applicant is
never told of a change that is then not applied. Through the Alibaba Cloud stand-in (its SDK,
its receipt push)."""

import datetime as dt

import time_machine
from django.utils import timezone

from appointments.models import ChangeRequest
from appointments.services import change_request_approve, change_request_notify_and_apply
from appointments.sweeps import change_notice_sweep
from sms.models import Alert, Message
from sms.services import message_deliver

from .conftest import START

MARK = START - dt.timedelta(hours=8)


def approve_and_send(change, approver, *, at):
    change_request_approve(change=change, actor=approver, now=at)
    message = Message.objects.get(purpose=Message.Purpose.CHANGE_NOTICE)
    return message_deliver(message_id=message.pk, now=at)


def receipt_push(client, message, *, delivered_at, success=True, arrives_at=None):
    """Aliyun's SmsReport push for the notice, reporting ``delivered_at``, reaching the hall at
    ``arrives_at`` (default: at once)."""
    item = {
        "phone_number": "13800138000",
        "send_time": timezone.localtime(message.sent_at).strftime("%Y-%m-%d %H:%M:%S"),
        "report_time": timezone.localtime(delivered_at).strftime("%Y-%m-%d %H:%M:%S"),
        "success": success,
        "err_code": "DELIVERED" if success else "MK:0001",
        "err_msg": "用户接收成功",
        "sms_size": "1",
        "biz_id": message.gateway_id,
        "out_id": str(message.pk),
    }
    with time_machine.travel(arrives_at or delivered_at, tick=False):
        response = client.post(
            "/sms/receipts/aliyun/receipt-secret/", [item], content_type="application/json"
        )
    assert response.status_code == 200


LATE_NOTE = "8 小时"


def applied_note(change) -> str:
    """The booking history's note of the change's application."""
    return change.appointment.events.filter(action="change_applied").get().note


def phone_alerts():
    return list(Alert.objects.filter(kind=Alert.Kind.CHANGE_PHONE_DUE))


def test_622_notice_delivered_8_h_0_min_before_applies_the_change(client, aliyun, change, approver):
    message = approve_and_send(change, approver, at=START - dt.timedelta(hours=9))
    change.refresh_from_db()
    assert message.status == Message.Status.SENT and change.state == ChangeRequest.State.APPROVED
    receipt_push(client, message, delivered_at=MARK)
    change.refresh_from_db()
    assert change.state == ChangeRequest.State.APPLIED and change.notice_method == "sms"
    assert change.notified_at == MARK
    assert change.appointment.start == change.new_start
    assert phone_alerts() == []


def test_622_notice_delivered_7_h_59_min_before_is_applied_as_told_late_and_staff_phone(
    client, aliyun, change, approver, desk, window_staff
):
    """The applicant has read it: the change takes effect (they are never left with a change
    that did not happen), recorded as late; the approver and the desk phone to make sure."""
    message = approve_and_send(change, approver, at=START - dt.timedelta(hours=9))
    receipt_push(client, message, delivered_at=MARK + dt.timedelta(minutes=1))
    change.refresh_from_db()
    assert change.state == ChangeRequest.State.APPLIED
    assert change.notified_at == MARK + dt.timedelta(minutes=1)
    assert LATE_NOTE in applied_note(change)
    assert {a.recipient for a in phone_alerts()} == {approver, desk, window_staff}


def test_622_a_late_receipt_of_a_delivery_before_the_mark_counts_the_delivery_time(
    client, aliyun, change, approver, desk, window_staff
):
    """The moment that counts is the handset's receipt time the provider reports, not when its
    receipt reaches the hall: delivered at 8 h 5 min, reported at 7 h → told in time. Meanwhile
    the mark passed without a receipt, so staff were alerted to phone."""
    message = approve_and_send(change, approver, at=START - dt.timedelta(hours=9))
    change_notice_sweep(now=MARK)
    assert {a.recipient for a in phone_alerts()} == {approver, desk, window_staff}
    receipt_push(
        client,
        message,
        delivered_at=MARK - dt.timedelta(minutes=5),
        arrives_at=START - dt.timedelta(hours=7),
    )
    change.refresh_from_db()
    assert change.state == ChangeRequest.State.APPLIED
    assert change.notified_at == MARK - dt.timedelta(minutes=5)
    assert LATE_NOTE not in applied_note(change)


def test_622_no_receipt_by_the_mark_alerts_approver_and_desk_and_applies_nothing(
    aliyun, change, approver, desk, window_staff
):
    approve_and_send(change, approver, at=START - dt.timedelta(hours=9))
    change_notice_sweep(now=MARK - dt.timedelta(minutes=1))
    assert phone_alerts() == []
    change_notice_sweep(now=MARK)
    change_notice_sweep(now=MARK + dt.timedelta(minutes=1))
    assert sorted(a.recipient.pk for a in phone_alerts()) == sorted(
        [approver.pk, desk.pk, window_staff.pk]
    )
    change.refresh_from_db()
    assert change.state == ChangeRequest.State.APPROVED
    assert change.appointment.start == START


def test_622_the_phone_call_recorded_applies_the_change(aliyun, change, approver, window_staff):
    """Told by phone at the alert (an emergency recorded, as under 8 h): the change applies."""
    approve_and_send(change, approver, at=START - dt.timedelta(hours=9))
    change_notice_sweep(now=MARK)
    change.is_emergency, change.emergency_reason = True, "短信未送达"
    change.save(update_fields=["is_emergency", "emergency_reason"])
    change_request_notify_and_apply(
        change=change, method="phone", actor=window_staff, now=MARK + dt.timedelta(minutes=10)
    )
    change.refresh_from_db()
    assert change.state == ChangeRequest.State.APPLIED and change.notice_method == "phone"


def test_622_an_undelivered_notice_has_staff_phone_at_once(
    client, aliyun, change, approver, desk, window_staff
):
    message = approve_and_send(change, approver, at=START - dt.timedelta(hours=20))
    receipt_push(client, message, delivered_at=START - dt.timedelta(hours=19), success=False)
    change.refresh_from_db()
    assert change.state == ChangeRequest.State.APPROVED
    assert {a.recipient for a in phone_alerts()} == {approver, desk, window_staff}


def test_622_an_emergency_under_8_hours_sends_no_sms_and_staff_phone(
    aliyun, change, approver, desk, window_staff
):
    change_request_approve(
        change=change,
        actor=approver,
        now=START - dt.timedelta(hours=7),
        emergency_reason="窗口系统故障",
    )
    assert not Message.objects.filter(purpose=Message.Purpose.CHANGE_NOTICE).exists()
    assert aliyun.sent == []
    assert {a.recipient for a in phone_alerts()} == {approver, desk, window_staff}


def test_622_a_notice_delivered_after_its_change_was_withdrawn_alerts_who_withdrew_it(
    client, aliyun, change, approver, window_staff
):
    """Withdrawn while its notice was on its way: the applicant has it, the change cannot apply
    any more, so whoever decided last (the staff member who withdrew it) hears at once."""
    from appointments.services import change_request_withdraw

    message = approve_and_send(change, approver, at=START - dt.timedelta(hours=20))
    change_request_withdraw(
        change=change,
        reason="申请人来电另约",
        actor=window_staff,
        now=START - dt.timedelta(hours=19),
    )
    receipt_push(client, message, delivered_at=START - dt.timedelta(hours=19, minutes=-1))
    change.refresh_from_db()
    assert change.state == ChangeRequest.State.WITHDRAWN
    [alert] = Alert.objects.filter(kind=Alert.Kind.CHANGE_NOT_APPLIED)
    assert alert.recipient == window_staff
