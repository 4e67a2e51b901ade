"""Complaints in the JSON API, beside the booking API (/api/v1/complaints/): file a complaint
and follow its progress with a verified mobile number (GB/T 36113 投诉渠道, DB1403/T 7.3).

The mobile number is proven as for a booking: POST /api/v1/verification-codes/ sends a code,
which goes with the request. Invalid input is 422 with field errors, an unknown tracking number
and a wrong mobile number are the same 404, too many requests 429. Every rule is in the
services; this module only translates between JSON and them.
"""

import datetime as dt
from typing import Annotated

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from pydantic import AfterValidator

from appointments.api import LocalTime
from duty.models import Hall
from yuyue.ratelimit import request_rate_limited

from .citizen import (
    ComplaintNotFound,
    citizen_complaint_by_code,
    citizen_complaint_create,
    complaint_progress,
)
from .models import ComplaintCategory
from .services import TEXT_MAX

router = Router(tags=["complaints"])

MAX_ID = 2**31 - 1


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Name = Annotated[
    str, Field(min_length=1, max_length=50), AfterValidator(_no_nul), AfterValidator(_not_blank)
]
Text = Annotated[
    str,
    Field(min_length=1, max_length=TEXT_MAX),
    AfterValidator(_no_nul),
    AfterValidator(_not_blank),
]
Phone = Annotated[str, Field(min_length=1, max_length=40), AfterValidator(_no_nul)]
Code = Annotated[str, Field(min_length=1, max_length=10), AfterValidator(_no_nul)]
Reference = Annotated[str, Field(max_length=12, pattern=r"^[A-Za-z0-9]*$")]
TrackingNumber = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9]+$")]


class ErrorOut(Schema):
    detail: str | list[dict]


class ComplaintIn(Schema):
    hall: Id | None = Field(None, description="The hall; may be left out when there is one.")
    category: ComplaintCategory
    text: Text = Field(description="What happened.")
    window: Id | None = None
    booking_reference: Reference = Field("", description="The booking it is about, if any.")
    name: Name
    phone: Phone = Field(description="Mobile number proven by the code; the reply goes there.")
    code: Code
    identity_withheld: bool = Field(
        False, description="Keep the name and number from the staff complained about."
    )


class StepOut(Schema):
    state: str
    label: str
    at: LocalTime


class ProgressOut(Schema):
    tracking_number: str
    hall: str
    category: str
    category_label: str
    state: str
    state_label: str
    received_at: LocalTime
    accept_due: dt.date
    reply_due: dt.date | None
    steps: list[StepOut]
    refusal_reason: str = Field(description="Why it was not taken up, if so.")
    reply_method: str
    reply_text: str
    replied_at: LocalTime | None


class ProgressIn(Schema):
    tracking_number: TrackingNumber
    phone: Phone
    code: Code


def _limited(request, scope: str, limit) -> bool:
    return request_rate_limited(request, scope=scope, limit=limit)


def _too_many():
    return Status(429, {"detail": _("Too many requests; try again in a few minutes.")})


def _hall_id(requested: int | None) -> int:
    if requested is not None:
        if not Hall.objects.filter(pk=requested).exists():
            raise ValidationError({"hall": _("No such hall.")})
        return requested
    halls = list(Hall.objects.order_by("pk").values_list("pk", flat=True)[:2])
    if len(halls) != 1:
        raise ValidationError({"hall": _("Choose the hall.")})
    return halls[0]


@router.post(
    "/",
    response={201: ProgressOut, 422: ErrorOut, 429: ErrorOut, 503: ErrorOut},
    summary="File a complaint",
)
def complaint_create(request, payload: ComplaintIn):
    """GB/T 36113, DB1403/T 7.3: file a complaint with a verified mobile number; the answer
    carries the tracking number to follow it with."""
    if _limited(request, "complaint", settings.RATE_LIMIT_COMPLAINT):
        return _too_many()
    complaint = citizen_complaint_create(
        hall_id=_hall_id(payload.hall),
        category=payload.category.value,
        text=payload.text,
        complainant_name=payload.name,
        phone=payload.phone,
        code=payload.code,
        window_id=payload.window,
        booking_reference=payload.booking_reference,
        identity_withheld=payload.identity_withheld,
        now=timezone.now(),
    )
    return Status(201, complaint_progress(complaint=complaint))


@router.post(
    "/progress",
    response={200: ProgressOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut, 503: ErrorOut},
    summary="Follow a complaint",
)
def complaint_progress_lookup(request, payload: ProgressIn):
    """GB/T 36113, DB1403/T 7.3: the state of a complaint, the date of each step and the reply,
    for its tracking number, the mobile number it was filed with and a fresh code. An unknown
    tracking number and a wrong mobile number get the same 404."""
    if _limited(request, "complaint_lookup", settings.RATE_LIMIT_LOOKUP):
        return _too_many()
    try:
        complaint = citizen_complaint_by_code(
            tracking_number=payload.tracking_number,
            phone=payload.phone,
            code=payload.code,
            now=timezone.now(),
        )
    except ComplaintNotFound:
        return Status(404, {"detail": _("No complaint matches.")})
    return complaint_progress(complaint=complaint)
