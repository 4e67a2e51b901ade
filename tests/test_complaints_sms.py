"""The complainant is told by SMS (GB/T 36113, DB1403/T 7.3): the tracking number when
registered, the reason when not accepted, the reply when replying by text message."""

import pytest
from django.core.exceptions import ValidationError

from complaints.services import (
    complaint_accept,
    complaint_decide,
    complaint_investigate,
    complaint_refuse,
    complaint_register,
    complaint_reply,
)
from sms.models import Message

from .conftest import at

P = Message.Purpose
NOW = at(2026, 9, 14, 10, 0)  # a Monday


@pytest.fixture
def complaint(desk, no_rest_window, head):
    return complaint_register(
        channel="on_site",
        category="attitude",
        complainant_name="李四",
        complainant_phone="13800138000",
        text="窗口人员态度生硬。",
        window=no_rest_window,
        staff=head,
        actor=desk,
        now=NOW,
    )


@pytest.fixture
def decided(complaint, supervisor, no_rest_window, head):
    complaint_accept(complaint=complaint, actor=supervisor, now=NOW)
    complaint_investigate(complaint=complaint, findings="属实。", actor=supervisor, now=NOW)
    return complaint_decide(
        complaint=complaint,
        substantiated=True,
        window=no_rest_window,
        staff=head,
        measures="批评教育。",
        actor=supervisor,
        now=NOW,
    )


def texts(purpose):
    return list(Message.objects.filter(purpose=purpose).values_list("phone", "text"))


def test_registration_texts_the_tracking_number_and_acceptance_date_gbt36113(complaint):
    [(phone, text)] = texts(P.COMPLAINT_RECEIVED)
    assert phone.as_e164 == "+8613800138000"
    assert complaint.tracking_number in text
    assert "2026-09-15" in text


def test_a_landline_complainant_gets_no_text(desk, no_rest_window):
    complaint_register(
        channel="phone",
        category="delay",
        complainant_name="王五",
        complainant_phone="03532021234",
        text="等了很久。",
        window=no_rest_window,
        actor=desk,
        now=NOW,
    )
    assert texts(P.COMPLAINT_RECEIVED) == []


def test_not_accepted_texts_the_reason_gbt36113(complaint, supervisor):
    complaint_refuse(complaint=complaint, reason="duplicate", actor=supervisor, now=NOW)
    [(_phone, text)] = texts(P.COMPLAINT_NOT_ACCEPTED)
    assert complaint.tracking_number in text
    assert str(complaint.get_refusal_reason_display()) in text


@pytest.mark.parametrize("method, sent", [("sms", 1), ("phone", 0), ("letter", 0)])
def test_only_a_reply_by_text_message_is_texted_gbt36113(decided, supervisor, method, sent):
    complaint_reply(
        complaint=decided, method=method, text="已批评教育，向您致歉。", actor=supervisor, now=NOW
    )
    replies = texts(P.COMPLAINT_REPLY)
    assert len(replies) == sent
    if sent:
        assert "已批评教育，向您致歉。" in replies[0][1]


def test_a_refused_step_texts_nothing(complaint, supervisor):
    """A reply before the decision is refused; no reply text goes out."""
    with pytest.raises(ValidationError):
        complaint_reply(complaint=complaint, method="sms", text="x", actor=supervisor, now=NOW)
    assert texts(P.COMPLAINT_REPLY) == []
