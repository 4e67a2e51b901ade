"""Complaints from citizens (GB/T 36113 投诉渠道, DB1403/T 7.3): the form on the site without
JavaScript, the JSON endpoints beside the booking API, and the progress look-up with the
tracking number and an SMS code."""

import datetime as dt
import re

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from complaints.models import Complaint, ComplaintState
from complaints.services import (
    complaint_accept,
    complaint_decide,
    complaint_investigate,
    complaint_refuse,
    complaint_reply,
)
from duty.models import Window
from sms.models import VerificationCode
from tests.conftest import at

S = ComplaintState
NOW = at(2026, 9, 14, 10, 0)  # a Monday
MOBILE = "137 0013 7000"
E164 = "+8613700137000"
NEW = reverse("complaints_public:new")
VERIFY = reverse("complaints_public:verify")
TRACK = reverse("complaints_public:lookup")
TRACK_VERIFY = reverse("complaints_public:lookup_verify")


@pytest.fixture
def site(client, db):
    cache.clear()
    with time_machine.travel(NOW, tick=False) as traveller:
        client.traveller = traveller
        yield client


def details(no_rest_window, **extra):
    return {
        "category": "attitude",
        "text": "窗口人员态度生硬，不耐烦。",
        "window": no_rest_window.pk,
        "complainant_name": "李娜",
        "phone": MOBILE,
        "identity_withheld": "on",
        **extra,
    }


def file_through(site, sms_inbox, no_rest_window, e164=E164, **extra):
    response = site.post(NEW, details(no_rest_window, **extra))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == VERIFY
    return site.post(VERIFY, {"code": sms_inbox.last_code(e164)})


def track(site, sms_inbox, tracking_number, phone=MOBILE, e164=E164):
    site.traveller.shift(dt.timedelta(seconds=61))  # a new code may be asked after a minute
    response = site.post(TRACK, {"tracking_number": tracking_number, "phone": phone})
    assert response.status_code == 302, response.content.decode()[:3000]
    return site.post(TRACK_VERIFY, {"code": sms_inbox.last_code(e164)})


# --- the form ---------------------------------------------------------------------------------


def test_home_links_to_the_complaint_form(site, hall):
    page = site.get(reverse("public:home")).content.decode()
    assert NEW in page


def test_citizen_files_a_complaint_and_gets_a_tracking_number(
    site, sms_inbox, hall, no_rest_window
):
    """GB/T 36113, DB1403/T 7.3: online channel, mobile proven by SMS, tracking number shown."""
    response = file_through(site, sms_inbox, no_rest_window)
    complaint = Complaint.objects.get()
    assert response["Location"] == reverse(
        "complaints_public:detail", args=[complaint.tracking_number]
    )
    assert complaint.channel == "online"
    assert complaint.state == S.REGISTERED
    assert complaint.complainant_phone.as_e164 == E164
    assert complaint.identity_withheld is True
    assert complaint.window == no_rest_window
    assert complaint.registered_by is None
    assert complaint.accept_due == dt.date(2026, 9, 15)
    assert complaint.steps.get().actor is None
    page = site.get(response["Location"]).content.decode()
    assert complaint.tracking_number in page
    assert "2026-09-15" in page  # answer by
    # The code is spent.
    assert VerificationCode.objects.get().used_at is not None


def test_one_hall_needs_no_hall_choice_two_halls_do(site, hall, other_hall, no_rest_window):
    page = site.get(NEW).content.decode()
    assert 'name="hall"' in page and 'type="hidden" name="hall"' not in page
    response = site.post(NEW, details(no_rest_window))
    assert response.status_code == 200
    assert 'id="id_hall_errors"' in response.content.decode()
    # A window of another hall than the one chosen.
    response = site.post(NEW, details(no_rest_window, hall=other_hall.pk))
    assert 'id="id_window_errors"' in response.content.decode()


