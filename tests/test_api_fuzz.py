"""Bad input at every endpoint of the citizen API (issue 4, "Bad input"), property-based.

Every field of every endpoint gets wrong types (numbers, lists, objects, null, booleans), empty
values, 10 000-character strings, HTML and script, NUL and other odd characters (𠮷, RTL marks,
lone surrogates), past times, times off a slot boundary, far-future dates, unknown, huge and
negative ids, and bodies that are not JSON, mixed with valid values so that the checks behind
the schema are reached too. Whatever arrives: never a 5xx, a 4xx says what is wrong in
"detail", and a request that does not succeed leaves nothing behind in the database.
"""

import datetime as dt
import itertools
import json
import re
from pathlib import Path
from urllib.parse import quote, unquote, urlencode

import pytest
import time_machine
from django.core.cache import cache
from django.urls import Resolver404, resolve
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from appointments.models import Appointment, AppointmentEvent, ParallelTask, Slot, Status
from appointments.slots import window_availability
from sms.models import Message, VerificationCode
from sms.services import verification_code_send
from tests.conftest import SHANGHAI, START, at

NOW = START - dt.timedelta(days=3)
MOBILE = "13700137000"
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- what is thrown at the fields -------------------------------------------------------------

ODD_TEXT = [
    "",
    " ",
    "\t\n",
    "\x00",
    "138\x0000138000",
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "' OR 1=1; DROP TABLE appointments_appointment; --",
    "𠮷",
    "𠮷野家" * 20,
    "\u202e13800138000",  # right-to-left override
    "\u200f\u200e",  # RTL and LTR marks
    "\ufeff",
    "\ud800",  # a lone surrogate: JSON can carry it, UTF-8 cannot
    "x" * 10_000,
    "１３８００１３８０００",  # full-width digits
    "null",
    "NaN",
    "%00",
    "../../etc/passwd",
    "٣٤٥٦٧٨",  # Arabic-Indic digits
]
HUGE_INTS = [0, -1, -(2**31), 2**31, 2**31 - 1, 2**63, -(2**63) - 1, 10**30]
WRONG_TYPES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(HUGE_INTS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.one_of(st.integers(), st.text(max_size=5)), max_size=3),
    st.dictionaries(st.text(max_size=5), st.one_of(st.integers(), st.none()), max_size=3),
)
TEXT = st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=60))
JUNK = st.one_of(WRONG_TYPES, TEXT)
IDS = st.one_of(
    st.sampled_from([987654, *HUGE_INTS, "1", "abc", "1.5", "1e3", "", " 1", "0x10"]),
    JUNK,
)
NOT_JSON = st.one_of(
    st.sampled_from(
        [
            b"",
            b"{",
            b"null",
            b"[]",
            b'"13800138000"',
            b"1",
            b'{"phone": }',
            b"\xff\xfe\x00",
            b"phone=13800138000&code=123456",
            b'{"phone": "13800138000"}{"phone": "13800138000"}',
            b'{"phone": NaN}',
            b"[" * 5000,
        ]
    ),
    st.binary(max_size=200),
)
CONTENT_TYPES = [
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "application/xml",
]

MISSING = object()  # the field is left out


class Fresh:
    """Resolved in the test: a fresh mobile number, a fresh valid code, the real ids."""

    def __init__(self, what: str):
        self.what = what

    def __repr__(self):
        return f"<{self.what}>"


PHONE, CODE, TOKEN, REFERENCE = Fresh("phone"), Fresh("code"), Fresh("token"), Fresh("reference")
MATTER, WINDOW, START_OK = Fresh("matter"), Fresh("window"), Fresh("start")


def field(good, bad):
    """A field's valid values and what is thrown at it instead."""
    return good, bad


@st.composite
def mutated(draw, fields: dict):
    """A valid set of fields with a few of them (none, one, two, three or all) made bad or
    left out, so that the checks behind the schema are reached too."""
    names = list(fields)
    count = draw(st.sampled_from([0, 1, 1, 1, 1, 1, 2, 2, 3, len(names)]))
    spoilt = set(draw(st.permutations(names))[:count])
    result = {}
    for name, (good, bad) in fields.items():
        value = draw(st.one_of(bad, bad, bad, st.just(MISSING)) if name in spoilt else good)
        if value is not MISSING:
            result[name] = value
    return result


