"""The citizen JSON API (/api/v1/): matters, availability, codes, booking, look-up, cancel."""

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache

from appointments.models import Appointment, Status
from sms.models import Message, VerificationCode
from tests.conftest import START, at, roster_standing

MOBILE = "13700137000"
E164 = "+8613700137000"
# Three days before START (Wednesday 2026-09-16 12:00, lunch break): bookable.
NOW = START - dt.timedelta(days=3)


@pytest.fixture
def api(client, db):
    cache.clear()
    return client


def post(client, path, payload):
    return client.post(path, payload, content_type="application/json")


def get_code(api, sms_inbox, phone=MOBILE, e164=E164):
    response = post(api, "/api/v1/verification-codes/", {"phone": phone})
    assert response.status_code == 202, response.json()
    return sms_inbox.last_code(e164)


def booking(matter, window, start=START, code="000000", **extra):
    return {
        "matter": matter.pk,
        "window": window.pk,
        "start": start.isoformat(),
        "name": "李娜",
        "phone": MOBILE,
        "code": code,
        "content": "办理营业执照",
        **extra,
    }


def book(api, sms_inbox, matter, window, start=START, **extra):
    code = get_code(api, sms_inbox, extra.get("phone", MOBILE), extra.pop("e164", E164))
    return post(api, "/api/v1/appointments/", booking(matter, window, start, code, **extra))


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


# --- matters and the OpenAPI document ---------------------------------------------------------


def test_openapi_document_lists_every_endpoint(api):
    document = api.get("/api/v1/openapi.json").json()
    assert set(document["paths"]) >= {
        "/api/v1/matters/",
        "/api/v1/matters/{matter_id}/",
        "/api/v1/availability/",
        "/api/v1/verification-codes/",
        "/api/v1/appointments/",
        "/api/v1/appointments/{reference}/",
        "/api/v1/appointments/{reference}/cancel",
    }


def test_matters_carry_the_one_time_notice_and_windows(api, matter):
    """DB1403/T 6.1.3: the materials to bring are told in one go."""
    [listed] = api.get("/api/v1/matters/").json()
    assert listed["materials"] == ["经营者身份证原件", "经营场所使用证明"]
    assert [w["number"] for w in listed["windows"]] == ["A01", "A02"]
    assert api.get(f"/api/v1/matters/{matter.pk}/").json()["name"] == "个体工商户设立登记"
    assert api.get("/api/v1/matters/?q=食品").json() == []


def test_unknown_or_absurd_matter_ids_are_4xx(api, matter):
    assert api.get("/api/v1/matters/999999/").status_code == 404
    assert api.get(f"/api/v1/matters/{10**30}/").status_code == 422
    assert api.get("/api/v1/matters/abc/").status_code in (404, 422)


# --- availability -----------------------------------------------------------------------------


def slots_at(api, matter, day: dt.date, to: dt.date | None = None):
    response = api.get(
        f"/api/v1/availability/?matter={matter.pk}&from={day}&to={to or day}",
    )
    assert response.status_code == 200, response.json()
    return response.json()


def test_availability_starts_exactly_24_hours_ahead(api, matter, no_rest_window):
    """DB1403/T 5.1.1: a slot 24 h ahead is offered, one 23 h 59 min ahead is not."""
    day = START.date()
    with time_machine.travel(START - dt.timedelta(hours=24), tick=False):
        starts = {s["start"] for s in slots_at(api, matter, day)}
    assert START.isoformat() in starts
    with time_machine.travel(START - dt.timedelta(hours=23, minutes=59), tick=False):
        starts = {s["start"] for s in slots_at(api, matter, day)}
    assert START.isoformat() not in starts


def test_availability_marks_off_hours_weekend_and_holiday(api, matter, frozen):
    """DB1403/T 4: lunch on a working day is off-hours; 10-01 is National Day; 09-19 Saturday."""
    kinds = {s["start"]: s["time_kind"] for s in slots_at(api, matter, START.date())}
    assert kinds[START.isoformat()] == "off_hours"
    assert kinds[at(2026, 9, 16, 9, 0).isoformat()] == "working"
    frozen.move_to(at(2026, 9, 17, 9))
    holiday = slots_at(api, matter, dt.date(2026, 10, 1))
    assert {s["time_kind"] for s in holiday} == {"holiday"}
    assert holiday[0]["holiday_name"] == "国庆节"
    assert {s["window"] for s in holiday} == {matter.windows.get(is_no_rest=True).pk}
    weekend = slots_at(api, matter, dt.date(2026, 9, 19))
    assert {s["time_kind"] for s in weekend} == {"weekend"}