@pytest.mark.parametrize(
    "field, value",
    [("text", ""), ("text", "   "), ("text", "长" * 5001), ("complainant_name", ""), ("phone", "")],
)
def test_empty_or_oversize_input_is_refused_next_to_the_field(
    site, sms_inbox, hall, no_rest_window, field, value
):
    """DB1403/T 7.3: bad input gets a clear message by its field; no code, nothing saved."""
    response = site.post(NEW, details(no_rest_window, **{field: value}))
    assert response.status_code == 200
    assert f'id="id_{field}_errors"' in response.content.decode()
    assert not sms_inbox.messages()
    assert not Complaint.objects.exists()


def test_landline_is_refused_next_to_the_phone_field(site, hall, no_rest_window):
    response = site.post(NEW, details(no_rest_window, phone="0353 202 1012"))
    assert 'id="id_phone_errors"' in response.content.decode()


def test_wrong_code_is_shown_and_nothing_is_filed(site, sms_inbox, hall, no_rest_window):
    site.post(NEW, details(no_rest_window))
    code = sms_inbox.last_code(E164)
    wrong = "111111" if code != "111111" else "222222"
    page = site.post(VERIFY, {"code": wrong}).content.decode()
    assert re.search(r'id="id_code_errors"[^>]*>.*4', page, re.S)
    assert not Complaint.objects.exists()
    # The right code still works.
    response = site.post(VERIFY, {"code": code})
    assert response.status_code == 302 and Complaint.objects.count() == 1


def test_verify_without_a_draft_goes_back_to_the_form(site, hall):
    assert site.get(VERIFY)["Location"] == NEW


def test_booking_reference_must_be_the_citizens_own(site, sms_inbox, hall, no_rest_window, online):
    """A booking is linked only if it was made with the same mobile number; otherwise the
    citizen is sent back with a message, and the code stays usable."""
    site.post(NEW, details(no_rest_window, booking_reference=online.reference))
    response = site.post(VERIFY, {"code": sms_inbox.last_code(E164)})
    assert response["Location"] == NEW
    assert not Complaint.objects.exists()
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("预约" in m or "booking" in m for m in messages)
    # With the booking's own number (王芳's 13900139000) it is linked.
    response = file_through(
        site,
        sms_inbox,
        no_rest_window,
        phone="13900139000",
        e164="+8613900139000",
        booking_reference=online.reference.lower(),
    )
    complaint = Complaint.objects.get()
    assert complaint.appointment == online


def test_submissions_are_rate_limited(site, sms_inbox, hall, no_rest_window, settings):
    settings.RATE_LIMIT_COMPLAINT = (1, 600)
    site.post(NEW, details(no_rest_window))
    code = sms_inbox.last_code(E164)
    site.post(VERIFY, {"code": "000000" if code != "000000" else "111111"})
    page = site.post(VERIFY, {"code": code}).content.decode()
    assert "请求过于频繁" in page
    assert not Complaint.objects.exists()


# --- following the progress -------------------------------------------------------------------


@pytest.fixture
def filed(site, sms_inbox, hall, no_rest_window):
    file_through(site, sms_inbox, no_rest_window)
    site.cookies.clear()  # a new visit: nothing proven
    return Complaint.objects.get()


def test_progress_needs_proof(site, filed):
    url = reverse("complaints_public:detail", args=[filed.tracking_number])
    assert site.get(url).status_code == 404