def times():
    offsets = [None, dt.UTC, SHANGHAI, dt.timezone(dt.timedelta(hours=14))]
    offsets.append(dt.timezone(-dt.timedelta(hours=12)))
    return st.one_of(
        st.sampled_from(
            [
                at(2020, 1, 1, 12).isoformat(),  # past
                (NOW - dt.timedelta(minutes=30)).isoformat(),  # just past
                (START + dt.timedelta(minutes=10)).isoformat(),  # not a slot boundary
                (START + dt.timedelta(seconds=1)).isoformat(),
                (START + dt.timedelta(microseconds=1)).isoformat(),
                (NOW + dt.timedelta(hours=23)).isoformat(),  # under 24 h ahead
                at(2099, 9, 16, 12).isoformat(),  # far future
                at(2026, 12, 30, 12).isoformat(),  # past the 60-day horizon
                "9999-12-31T23:59:59-12:00",
                "0001-01-01T00:00:00+14:00",
                "0001-01-01T00:00:00",
                "9999-12-31T23:59:59.999999",
                "2026-09-16T12:00:00",  # naive: Asia/Shanghai
                START.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
                "2026-09-16",
                "2026-02-30T12:00:00",
                "2026-09-16T25:00:00",
                "2026-09-16T12:00:00+24:00",
                "12:00",
                "2026-09-19T12:00:00+08:00",  # Saturday lunch: not served
                "now",
            ]
        ),
        st.datetimes(
            min_value=dt.datetime(1, 1, 2),
            max_value=dt.datetime(9999, 12, 30),
            timezones=st.sampled_from(offsets),
        ).map(dt.datetime.isoformat),
        st.integers(min_value=-(2**40), max_value=2**40),  # read as Unix time
        JUNK,
    )


def dates():
    return st.one_of(
        st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).map(str),
        st.sampled_from(
            ["2026-02-30", "2026-9-1", "20260916", "2026-09-16T12:00", "9999-12-31", "0000-01-01"]
        ),
        JUNK,
    )


# --- requests and the checks on every answer --------------------------------------------------

FUZZED: set[tuple[str, str]] = set()  # (method, OpenAPI path) with a fuzz test


def fuzzes(method: str, path: str):
    FUZZED.add((method, path))
    return lambda test: test


def _snapshot() -> dict:
    return {
        "appointments": sorted(Appointment.objects.values_list("pk", "status")),
        "events": AppointmentEvent.objects.count(),
        "slots": Slot.objects.count(),
        "tasks": ParallelTask.objects.count(),
        "messages": Message.objects.count(),
        "codes": VerificationCode.objects.count(),
        "codes_used": VerificationCode.objects.filter(used_at__isnull=False).count(),
    }


def _changes(before: dict, after: dict) -> dict:
    return {key: (before[key], after[key]) for key in before if before[key] != after[key]}


def _to_json(value):
    """JSON as a client might send it (NaN and Infinity included, surrogates escaped)."""
    return json.dumps(value, ensure_ascii=True).encode()


def _query_value(value):
    if value is None:
        return "null"
    if isinstance(value, list | tuple):
        return [_query_value(item) for item in value]
    # A URL carries bytes; a lone surrogate cannot be among them.
    return str(value).encode("utf-8", "replace").decode()


def _url(path: str, query: dict | None = None) -> str:
    if query:
        path += "?" + urlencode(
            {k: _query_value(v) for k, v in query.items() if v is not MISSING}, doseq=True
        )
    return path


def _segment(value) -> str:
    return quote(str(value), safe="", errors="surrogatepass")


def _routed(url: str) -> bool:
    try:
        match = resolve(unquote(url.split("?", 1)[0]))
    except Resolver404:
        return False
    return match.url_name != "healthz"


def note(outcome: str) -> None:
    """Count the outcome (pytest --hypothesis-show-statistics shows how deep the fuzz got)."""
    if currently_in_test_context():
        event(outcome)


def check(response, request_repr: str, routed: bool = True):
    body = response.content[:800]
    explain = f"{request_repr} -> {response.status_code} {body!r}"
    note(f"status {response.status_code}")
    assert response.status_code < 500, explain
    if not routed:
        # A path parameter holding "/" or nothing leaves the API: Django's own 404.
        assert response.status_code in (301, 404), explain
        return
    if 400 <= response.status_code < 500:
        detail = response.json().get("detail")
        assert detail, explain
        if isinstance(detail, list) and detail and isinstance(detail[0], dict):
            note(f"{response.status_code} {detail[0].get('type')} {detail[0].get('loc')}")
        if isinstance(detail, list):
            assert all(item.get("msg") and item.get("loc") for item in detail), explain