def test_availability_counts_places_left(api, sms_inbox, matter, no_rest_window, frozen):
    assert book(api, sms_inbox, matter, no_rest_window).status_code == 201
    [slot] = [s for s in slots_at(api, matter, START.date()) if s["start"] == START.isoformat()]
    assert (slot["capacity"], slot["remaining"]) == (2, 1)


def test_availability_query_count_does_not_grow_with_days_or_windows(
    api,
    matter,
    hall,
    department,
    head,
    frozen,
    django_assert_max_num_queries,
    django_capture_on_commit_callbacks,
):
    """An answer computed afresh (nothing of it kept in the process, the days' tokens in the
    cache as after a first look) costs the same queries for one day of two windows as for 31
    days of twelve."""
    from appointments.availability_cache import availability_local_clear
    from duty.models import Window

    def computed(day, to):
        slots_at(api, matter, day, to)
        availability_local_clear()
        # The version and the tokens, the matter and its windows, the calendar, periods and
        # duties (DB1403/T 5.2), slot capacities, one grouped count of bookings.
        with django_assert_max_num_queries(12) as counted:
            answer = slots_at(api, matter, day, to)
        return answer, len(counted.captured_queries)

    one, queries = computed(START.date(), START.date())
    assert one
    with django_capture_on_commit_callbacks(execute=True):
        for number in range(3, 13):
            window = Window.objects.create(
                hall=hall, number=f"A{number:02}", name="综合", is_no_rest=True
            )
            window.departments.add(department)
            matter.windows.add(window)
            roster_standing(window, head, START.date(), START.date() + dt.timedelta(days=30))
    many, queries_many = computed(START.date(), START.date() + dt.timedelta(days=30))
    assert queries_many == queries
    assert len(many) > 1000


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-09-20&to=2026-09-10",  # to before from
        "from=2026-09-13&to=2026-12-31",  # too long a range
        "from=2026-09-13&to=2026-09-13x",  # not a date
        "from=&to=",
    ],
)
def test_availability_rejects_bad_ranges(api, matter, frozen, query):
    response = api.get(f"/api/v1/availability/?matter={matter.pk}&{query}")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "query"


# --- verification codes -----------------------------------------------------------------------


def test_code_is_sent_by_sms_and_stored_only_hashed(api, sms_inbox, frozen):
    code = get_code(api, sms_inbox)
    stored = VerificationCode.objects.get()
    assert code not in stored.code_hash
    logged = Message.objects.get(purpose=Message.Purpose.VERIFICATION)
    assert logged.status == Message.Status.DELIVERED
    assert code not in logged.text and "******" in logged.text


def test_code_requests_are_limited_per_number_per_hour(api, sms_inbox, frozen, settings):
    for _attempt in range(settings.VERIFICATION_CODES_PER_NUMBER_PER_HOUR):
        get_code(api, sms_inbox)
        frozen.shift(dt.timedelta(seconds=settings.VERIFICATION_CODE_RESEND_SECONDS))
    response = post(api, "/api/v1/verification-codes/", {"phone": MOBILE})
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "too_many_codes"
    frozen.shift(dt.timedelta(hours=1))
    get_code(api, sms_inbox)


def test_a_code_is_not_resent_within_a_minute(api, sms_inbox, frozen):
    get_code(api, sms_inbox)
    frozen.shift(dt.timedelta(seconds=59))
    response = post(api, "/api/v1/verification-codes/", {"phone": MOBILE})
    assert response.json()["detail"][0]["type"] == "resend_too_soon"


def test_code_requests_are_limited_per_client_address(api, sms_inbox, frozen, settings):
    settings.VERIFICATION_CODES_PER_ADDRESS_PER_HOUR = 3
    for n in range(3):
        get_code(api, sms_inbox, f"1370013700{n}", f"+861370013700{n}")
    response = post(api, "/api/v1/verification-codes/", {"phone": "13700137009"})
    assert response.json()["detail"][0]["type"] == "too_many_codes"