def test_progress_shows_dates_and_reply_but_no_staff_or_notes(
    site, sms_inbox, filed, supervisor, head
):
    """GB/T 36113, DB1403/T 7.3: the complainant sees the state, the date of each step and the
    reply; never the findings, the measures or who handled it."""
    complaint_accept(complaint=filed, actor=supervisor, now=at(2026, 9, 14, 11, 0))
    complaint_investigate(
        complaint=filed, findings="内部调查记录XYZ", actor=supervisor, now=at(2026, 9, 15, 9, 0)
    )
    complaint_decide(
        complaint=filed,
        substantiated=True,
        staff=head,
        measures="内部处理措施ABC",
        actor=supervisor,
        now=at(2026, 9, 15, 10, 0),
    )
    complaint_reply(
        complaint=filed,
        method="sms",
        text="经核实属实，已对相关人员批评教育。",
        actor=supervisor,
        now=at(2026, 9, 15, 11, 0),
    )
    response = track(site, sms_inbox, filed.tracking_number.lower())
    assert response["Location"] == reverse("complaints_public:detail", args=[filed.tracking_number])
    page = site.get(response["Location"]).content.decode()
    assert "经核实属实" in page
    for date in ("2026-09-14 10:00", "2026-09-14 11:00", "2026-09-15 09:00", "2026-09-15 11:00"):
        assert date in page
    for secret in ("内部调查记录XYZ", "内部处理措施ABC", "supervisor", ">head<"):
        assert secret not in page


def test_not_accepted_shows_the_reason(site, sms_inbox, filed, supervisor):
    complaint_refuse(
        complaint=filed, reason="outside_service", note="内部备注", actor=supervisor, now=NOW
    )
    response = track(site, sms_inbox, filed.tracking_number)
    page = site.get(response["Location"]).content.decode()
    assert "不属于政务服务范围" in page or "outside government service" in page
    assert "内部备注" not in page


def test_unknown_number_and_wrong_phone_get_the_same_answer(site, sms_inbox, filed):
    answers = []
    for tracking, phone, e164 in (
        ("ZZZZZZZZZZ", MOBILE, E164),
        (filed.tracking_number, "139 0013 9000", "+8613900139000"),
    ):
        response = track(site, sms_inbox, tracking, phone, e164)
        assert response["Location"] == TRACK
        page = site.get(TRACK).content.decode()
        answers.append(re.findall(r'<ul class="messages">.*?</ul>', page, re.S))
    assert answers[0]
    assert answers[0] == answers[1]


def test_wrong_code_in_the_look_up(site, sms_inbox, filed):
    site.traveller.shift(dt.timedelta(seconds=61))
    site.post(TRACK, {"tracking_number": filed.tracking_number, "phone": MOBILE})
    code = sms_inbox.last_code(E164)
    page = site.post(TRACK_VERIFY, {"code": "000000" if code != "000000" else "111111"})
    assert 'id="id_code_errors"' in page.content.decode()


# --- the JSON API -----------------------------------------------------------------------------


def post(client, path, payload, **extra):
    return client.post(path, payload, content_type="application/json", **extra)


def api_code(site, sms_inbox, phone=MOBILE, e164=E164):
    site.traveller.shift(dt.timedelta(seconds=61))
    response = post(site, "/api/v1/verification-codes/", {"phone": phone})
    assert response.status_code == 202, response.json()
    return sms_inbox.last_code(e164)


def api_payload(no_rest_window, code, **extra):
    return {
        "category": "delay",
        "text": "等了两个小时。",
        "window": no_rest_window.pk,
        "name": "王五",
        "phone": MOBILE,
        "code": code,
        **extra,
    }