def get(client, url: str):
    return client.get(url)


def post(client, url: str, body):
    """``body``: a JSON payload, or (content type, raw bytes)."""
    if isinstance(body, tuple):
        content_type, raw = body
    else:
        content_type, raw = "application/json", _to_json(body)
    return client.generic("POST", url, raw, content_type=content_type)


@st.composite
def json_or_not(draw, fields: dict):
    """A JSON object of the fields (each good, bad or missing, plus maybe an unknown field),
    a JSON value that is not an object, or bytes that are not JSON at all."""
    kind = draw(st.sampled_from(["object"] * 8 + ["other json", "not json"]))
    if kind == "not json":
        return (draw(st.sampled_from(CONTENT_TYPES)), draw(NOT_JSON))
    if kind == "other json":
        return draw(st.one_of(WRONG_TYPES, TEXT))
    payload = draw(mutated(fields))
    if draw(st.integers(0, 9)) == 0:
        payload[draw(st.text(max_size=10))] = draw(JUNK)
    return payload


def _resolve(value, fresh: dict):
    if isinstance(value, Fresh):
        return fresh[value.what]()
    return value


def _resolve_body(body, fresh: dict):
    if isinstance(body, dict):
        return {key: _resolve(value, fresh) for key, value in body.items()}
    return body


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def api(client, db, settings, sms_inbox):
    cache.clear()
    settings.RATE_LIMIT_VERIFICATION = (10**9, 600)
    settings.RATE_LIMIT_BOOKING = (10**9, 600)
    settings.RATE_LIMIT_LOOKUP = (10**9, 600)
    settings.VERIFICATION_CODE_RESEND_SECONDS = 0
    settings.VERIFICATION_CODES_PER_NUMBER_PER_HOUR = 10**9
    settings.VERIFICATION_CODES_PER_NUMBER_PER_DAY = 10**9
    settings.VERIFICATION_CODES_PER_ADDRESS_PER_HOUR = 10**9
    with time_machine.travel(NOW, tick=False):
        yield client


class Citizens:
    """Fresh mobile numbers and valid codes for them (read from the file backend)."""

    def __init__(self, sms_folder: Path):
        self.folder = sms_folder
        self.numbers = (f"1370000{n:04}" for n in itertools.count())

    def phone(self) -> str:
        return next(self.numbers)

    def code(self, phone: str) -> str:
        message = verification_code_send(phone=phone, client_address=None, now=NOW)
        text = (self.folder / message.gateway_id).read_text(encoding="utf-8")
        return re.search(r"(?<!\d)(\d{6})(?!\d)", text).group(1)


@pytest.fixture
def citizens(api, sms_inbox):
    return Citizens(sms_inbox.folder)


@pytest.fixture
def bookable(matter, no_rest_window):
    """Real slot starts of the no-rest window from NOW + 24 h, in several forms."""
    slots = window_availability(
        window=no_rest_window,
        start_date=START.date(),
        end_date=START.date() + dt.timedelta(days=6),
        not_before=NOW + dt.timedelta(hours=24),
    )
    starts = [a.slot.start for a in slots][:40]
    return [s.isoformat() for s in starts] + [s.astimezone(dt.UTC).isoformat() for s in starts[:5]]


@pytest.fixture
def made(api, citizens, matter, no_rest_window):
    """A booking, with its token, for the look-up and cancel endpoints."""
    response = post(
        api,
        "/api/v1/appointments/",
        {
            "matter": matter.pk,
            "window": no_rest_window.pk,
            "start": START.isoformat(),
            "name": "李娜",
            "phone": MOBILE,
            "code": citizens.code(MOBILE),
        },
    )
    assert response.status_code == 201, response.json()
    return response.json()


# --- the endpoints ----------------------------------------------------------------------------


@fuzzes("get", "/api/v1/matters/")
@FUZZ
@given(
    query=st.fixed_dictionaries(
        {}, optional={"hall": st.one_of(IDS, st.just(1)), "q": TEXT, "extra": JUNK}
    )
)
def test_matter_list_survives_any_query(api, matter, query):
    before = _snapshot()
    url = _url("/api/v1/matters/", query)
    check(get(api, url), f"GET {url}")
    assert _snapshot() == before


