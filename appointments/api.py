"""Bookings in the JSON API for the hall's WeChat mini-program and other clients (/api/v1/;
the API's root, with the complaints beside them, is yuyue/api.py).

django-ninja: the OpenAPI document comes from the same type hints that validate the input, and
it answers invalid input with 422 and field errors, as the API promises. Every rule is in the
service functions; this module only translates between JSON and them.
"""

import datetime as dt
from typing import Annotated

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import AfterValidator, BaseModel, PlainSerializer, TypeAdapter, WithJsonSchema

from duty.calendar import TimeKind, representable
from duty.models import Window
from sms.services import verification_code_send
from yuyue.ratelimit import client_address, request_rate_limited

from .availability_cache import availability_json
from .citizen import (
    BookingNotFound,
    citizen_booking_by_code,
    citizen_booking_by_token,
    citizen_booking_cancel,
    citizen_booking_create,
    citizen_booking_token,
)
from .models import Appointment, Matter
from .services import booking_place_load
from .slots import SlotTime

# Mounted at the root of /api/v1/ by the project's API (yuyue/api.py), which also answers the
# errors raised here (a service's ValidationError, BookingNotFound, RateLimited).
router = Router()

MAX_ID = 2**31 - 1
MAX_RANGE_DAYS = 31


class RateLimited(Exception):
    """Too many requests from one client address: answered 429 (yuyue/api.py)."""


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _representable(value: dt.datetime) -> dt.datetime:
    """Year 1 at +14:00 is year 0 in UTC: refused here, with a 422, like any bad time."""
    moment = value if timezone.is_aware(value) else timezone.make_aware(value)
    if not representable(moment):
        raise ValueError("is out of range")
    return value


def _beijing_time(value: dt.datetime) -> str:
    return timezone.localtime(value).isoformat()


# Every time the API answers with is in the hall's time, as the pages and the register show it:
# ISO 8601 with its offset (2026-12-10T09:00:00+08:00), never UTC's …Z.
LocalTime = Annotated[
    dt.datetime,
    PlainSerializer(_beijing_time, return_type=str),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "example": "2026-12-10T09:00:00+08:00"}
    ),
]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Moment = Annotated[dt.datetime, AfterValidator(_representable)]
Name = Annotated[str, Field(min_length=1, max_length=50), AfterValidator(_no_nul)]
Phone = Annotated[str, Field(min_length=1, max_length=40), AfterValidator(_no_nul)]
Code = Annotated[str, Field(min_length=1, max_length=10), AfterValidator(_no_nul)]
Content = Annotated[str, Field(max_length=500), AfterValidator(_no_nul)]
Token = Annotated[str, Field(max_length=200), AfterValidator(_no_nul)]


# --- errors -----------------------------------------------------------------------------------


def field_errors(error: ValidationError, location: str) -> list[dict]:
    """A service's ValidationError as the API's list of field errors, at ``location``."""
    items = error.error_dict.items() if hasattr(error, "error_dict") else [("__all__", [error])]
    return [
        {"loc": [location, field], "msg": str(message), "type": item.code or "invalid"}
        for field, errors in items
        for item in errors
        for message in item.messages
    ]


def _limit(request: HttpRequest, scope: str, limit: tuple[int, int]) -> None:
    if request_rate_limited(request, scope=scope, limit=limit):
        raise RateLimited


class ErrorOut(Schema):
    detail: str | list[dict]


# --- matters ----------------------------------------------------------------------------------


class HallOut(Schema):
    id: int
    name: str
    address: str
    phone: str


class WindowOut(Schema):
    id: int
    number: str
    name: str
    is_no_rest: bool


class MatterOut(Schema):
    id: int
    name: str
    hall: HallOut
    departments: list[str]
    materials: list[str] = Field(description="What to bring (the one-time notice, 一次性告知).")
    notes: str
    duration_minutes: int
    windows: list[WindowOut]


def _matters():
    return (
        Matter.objects.filter(is_active=True)
        .select_related("hall")
        .prefetch_related("departments")
        .prefetch_related(
            _active_windows_prefetch(),
        )
        .order_by("hall_id", "name")
    )


def _active_windows_prefetch():
    return Prefetch("windows", queryset=Window.objects.filter(is_active=True).order_by("number"))


def _matter_out(matter: Matter) -> dict:
    return {
        "id": matter.pk,
        "name": matter.name,
        "hall": matter.hall,
        "departments": [d.name for d in matter.departments.all()],
        "materials": matter.material_list,
        "notes": matter.notes,
        "duration_minutes": matter.duration_minutes,
        "windows": list(matter.windows.all()),
    }