def test_api_files_and_follows_a_complaint(site, sms_inbox, hall, no_rest_window, supervisor):
    """GB/T 36113, DB1403/T 7.3: the JSON channel beside the booking API."""
    code = api_code(site, sms_inbox)
    response = post(site, "/api/v1/complaints/", api_payload(no_rest_window, code))
    assert response.status_code == 201, response.json()
    body = response.json()
    complaint = Complaint.objects.get()
    assert body["tracking_number"] == complaint.tracking_number
    assert body["state"] == "registered" and body["accept_due"] == "2026-09-15"
    assert complaint.channel == "online" and complaint.identity_withheld is False
    complaint_refuse(
        complaint=complaint, reason="duplicate", actor=supervisor, now=at(2026, 9, 14, 11, 0)
    )
    code = api_code(site, sms_inbox)
    response = post(
        site,
        "/api/v1/complaints/progress",
        {"tracking_number": complaint.tracking_number, "phone": MOBILE, "code": code},
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["state"] == "not_accepted" and body["refusal_reason"]
    assert [s["state"] for s in body["steps"]] == ["registered", "not_accepted"]
    assert body["steps"][1]["at"] == "2026-09-14T11:00:00+08:00"  # Beijing time, as shown
    assert "supervisor" not in response.content.decode()


@pytest.mark.parametrize(
    "change, field",
    [
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "x" * 5001}, "text"),
        ({"name": ""}, "name"),
        ({"category": "nonsense"}, "category"),
        ({"window": 0}, "window"),
        ({"booking_reference": "<script>"}, "booking_reference"),
        ({"phone": "12"}, "phone"),
        ({"hall": 999999}, "hall"),
    ],
)
def test_api_bad_input_is_422_per_field(site, sms_inbox, hall, no_rest_window, change, field):
    response = post(site, "/api/v1/complaints/", api_payload(no_rest_window, "123456", **change))
    assert response.status_code == 422, response.content
    fields = {tuple(item["loc"])[-1] for item in response.json()["detail"]}
    assert field in fields, response.json()
    assert not Complaint.objects.exists()


def test_api_window_of_another_hall_and_wrong_code(
    site, sms_inbox, hall, other_hall, no_rest_window
):
    elsewhere = Window.objects.create(hall=other_hall, number="B1", name="x")
    code = api_code(site, sms_inbox)
    payload = api_payload(elsewhere, code, hall=hall.pk)
    response = post(site, "/api/v1/complaints/", payload)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "window"
    wrong = "000000" if code != "000000" else "111111"
    response = post(site, "/api/v1/complaints/", api_payload(no_rest_window, wrong, hall=hall.pk))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "code"
    # Two halls and none named.
    response = post(site, "/api/v1/complaints/", api_payload(no_rest_window, code))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "hall"
    assert not Complaint.objects.exists()


def test_api_unknown_number_and_wrong_phone_are_the_same_404(site, sms_inbox, hall, no_rest_window):
    code = api_code(site, sms_inbox)
    post(site, "/api/v1/complaints/", api_payload(no_rest_window, code))
    complaint = Complaint.objects.get()
    answers = []
    for tracking, phone, e164 in (
        ("ZZZZZZZZZZ", MOBILE, E164),
        (complaint.tracking_number, "13900139000", "+8613900139000"),
    ):
        code = api_code(site, sms_inbox, phone, e164)
        response = post(
            site,
            "/api/v1/complaints/progress",
            {"tracking_number": tracking, "phone": phone, "code": code},
        )
        assert response.status_code == 404
        answers.append(response.json())
    assert answers[0] == answers[1]
    response = post(
        site,
        "/api/v1/complaints/progress",
        {"tracking_number": "", "phone": MOBILE, "code": "1"},
    )
    assert response.status_code == 422


def test_api_is_rate_limited(site, hall, no_rest_window, settings):
    settings.RATE_LIMIT_COMPLAINT = (2, 600)
    settings.RATE_LIMIT_LOOKUP = (1, 600)
    statuses = [
        post(site, "/api/v1/complaints/", api_payload(no_rest_window, "123456")).status_code
        for _ in range(3)
    ]
    assert statuses == [422, 422, 429]
    progress = {"tracking_number": "ABCDEFGHJK", "phone": MOBILE, "code": "123456"}
    statuses = [post(site, "/api/v1/complaints/progress", progress).status_code for _ in range(2)]
    assert statuses == [422, 429]


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        '{"text": null}',
        '{"category": "attitude", "text": "\\u0000", "name": "x", "phone": "1", "code": "1"}',
    ],
)
def test_api_garbage_is_4xx_never_5xx(site, hall, body):
    response = site.post("/api/v1/complaints/", body, content_type="application/json")
    assert 400 <= response.status_code < 500