@fuzzes("get", "/api/v1/matters/{matter_id}/")
@FUZZ
@given(matter_id=st.one_of(IDS, st.just(MATTER)))
def test_matter_detail_survives_any_id(api, matter, matter_id):
    value = _resolve(matter_id, {"matter": lambda: matter.pk})
    before = _snapshot()
    url = f"/api/v1/matters/{_segment(value)}/"
    check(get(api, url), f"GET {url}", _routed(url))
    assert _snapshot() == before


@fuzzes("get", "/api/v1/availability/")
@FUZZ
@given(
    query=mutated(
        {
            "matter": field(st.just(MATTER), IDS),
            "from": field(st.sampled_from(["2026-09-13", "2026-09-16"]), dates()),
            "to": field(st.sampled_from(["2026-09-16", "2026-09-20"]), dates()),
        }
    )
)
def test_availability_survives_any_query(api, matter, query):
    query = {k: _resolve(v, {"matter": lambda: matter.pk}) for k, v in query.items()}
    before = _snapshot()
    url = _url("/api/v1/availability/", query)
    check(get(api, url), f"GET {url}")
    assert _snapshot() == before


@pytest.mark.parametrize(
    "query",
    [
        "matter=1&from=%FF&to=%FF",
        "matter=%00&from=2026-09-16&to=2026-09-16",
        "matter=1&matter=2&from=2026-09-16&to=2026-09-16",
        "from=2026-09-16&to=2026-09-16",
        "",
    ],
)
def test_availability_survives_raw_query_strings(api, matter, query):
    check(api.get(f"/api/v1/availability/?{query}"), query)


@fuzzes("post", "/api/v1/verification-codes/")
@FUZZ
@given(body=json_or_not({"phone": field(st.just(PHONE), JUNK)}))
def test_verification_code_request_survives_any_body(api, citizens, body):
    body = _resolve_body(body, {"phone": citizens.phone})
    before = _snapshot()
    response = post(api, "/api/v1/verification-codes/", body)
    check(response, f"POST verification-codes {body!r:.300}")
    after = _snapshot()
    if response.status_code == 202:
        assert _changes(before, after) == {
            "codes": (before["codes"], before["codes"] + 1),
            "messages": (before["messages"], before["messages"] + 1),
        }
    else:
        assert after == before, _changes(before, after)


def _booking_fields(bookable: list[str]) -> dict:
    return {
        "matter": field(st.just(MATTER), IDS),
        "window": field(st.just(WINDOW), IDS),
        "start": field(st.one_of(st.sampled_from(bookable), st.just(START_OK)), times()),
        "name": field(st.sampled_from(["李娜", "Ａｂｄｕｌ 𠮷", "O'Brien"]), JUNK),
        "phone": field(st.just(PHONE), JUNK),
        "code": field(st.just(CODE), st.one_of(JUNK, st.sampled_from(["000000", "1234567"]))),
        "content": field(st.sampled_from(["", "办理营业执照"]), JUNK),
    }


@fuzzes("post", "/api/v1/appointments/")
@FUZZ
@given(data=st.data())
def test_booking_survives_any_body_and_saves_nothing_unless_booked(
    api, citizens, matter, no_rest_window, bookable, data
):
    body = data.draw(json_or_not(_booking_fields(bookable)), label="body")
    phone = citizens.phone()
    resolved = _resolve_body(
        body,
        {
            "matter": lambda: matter.pk,
            "window": lambda: no_rest_window.pk,
            "start": START.isoformat,
            "phone": lambda: phone,
            "code": lambda: citizens.code(phone),
        },
    )
    before = _snapshot()
    response = post(api, "/api/v1/appointments/", resolved)
    check(response, f"POST appointments {resolved!r:.600}")
    after = _snapshot()
    if response.status_code == 201:
        created = Appointment.objects.get(reference=response.json()["reference"])
        # A drawn id may name the matter's other window (SQLite reuses small ids): still fine.
        assert created.status == Status.PENDING and created.window in matter.windows.all()
        assert after["appointments"] == sorted([*before["appointments"], (created.pk, "pending")])
        assert after["codes_used"] == before["codes_used"] + 1
        assert after["events"] == before["events"] + 1
        assert after["messages"] == before["messages"] + 1
    else:
        assert response.status_code in (409, 415, 400, 422), response.status_code
        assert after == before, _changes(before, after)