@router.get("/matters/", response=list[MatterOut], tags=["matters"])
def matter_list(request, hall: Id | None = None, q: Annotated[str, Field(max_length=50)] = ""):
    """The matters that can be booked, with the materials to bring."""
    matters = _matters()
    if hall is not None:
        matters = matters.filter(hall_id=hall)
    if q.strip():
        matters = matters.filter(name__icontains=q.strip().replace("\x00", ""))
    return [_matter_out(m) for m in matters]


@router.get("/matters/{matter_id}/", response={200: MatterOut, 404: ErrorOut}, tags=["matters"])
def matter_detail(request, matter_id: Id):
    matter = _matters().filter(pk=matter_id).first()
    if matter is None:
        return Status(404, {"detail": _("No such matter.")})
    return _matter_out(matter)


# --- availability -----------------------------------------------------------------------------


class SlotOut(BaseModel):
    # A plain pydantic model: ninja's Schema reads every field of every slot through its
    # Django-aware getter, which cost as much as computing the slots (bench/booking_load.py).
    window: int
    window_name: str
    start: LocalTime
    end: LocalTime
    capacity: int
    remaining: int
    time_kind: TimeKind = Field(
        description="working hours, off-hours on a working day, weekend or statutory holiday"
    )
    holiday_name: str
    provisional_holiday: bool = Field(
        False,
        description="a statutory holiday by law in a year whose official arrangement is not "
        "published yet (it may still change)",
    )


# The answer encoded in one go: what the assembled answers are tested to equal, byte for byte.
SLOTS_JSON = TypeAdapter(list[SlotOut])


class AvailabilityQuery(Schema):
    matter: Id
    date_from: dt.date = Field(alias="from")
    date_to: dt.date = Field(alias="to")


def _range_clean(date_from: dt.date, date_to: dt.date, today: dt.date) -> None:
    if date_to < date_from:
        raise ValidationError({"to": _("“to” must not be before “from”.")})
    if (date_to - date_from).days >= MAX_RANGE_DAYS:
        raise ValidationError(
            {"to": _("Ask for at most %(days)s days.") % {"days": MAX_RANGE_DAYS}}
        )
    if date_to > today + dt.timedelta(days=settings.BOOKING_HORIZON_DAYS + 1):
        raise ValidationError(
            {
                "to": _("Bookings open %(days)s days ahead.")
                % {"days": settings.BOOKING_HORIZON_DAYS}
            }
        )


@router.get(
    "/availability/",
    response={200: list[SlotOut], 404: ErrorOut, 422: ErrorOut},
    tags=["availability"],
)
def availability(request, filters: Query[AvailabilityQuery]):
    """Slots of the matter's windows from 24 h ahead, with places left (DB1403/T 4, 5.1.1)."""
    now = timezone.now()
    today = timezone.localdate(now)
    try:
        _range_clean(filters.date_from, filters.date_to, today)
    except ValidationError as error:
        return Status(422, {"detail": field_errors(error, "query")})
    body = availability_json(
        matter_id=filters.matter,
        date_from=filters.date_from,
        date_to=filters.date_to,
        now=now,
        encode=_slots_json,
    )
    if body is None:
        return Status(404, {"detail": _("No such matter.")})
    return HttpResponse(body, content_type="application/json")


def _slots_json(places: list[tuple[SlotTime, str]]) -> list[tuple[bytes, bytes]]:
    """Each slot's JSON as ``SlotOut`` writes it, cut where its capacity and places left go:
    the availability cache assembles its pieces from these and the slots' current numbers.
    One call to pydantic for them all; an object's JSON never holds ``},{"window":`` outside
    its first field's name (a quote inside a string is escaped)."""
    body = SLOTS_JSON.dump_json(
        [
            SlotOut(
                window=slot.window_id,
                window_name=window_name,
                start=slot.start,
                end=slot.end,
                capacity=0,
                remaining=0,
                time_kind=slot.time_kind,
                holiday_name=slot.holiday_name,
                provisional_holiday=slot.provisional,
            )
            for slot, window_name in places
        ]
    )
    if not places:
        return []
    objects = body[len(b'[{"window":') : -len(b"}]")].split(b'},{"window":')
    result = []
    for text in objects:
        head, tail = text.split(b',"capacity":0,"remaining":0,', 1)
        result.append((b'{"window":' + head + b',"capacity":', b"," + tail + b"}"))
    return result


# --- verification codes -----------------------------------------------------------------------


class CodeIn(Schema):
    phone: Phone


class CodeOut(Schema):
    detail: str
    expires_in: int = Field(description="seconds")