def test_requests_per_client_address_are_rate_limited(api, frozen, settings):
    settings.RATE_LIMIT_VERIFICATION = (2, 600)
    statuses = [
        post(api, "/api/v1/verification-codes/", {"phone": "010-12345678"}).status_code
        for _ in range(3)
    ]
    assert statuses == [422, 422, 429]


@pytest.mark.parametrize("phone", ["010 1234 5678", "12345", "", "+1 202 555 0100"])
def test_codes_go_only_to_chinese_mobile_numbers(api, frozen, phone):
    response = post(api, "/api/v1/verification-codes/", {"phone": phone})
    assert response.status_code == 422


# --- booking ----------------------------------------------------------------------------------


def test_booking_waits_for_the_window_to_confirm(api, sms_inbox, matter, no_rest_window, frozen):
    """DB1403/T 5.1.3 c: an online booking is 'waiting for the window to confirm'."""
    response = book(api, sms_inbox, matter, no_rest_window, phone="137 0013 7000")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == Status.PENDING
    assert body["start"] == START.isoformat()
    appointment = Appointment.objects.get(reference=body["reference"])
    assert appointment.channel == "online" and str(appointment.phone) == "137 0013 7000"
    assert body["token"]
    assert (
        Message.objects.about(appointment).filter(purpose=Message.Purpose.BOOKING_RECEIVED).exists()
    )


def test_a_naive_time_is_read_in_shanghai(api, sms_inbox, matter, no_rest_window, frozen):
    code = get_code(api, sms_inbox)
    payload = booking(matter, no_rest_window, code=code)
    payload["start"] = "2026-09-16T12:00:00"
    assert post(api, "/api/v1/appointments/", payload).status_code == 201
    payload_utc = START.astimezone(dt.UTC).isoformat()
    assert Appointment.objects.get().start.isoformat() == payload_utc


def test_times_are_answered_in_beijing_time_whatever_offset_they_came_in(
    api, sms_inbox, matter, no_rest_window, frozen
):
    """A booking sent in UTC (…Z) is answered, looked up and listed at +08:00, as the pages and
    the register show it; read back from the database it is the same moment."""
    code = get_code(api, sms_inbox)
    payload = booking(matter, no_rest_window, code=code)
    payload["start"] = START.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    made = post(api, "/api/v1/appointments/", payload).json()
    beijing = "2026-09-16T12:00:00+08:00"
    assert (made["start"], made["may_cancel_until"]) == (beijing, "2026-09-16T10:00:00+08:00")
    looked_up = api.get(f"/api/v1/appointments/{made['reference']}/", {"token": made["token"]})
    assert looked_up.json()["start"] == beijing and looked_up.json()["end"].endswith("+08:00")
    slots = slots_at(api, matter, START.date())
    assert slots and all(s["start"].endswith("+08:00") for s in slots)


def test_booking_23h59_ahead_is_refused_24h_accepted(api, sms_inbox, matter, no_rest_window):
    """DB1403/T 5.1.1: at least 24 h ahead."""
    with time_machine.travel(START - dt.timedelta(hours=23, minutes=59), tick=False):
        response = book(api, sms_inbox, matter, no_rest_window)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "start"]
    with time_machine.travel(START - dt.timedelta(hours=24), tick=False):
        code = sms_inbox.last_code(E164)  # the same code, still unused and within 5 minutes
        response = post(api, "/api/v1/appointments/", booking(matter, no_rest_window, code=code))
    assert response.status_code == 201


def test_full_slot_is_409_and_keeps_the_code(api, sms_inbox, matter, no_rest_window, frozen):
    for n in range(2):
        phone = f"1390013900{n}"
        assert (
            book(
                api, sms_inbox, matter, no_rest_window, phone=phone, e164=f"+86{phone}"
            ).status_code
            == 201
        )
    code = get_code(api, sms_inbox)
    full = post(api, "/api/v1/appointments/", booking(matter, no_rest_window, code=code))
    assert full.status_code == 409
    later = START + dt.timedelta(minutes=30)
    again = post(api, "/api/v1/appointments/", booking(matter, no_rest_window, later, code))
    assert again.status_code == 201