@FUZZ
@given(data=st.data())
def test_booking_past_the_schema_survives_odd_times_and_texts(
    api, citizens, matter, no_rest_window, regular_window, bookable, data
):
    """The ids, number and code are valid, so the service's own checks meet the odd times
    (past, off a boundary, under 24 h, far future, year 1 and 9999 with extreme offsets) and
    the odd names and contents (HTML, RTL marks, 𠮷, lone surrogates, 10 000 characters)."""
    phone = citizens.phone()
    payload = {
        "matter": matter.pk,
        "window": data.draw(st.sampled_from([no_rest_window.pk] * 3 + [regular_window.pk])),
        "start": data.draw(st.one_of(st.sampled_from(bookable), times()), label="start"),
        "name": data.draw(st.one_of(st.just("李娜"), TEXT), label="name"),
        "phone": data.draw(st.one_of(st.just(phone), st.just("+86 " + phone), TEXT)),
        "code": citizens.code(phone),
        "content": data.draw(st.one_of(st.just(""), TEXT), label="content"),
    }
    before = _snapshot()
    response = post(api, "/api/v1/appointments/", payload)
    check(response, f"POST appointments {payload!r:.600}")
    after = _snapshot()
    if response.status_code == 201:
        assert after["events"] == before["events"] + 1
        assert len(after["appointments"]) == len(before["appointments"]) + 1
    else:
        assert after == before, _changes(before, after)


@pytest.mark.parametrize(
    "change",
    [
        {"start": "0001-01-01T00:00:00+14:00"},
        {"start": "0001-01-01T00:00:00"},
        {"start": "9999-12-31T23:59:59-12:00"},
        {"start": "9999-12-31T23:59:59.999999"},
        {"start": -(2**40)},
        {"name": "\ud800"},
        {"name": "李\ud800娜"},
        {"content": "\udfff"},
        {"content": "\x00"},
        {"name": "\u202e\u200f"},
        {"content": "<script>alert(1)</script>" * 20},
        {"phone": "\ud800"},
        {"code": "\ud800"},
    ],
    ids=repr,
)
def test_booking_edge_values(api, citizens, matter, no_rest_window, change):
    phone = citizens.phone()
    payload = {
        "matter": matter.pk,
        "window": no_rest_window.pk,
        "start": START.isoformat(),
        "name": "李娜",
        "phone": phone,
        "code": citizens.code(phone),
        "content": "",
        **change,
    }
    before = _snapshot()
    response = post(api, "/api/v1/appointments/", payload)
    check(response, f"POST appointments {payload!r:.600}")
    if response.status_code != 201:
        assert _snapshot() == before


@fuzzes("get", "/api/v1/appointments/{reference}/")
@FUZZ
@given(
    reference=st.one_of(st.just(REFERENCE), st.just(REFERENCE), TEXT, st.integers()),
    query=st.one_of(
        mutated({"token": field(st.just(TOKEN), JUNK)}),
        mutated(
            {
                "phone": field(st.sampled_from([MOBILE, "+86" + MOBILE]), JUNK),
                "code": field(st.just(CODE), JUNK),
            }
        ),
        mutated(
            {
                "token": field(st.just(TOKEN), JUNK),
                "phone": field(st.sampled_from([MOBILE, "+86" + MOBILE]), JUNK),
                "code": field(st.just(CODE), JUNK),
            }
        ),
    ),
)
def test_look_up_survives_any_reference_and_proof(api, citizens, made, reference, query):
    fresh = {
        "reference": lambda: made["reference"],
        "token": lambda: made["token"],
        "code": lambda: citizens.code(MOBILE),
    }
    reference = _resolve(reference, fresh)
    query = {k: _resolve(v, fresh) for k, v in query.items()}
    before = _snapshot()
    url = _url(f"/api/v1/appointments/{_segment(reference)}/", query)
    response = get(api, url)
    check(response, f"GET {url:.600}", _routed(url))
    changes = _changes(before, _snapshot())
    changes.pop("codes_used", None)  # a code shown is used up, found or not
    changes.pop("codes", None)  # fresh codes sent for the test
    changes.pop("messages", None)
    assert not changes, changes
    if response.status_code != 200:
        assert made["reference"] not in response.content.decode(errors="replace")


