"""What a citizen does without an account: book with a verified mobile number, find the booking
again, cancel it (DB1403/T 5.1.1, 5.1.3 c, 6.2.6).

A booking is found by its reference together with either the token handed out when it was made
or the mobile number and a fresh SMS code. Anything else gets the same "not found", so nothing
tells whether a reference exists.
"""

import datetime as dt

from django.core import signing
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.utils.translation import gettext as _

from duty.models import Window
from sms.models import Message
from sms.phones import phone_clean
from sms.services import code_used_at, sms_send, verified_number
from yuyue.locks import locking_transaction

from .models import Appointment, Channel, Matter
from .notifications import booking_context
from .services import appointment_book_online, appointment_cancel_by_citizen

TOKEN_SALT = "appointments.citizen-token"


class BookingNotFound(ObjectDoesNotExist):
    """No booking for this reference and proof (deliberately vague)."""


def citizen_booking_create(
    *,
    matter: Matter,
    window: Window,
    start: dt.datetime,
    applicant_name: str,
    phone,
    code,
    now: dt.datetime,
    content: str = "",
    window_handles_matter: bool | None = None,
) -> Appointment:
    """Book online after proving the mobile number with an SMS code (DB1403/T 5.1.1, 5.1.3 c).

    One transaction: the code is used up only if the booking is made, so if the slot filled
    meanwhile the citizen picks another time with the same code. A wrong code counts as a try.
    The same request repeated with the code it used up (its answer was lost with a web
    instance that died after the commit, and the client tried again) is answered with the
    booking it made, not with "code used".
    """
    try:
        # Lock order: the number's code row, then the slot row (in appointment_book_online).
        with verified_number(phone=phone, code=code, now=now):
            appointment = appointment_book_online(
                matter=matter,
                window=window,
                start=start,
                applicant_name=applicant_name,
                phone=phone,
                content=content,
                now=now,
                window_handles_matter=window_handles_matter,
            )
            _tell_applicant(appointment, Message.Purpose.BOOKING_RECEIVED, now, new=True)
    except ValidationError as refusal:
        repeated = _booking_made_with_code(
            refusal, matter=matter, window=window, start=start, phone=phone, code=code
        )
        if repeated is None:
            raise
        return repeated
    return appointment


def _booking_made_with_code(refusal, *, matter, window, start, phone, code) -> Appointment | None:
    """The online booking of this matter, window and time that used up ``code`` (made in the
    transaction that used it: its ``created_at`` is the code's ``used_at``), if ``refusal`` is
    "code used"."""
    codes = getattr(refusal, "error_dict", {}).get("code", [])
    if not any(error.code == "code_used" for error in codes):
        return None
    used_at = code_used_at(phone=phone, code=code)
    if used_at is None:
        return None
    return Appointment.objects.filter(
        matter=matter,
        window=window,
        start=start,
        channel=Channel.ONLINE,
        phone=phone_clean(phone, mobile_only=True),
        created_at=used_at,
    ).first()


def _tell_applicant(
    appointment: Appointment, purpose: str, now: dt.datetime, *, new: bool = False
) -> None:
    """One SMS of this purpose per booking, sent once the transaction commits. ``new``: the
    booking was made in this transaction, so no message about it can exist yet."""
    sms_send(
        purpose=purpose,
        phone=appointment.phone,
        context=booking_context(appointment=appointment),
        subject=appointment,
        dedupe_key=f"{purpose}:{appointment.pk}",
        now=now,
        subject_is_new=new,
    )


def citizen_booking_token(*, appointment: Appointment) -> str:
    """A token that lets its holder look the booking up and cancel it (kept by the client)."""
    return signing.Signer(salt=TOKEN_SALT).sign(appointment.reference)


def _by_reference(reference) -> Appointment:
    if not isinstance(reference, str) or not reference.strip():
        raise BookingNotFound
    appointment = (
        Appointment.objects.select_related("matter", "window__hall")
        .filter(reference=reference.strip().upper())
        .first()
    )
    if appointment is None:
        raise BookingNotFound
    return appointment


def citizen_booking_by_token(*, reference, token) -> Appointment:
    """The booking ``reference`` if ``token`` was issued for it."""
    try:
        signed = signing.Signer(salt=TOKEN_SALT).unsign(token if isinstance(token, str) else "")
    except signing.BadSignature:
        raise BookingNotFound from None
    appointment = _by_reference(reference)
    if signed != appointment.reference:
        raise BookingNotFound
    return appointment


def citizen_booking_by_code(*, reference, phone, code, now: dt.datetime) -> Appointment:
    """The booking ``reference`` if it was made with ``phone`` and ``code`` is its fresh code.

    The code is used up either way, so one code cannot be used to try many references.
    """
    with verified_number(phone=phone, code=code, now=now) as number:
        pass  # the code is spent before anything is looked up: a miss must not give it back
    appointment = _by_reference(reference)
    if appointment.phone != number:
        raise BookingNotFound
    return appointment


def citizen_bookings_for_phone(*, phone, now: dt.datetime):
    """The number's bookings that are still ahead or recent (for "My bookings" after a code)."""
    return (
        Appointment.objects.filter(phone=phone, start__gte=now - dt.timedelta(days=30))
        .select_related("matter", "window__hall")
        .order_by("start")
    )


def citizen_booking_cancel(*, appointment: Appointment, now: dt.datetime) -> Appointment:
    """The applicant cancels online, up to CITIZEN_CANCEL_MIN_HOURS before the start; the
    place is freed at once and the cancellation confirmed by SMS."""
    with locking_transaction():
        appointment = appointment_cancel_by_citizen(appointment=appointment, now=now)
        _tell_applicant(appointment, Message.Purpose.BOOKING_CANCELLED, now)
    return appointment


def _ics_escape(value) -> str:
    text = str(value)
    for raw, escaped in (("\\", "\\\\"), (";", "\\;"), (",", "\\,"), ("\n", "\\n")):
        text = text.replace(raw, escaped)
    return text


def booking_ics(*, appointment: Appointment, now: dt.datetime) -> str:
    """An iCalendar event for the citizen's phone calendar (RFC 5545, times in UTC)."""

    def utc(moment: dt.datetime) -> str:
        return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")

    materials = "\n".join(f"- {item}" for item in appointment.matter.material_list)
    description = _("Reference %(reference)s. Bring:\n%(materials)s") % {
        "reference": appointment.reference,
        "materials": materials or "-",
    }
    hall = appointment.window.hall
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//yuyue//appointments//ZH",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{appointment.reference}@yuyue",
        f"DTSTAMP:{utc(now)}",
        f"DTSTART:{utc(appointment.start)}",
        f"DTEND:{utc(appointment.end)}",
        f"SUMMARY:{_ics_escape(f'{appointment.matter} · {appointment.window}')}",
        f"LOCATION:{_ics_escape(f'{hall} {hall.address}'.strip())}",
        f"DESCRIPTION:{_ics_escape(description)}",
        "BEGIN:VALARM",
        "TRIGGER:-PT2H",
        "ACTION:DISPLAY",
        f"DESCRIPTION:{_ics_escape(appointment.matter)}",
        "END:VALARM",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(_ics_fold(line) for line in lines) + "\r\n"


def _ics_fold(line: str) -> str:
    """RFC 5545 3.1: lines longer than 75 octets are folded (without splitting a character)."""
    parts, current = [], b""
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += encoded
    parts.append(current.decode())
    return "\r\n ".join(parts)