def test_wrong_codes_are_counted_and_the_fifth_kills_the_code(
    api, sms_inbox, matter, no_rest_window, frozen
):
    code = get_code(api, sms_inbox)
    wrong = "000000" if code != "000000" else "111111"
    types = [
        post(api, "/api/v1/appointments/", booking(matter, no_rest_window, code=wrong)).json()[
            "detail"
        ][0]["type"]
        for _ in range(5)
    ]
    assert types == ["wrong_code"] * 4 + ["code_dead"]
    response = post(api, "/api/v1/appointments/", booking(matter, no_rest_window, code=code))
    assert response.json()["detail"][0]["type"] == "code_dead"
    assert not Appointment.objects.exists()


def test_code_expires_after_five_minutes(api, sms_inbox, matter, no_rest_window, frozen):
    code = get_code(api, sms_inbox)
    frozen.shift(dt.timedelta(minutes=5))
    response = post(api, "/api/v1/appointments/", booking(matter, no_rest_window, code=code))
    assert response.json()["detail"][0]["type"] == "code_expired"


def test_code_works_4_min_59_after_sending(api, sms_inbox, matter, no_rest_window, frozen):
    code = get_code(api, sms_inbox)
    frozen.shift(dt.timedelta(minutes=4, seconds=59))
    response = post(api, "/api/v1/appointments/", booking(matter, no_rest_window, code=code))
    assert response.status_code == 201


def test_a_code_books_once(api, sms_inbox, matter, no_rest_window, frozen):
    code = get_code(api, sms_inbox)
    first = post(api, "/api/v1/appointments/", booking(matter, no_rest_window, code=code))
    assert first.status_code == 201
    later = START + dt.timedelta(days=1)
    response = post(api, "/api/v1/appointments/", booking(matter, no_rest_window, later, code))
    assert response.json()["detail"][0]["type"] == "code_used"


def test_the_same_request_repeated_after_a_lost_answer_gets_its_booking_not_code_used(
    api, sms_inbox, matter, no_rest_window, frozen
):
    """A web instance died after committing the booking and before answering; the client sends
    the same request again with the code it used up: it is answered with that booking (once),
    not told "code used" about a booking it holds. Another slot with that code is still refused,
    and so is the same slot with a wrong code."""
    code = get_code(api, sms_inbox)
    first = post(api, "/api/v1/appointments/", booking(matter, no_rest_window, code=code))
    frozen.shift(dt.timedelta(seconds=2))
    again = post(api, "/api/v1/appointments/", booking(matter, no_rest_window, code=code))
    assert again.status_code == 201
    assert again.json()["reference"] == first.json()["reference"]
    assert Appointment.objects.count() == 1
    later = START + dt.timedelta(days=1)
    other = post(api, "/api/v1/appointments/", booking(matter, no_rest_window, later, code))
    assert other.json()["detail"][0]["type"] == "code_used"
    wrong = "000000" if code != "000000" else "111111"
    guessed = post(api, "/api/v1/appointments/", booking(matter, no_rest_window, code=wrong))
    assert guessed.json()["detail"][0]["type"] == "code_used"


def test_a_number_holds_at_most_three_open_bookings(
    api, sms_inbox, matter, no_rest_window, frozen, settings
):
    for day in range(3):
        start = START + dt.timedelta(days=day)
        assert book(api, sms_inbox, matter, no_rest_window, start).status_code == 201
        frozen.shift(dt.timedelta(minutes=1))
    response = book(api, sms_inbox, matter, no_rest_window, START + dt.timedelta(days=5))
    assert response.json()["detail"][0]["type"] == "too_many_bookings"


def test_one_booking_per_number_per_matter_per_day(api, sms_inbox, matter, no_rest_window, frozen):
    assert book(api, sms_inbox, matter, no_rest_window).status_code == 201
    frozen.shift(dt.timedelta(minutes=1))
    response = book(api, sms_inbox, matter, no_rest_window, at(2026, 9, 16, 17, 0))
    assert response.json()["detail"][0]["type"] == "same_matter_same_day"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"start": at(2026, 9, 16, 12, 10).isoformat()}, "start"),  # not a slot boundary
        ({"window": "regular"}, "start"),  # a regular window does not serve at lunch
        ({"start": at(2020, 1, 1, 12, 0).isoformat()}, "start"),  # past
        ({"phone": "0353 1234567"}, "phone"),  # landline
        ({"name": "   "}, "applicant_name"),
        ({"matter": 987654}, "matter"),
        ({"window": 987654}, "window"),
    ],
)
def test_bad_bookings_are_422_on_their_field(
    api, sms_inbox, matter, regular_window, no_rest_window, frozen, change, field
):
    code = get_code(api, sms_inbox)
    payload = {**booking(matter, no_rest_window, code=code), **change}
    if change.get("window") == "regular":
        payload["window"] = regular_window.pk
    response = post(api, "/api/v1/appointments/", payload)
    assert response.status_code == 422, response.json()
    assert field in response.json()["detail"][0]["loc"]
    assert not Appointment.objects.exists()