@fuzzes("post", "/api/v1/appointments/{reference}/cancel")
@FUZZ
@given(
    reference=st.one_of(st.just(REFERENCE), st.just(REFERENCE), TEXT, st.integers()),
    data=st.data(),
)
def test_cancel_survives_any_reference_and_body(api, citizens, made, reference, data):
    body = data.draw(
        st.one_of(
            json_or_not({"token": field(st.just(TOKEN), JUNK)}),
            json_or_not(
                {
                    "phone": field(st.sampled_from([MOBILE, "+86" + MOBILE]), JUNK),
                    "code": field(st.just(CODE), JUNK),
                }
            ),
            json_or_not(
                {
                    "token": field(st.just(TOKEN), JUNK),
                    "phone": field(st.sampled_from([MOBILE, "+86" + MOBILE]), JUNK),
                    "code": field(st.just(CODE), JUNK),
                }
            ),
        ),
        label="body",
    )
    fresh = {
        "reference": lambda: made["reference"],
        "token": lambda: made["token"],
        "code": lambda: citizens.code(MOBILE),
    }
    reference = _resolve(reference, fresh)
    body = _resolve_body(body, fresh)
    before = _snapshot()
    url = f"/api/v1/appointments/{_segment(reference)}/cancel"
    response = post(api, url, body)
    check(response, f"POST {url:.300} {body!r:.300}", _routed(url))
    after = _snapshot()
    changes = _changes(before, after)
    for key in ("codes_used", "codes", "messages"):
        changes.pop(key, None)
    if response.status_code == 200:
        assert after["appointments"] != before["appointments"]
        assert Appointment.objects.get(reference=made["reference"]).status == Status.CANCELLED
        assert after["events"] == before["events"] + 1
    else:
        assert not changes, changes


# --- complaints (GB/T 36113, DB1403/T 7.3) ----------------------------------------------------


@fuzzes("post", "/api/v1/complaints/")
@FUZZ
@given(
    body=json_or_not(
        {
            "category": field(st.sampled_from(["attitude", "fees"]), JUNK),
            "text": field(st.sampled_from(["态度生硬", "x"]), JUNK),
            "window": field(st.just(WINDOW), IDS),
            "booking_reference": field(st.just(""), JUNK),
            "name": field(st.just("李娜"), JUNK),
            "phone": field(st.just(PHONE), JUNK),
            "code": field(st.just(CODE), JUNK),
            "identity_withheld": field(st.booleans(), JUNK),
        }
    )
)
def test_complaint_survives_any_body_and_saves_nothing_unless_filed(
    api, citizens, settings, no_rest_window, body
):
    from complaints.models import Complaint

    settings.RATE_LIMIT_COMPLAINT = (10**9, 600)
    phone = citizens.phone()
    body = _resolve_body(
        body,
        {
            "phone": lambda: phone,
            "code": lambda: citizens.code(phone),
            "window": lambda: no_rest_window.pk,
        },
    )
    before = Complaint.objects.count()
    response = post(api, "/api/v1/complaints/", body)
    check(response, f"POST complaints {body!r:.300}")
    assert Complaint.objects.count() == before + (response.status_code == 201)


@fuzzes("post", "/api/v1/complaints/progress")
@FUZZ
@given(
    body=json_or_not(
        {
            "tracking_number": field(st.sampled_from(["ABCDEFGHJK", "abc"]), JUNK),
            "phone": field(st.just(PHONE), JUNK),
            "code": field(st.just(CODE), JUNK),
        }
    )
)
def test_complaint_progress_survives_any_body(api, citizens, body):
    phone = citizens.phone()
    body = _resolve_body(body, {"phone": lambda: phone, "code": lambda: citizens.code(phone)})
    response = post(api, "/api/v1/complaints/progress", body)
    check(response, f"POST complaints/progress {body!r:.300}")
    assert response.status_code != 200


# --- every endpoint is fuzzed -----------------------------------------------------------------


def test_every_endpoint_in_the_openapi_document_is_fuzzed(api):
    document = api.get("/api/v1/openapi.json").json()
    published = {
        (method, path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert published, document
    assert published <= FUZZED, sorted(published - FUZZED)