@router.post(
    "/verification-codes/",
    response={202: CodeOut, 422: ErrorOut, 429: ErrorOut},
    tags=["verification"],
)
def verification_code_create(request, payload: CodeIn):
    """Send a 6-digit code by SMS to prove the mobile number (valid 5 minutes, single use)."""
    _limit(request, "verification", settings.RATE_LIMIT_VERIFICATION)
    verification_code_send(
        phone=payload.phone, client_address=client_address(request), now=timezone.now()
    )
    return Status(
        202,
        {
            "detail": _("A code has been sent by SMS."),
            "expires_in": settings.VERIFICATION_CODE_MINUTES * 60,
        },
    )


# --- appointments -----------------------------------------------------------------------------


class AppointmentIn(Schema):
    matter: Id
    window: Id
    start: Moment
    name: Name
    phone: Phone
    code: Code
    content: Content = ""


class AppointmentOut(Schema):
    reference: str
    status: str
    status_label: str
    matter: str
    window: str
    hall: str
    address: str
    start: LocalTime
    end: LocalTime
    materials: list[str]
    may_cancel_until: LocalTime


class AppointmentCreatedOut(AppointmentOut):
    token: str = Field(description="Keep it: it looks the booking up and cancels it.")


class ProofIn(Schema):
    token: Token = ""
    phone: Phone | None = None
    code: Code | None = None


def _appointment_out(appointment: Appointment) -> dict:
    hall = appointment.window.hall
    return {
        "reference": appointment.reference,
        "status": appointment.status,
        "status_label": str(appointment.get_status_display()),
        "matter": appointment.matter.name,
        "window": str(appointment.window),
        "hall": hall.name,
        "address": hall.address,
        "start": appointment.start,
        "end": appointment.end,
        "materials": appointment.matter.material_list,
        "may_cancel_until": appointment.start
        - dt.timedelta(hours=settings.CITIZEN_CANCEL_MIN_HOURS),
    }


def _aware(moment: dt.datetime) -> dt.datetime:
    if timezone.is_naive(moment):
        return timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


@router.post(
    "/appointments/",
    response={
        201: AppointmentCreatedOut,
        409: ErrorOut,
        422: ErrorOut,
        429: ErrorOut,
        503: ErrorOut,
    },
    tags=["appointments"],
)
def appointment_create(request, payload: AppointmentIn):
    """Book a slot with a verified mobile number; the booking waits for the window to confirm
    (DB1403/T 5.1.3 c). 409 when the slot is full, 422 with field errors for bad input, 503 with
    Retry-After when the slot stayed locked by another booking (nothing was booked and the code
    is still valid: send the same request again)."""
    _limit(request, "booking", settings.RATE_LIMIT_BOOKING)
    place = booking_place_load(matter_id=payload.matter, window_id=payload.window)
    if place.matter is None:
        raise ValidationError({"matter": _("No such matter.")})
    if place.window is None:
        raise ValidationError({"window": _("No such window.")})
    appointment = citizen_booking_create(
        matter=place.matter,
        window=place.window,
        window_handles_matter=place.window_handles_matter,
        start=_aware(payload.start),
        applicant_name=payload.name,
        phone=payload.phone,
        code=payload.code,
        content=payload.content,
        now=timezone.now(),
    )
    return Status(
        201,
        {**_appointment_out(appointment), "token": citizen_booking_token(appointment=appointment)},
    )


def _find(reference: str, token: str, phone: str | None, code: str | None) -> Appointment:
    if token:
        return citizen_booking_by_token(reference=reference, token=token)
    if phone and code:
        return citizen_booking_by_code(
            reference=reference, phone=phone, code=code, now=timezone.now()
        )
    raise BookingNotFound


Reference = Annotated[str, Field(min_length=1, max_length=12, pattern=r"^[A-Za-z0-9]+$")]


@router.get(
    "/appointments/{reference}/",
    response={200: AppointmentOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut, 503: ErrorOut},
    tags=["appointments"],
)
def appointment_detail(request, reference: Reference, proof: Query[ProofIn]):
    """A booking, shown to the holder of its token, or of its mobile number and a fresh code."""
    _limit(request, "lookup", settings.RATE_LIMIT_LOOKUP)
    return _appointment_out(_find(reference, proof.token, proof.phone, proof.code))


@router.post(
    "/appointments/{reference}/cancel",
    response={200: AppointmentOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut, 503: ErrorOut},
    tags=["appointments"],
)
def appointment_cancel(request, reference: Reference, proof: ProofIn):
    """Cancel up to CITIZEN_CANCEL_MIN_HOURS (2 h) before the start; the place is freed. 503 with
    Retry-After when staff are working on the booking at that moment."""
    _limit(request, "lookup", settings.RATE_LIMIT_LOOKUP)
    appointment = _find(reference, proof.token, proof.phone, proof.code)
    appointment = citizen_booking_cancel(appointment=appointment, now=timezone.now())
    return _appointment_out(appointment)