# --- look-up and cancel -----------------------------------------------------------------------


@pytest.fixture
def made(api, sms_inbox, matter, no_rest_window, frozen):
    response = book(api, sms_inbox, matter, no_rest_window)
    assert response.status_code == 201
    return response.json()


def test_nothing_is_revealed_without_proof(api, made):
    reference = made["reference"]
    unknown = api.get("/api/v1/appointments/ZZZZZZZZ/?token=x")
    for response in (
        api.get(f"/api/v1/appointments/{reference}/"),
        api.get(f"/api/v1/appointments/{reference}/?token=forged:token"),
        api.get(f"/api/v1/appointments/{reference}/?phone={MOBILE}&code=123"),
        unknown,
    ):
        assert response.status_code in (404, 422)
        assert reference not in response.content.decode()
        assert "李娜" not in response.content.decode()
    assert api.get(f"/api/v1/appointments/{reference}/").json() == unknown.json()


def test_token_of_one_booking_does_not_open_another(api, sms_inbox, made, matter, no_rest_window):
    other = book(
        api, sms_inbox, matter, no_rest_window, phone="13600136000", e164="+8613600136000"
    ).json()
    response = api.get(f"/api/v1/appointments/{other['reference']}/?token={made['token']}")
    assert response.status_code == 404


def test_look_up_with_token_or_with_phone_and_fresh_code(api, sms_inbox, made, frozen):
    reference = made["reference"]
    by_token = api.get(f"/api/v1/appointments/{reference}/", {"token": made["token"]})
    assert by_token.json()["status"] == "pending"
    frozen.shift(dt.timedelta(minutes=2))
    code = get_code(api, sms_inbox)
    proof = {"phone": MOBILE, "code": code}
    assert api.get(f"/api/v1/appointments/{reference}/", proof).status_code == 200
    assert api.get(f"/api/v1/appointments/{reference}/", proof).status_code == 422  # used


def test_cancel_frees_the_place(api, made, matter):
    reference = made["reference"]
    response = post(api, f"/api/v1/appointments/{reference}/cancel", {"token": made["token"]})
    assert response.status_code == 200
    assert response.json()["status"] == Status.CANCELLED
    [slot] = [s for s in slots_at(api, matter, START.date()) if s["start"] == START.isoformat()]
    assert slot["remaining"] == 2


def test_cancel_is_refused_under_two_hours_before(api, made, frozen):
    reference = made["reference"]
    frozen.move_to(START - dt.timedelta(hours=1, minutes=59))
    response = post(api, f"/api/v1/appointments/{reference}/cancel", {"token": made["token"]})
    assert response.status_code == 422
    assert Appointment.objects.get().status == Status.PENDING
    frozen.move_to(START - dt.timedelta(hours=2, minutes=1))


def test_availability_answers_are_cached_until_something_changes(
    api,
    sms_inbox,
    matter,
    no_rest_window,
    frozen,
    django_assert_max_num_queries,
    django_capture_on_commit_callbacks,
):
    """A repeated question is answered from the cache without touching the tables; a booking
    makes the cached answers stale once it commits."""
    slots_at(api, matter, START.date())
    with django_assert_max_num_queries(3):  # the cache's own queries (database cache)
        again = slots_at(api, matter, START.date())
    with django_capture_on_commit_callbacks(execute=True):
        assert book(api, sms_inbox, matter, no_rest_window).status_code == 201
    [slot] = [s for s in slots_at(api, matter, START.date()) if s["start"] == START.isoformat()]
    assert slot["remaining"] == 1
    assert [s for s in again if s["start"] == START.isoformat()][0]["remaining"] == 2
