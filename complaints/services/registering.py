"""Registering a complaint (DB1403/T 7.3): by staff from any channel, or filed online by the
citizen; and the messages that tell the complainant."""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from duty.models import Hall
from duty.scoping import user_hall_id
from sms.models import Message
from sms.phones import phone_clean, phone_is_mobile
from sms.services import sms_send
from yuyue.checks import field_error as _error
from yuyue.checks import require_aware as _require_aware
from yuyue.checks import require_perm as _require_perm

from ..models import (
    Complaint,
    ComplaintCategory,
    ComplaintChannel,
    new_tracking_number,
)
from ._common import S, _choice_clean, _in_hall, _staff_hall, _step, _text_clean
from .deadlines import accept_due_date


def complaint_register_clean(
    *,
    hall_id: int,
    channel,
    category,
    complainant_name,
    complainant_phone,
    text,
    window=None,
    staff=None,
    department=None,
    appointment=None,
) -> dict:
    """GB/T 36113 登记, DB1403/T 7.3: what a registration needs; also used by the admin form."""
    errors = {}
    cleaned = {}
    checks = [
        ("channel", lambda: _choice_clean(channel, ComplaintChannel, "channel")),
        ("category", lambda: _choice_clean(category, ComplaintCategory, "category")),
        (
            "complainant_name",
            lambda: _text_clean(complainant_name, "complainant_name", limit=50),
        ),
        ("text", lambda: _text_clean(text, "text")),
        ("window", lambda: _in_hall(window, hall_id, "window")),
        ("department", lambda: _in_hall(department, hall_id, "department")),
        ("staff", lambda: _in_hall(staff, hall_id, "staff", _staff_hall)),
        (
            "appointment",
            lambda: _in_hall(appointment, hall_id, "appointment", lambda a: a.window.hall_id),
        ),
    ]
    if complainant_phone:
        checks.append(
            (
                "complainant_phone",
                lambda: phone_clean(
                    complainant_phone, mobile_only=False, field="complainant_phone"
                ),
            )
        )
    for field, check in checks:
        try:
            cleaned[field] = check()
        except ValidationError as error:
            errors.update(error.error_dict)
    if errors:
        raise ValidationError(errors)
    cleaned.setdefault("complainant_phone", "")
    return cleaned


def complaint_register(
    *,
    channel: str,
    category: str,
    complainant_name: str,
    text: str,
    actor,
    now: dt.datetime,
    complainant_phone="",
    identity_withheld: bool = False,
    is_complex: bool = False,
    window=None,
    staff=None,
    department=None,
    appointment=None,
    received_at: dt.datetime | None = None,
) -> Complaint:
    """GB/T 36113 登记, DB1403/T 7.3: staff register a complaint received on site, by phone, by
    letter, from the 12345 hotline or from a bad rating; it gets a tracking number and an
    acceptance deadline in working days."""
    _require_aware(now)
    _require_perm(actor, "complaints.add_complaint")
    hall_id = user_hall_id(actor)
    if hall_id is None:
        raise PermissionDenied(_("You are not staff of a hall."))
    received_at = received_at or now
    _require_aware(received_at)
    if received_at > now:
        raise _error("received_at", _("A complaint cannot be received in the future."), "future")
    cleaned = complaint_register_clean(
        hall_id=hall_id,
        channel=channel,
        category=category,
        complainant_name=complainant_name,
        complainant_phone=complainant_phone,
        text=text,
        window=window,
        staff=staff,
        department=department,
        appointment=appointment,
    )
    return _complaint_create(
        hall_id=hall_id,
        cleaned={
            **cleaned,
            "window_obj": window,
            "staff_obj": staff,
            "department_obj": department,
            "appointment_obj": appointment,
        },
        channel=cleaned["channel"],
        identity_withheld=identity_withheld,
        is_complex=is_complex,
        received_at=received_at,
        registered_by=actor,
        now=now,
    )


def _complaint_create(
    *, hall_id, cleaned, channel, identity_withheld, is_complex, received_at, registered_by, now
) -> Complaint:
    with transaction.atomic():
        for _attempt in range(5):
            try:
                with transaction.atomic():
                    complaint = Complaint.objects.create(
                        tracking_number=new_tracking_number(),
                        hall_id=hall_id,
                        channel=channel,
                        category=cleaned["category"],
                        complainant_name=cleaned["complainant_name"],
                        complainant_phone=cleaned["complainant_phone"],
                        identity_withheld=bool(identity_withheld),
                        text=cleaned["text"],
                        is_complex=bool(is_complex),
                        window=cleaned.get("window_obj"),
                        staff=cleaned.get("staff_obj"),
                        department=cleaned.get("department_obj"),
                        appointment=cleaned.get("appointment_obj"),
                        received_at=received_at,
                        registered_by=registered_by,
                        accept_due=accept_due_date(received_at=received_at),
                    )
                break
            except IntegrityError:  # a tracking number drawn twice: draw again
                continue
        else:
            raise RuntimeError("no free tracking number")
        _step(complaint, "", S.REGISTERED, actor=registered_by, now=now)
        complainant_text(
            complaint=complaint,
            purpose=Message.Purpose.COMPLAINT_RECEIVED,
            now=now,
            accept_by=f"{complaint.accept_due:%Y-%m-%d}",
        )
    return complaint


def complainant_text(*, complaint: Complaint, purpose: str, now: dt.datetime, **context):
    """GB/T 36113: tell the complainant by SMS — the tracking number when registered, the reason
    when not accepted, the reply when replying by text message. Only to a mobile number; sent by
    the worker once the step's transaction commits, at most once per complaint and purpose."""
    if not phone_is_mobile(complaint.complainant_phone):
        return None
    return sms_send(
        purpose=purpose,
        phone=complaint.complainant_phone,
        context={
            "number": complaint.tracking_number,
            "hall": complaint.hall.name,
            "phone": complaint.hall.phone,
            **context,
        },
        now=now,
        dedupe_key=f"complaint:{complaint.pk}:{purpose}",
    )


def complaint_submit_online(
    *,
    hall_id: int,
    category: str,
    complainant_name: str,
    complainant_phone,
    text: str,
    now: dt.datetime,
    identity_withheld: bool = False,
    window=None,
    appointment=None,
) -> Complaint:
    """GB/T 36113 投诉渠道 (web), DB1403/T 7.3: a citizen files a complaint on the site or
    through the API. The mobile number must be proven by the caller (``complaints.citizen``);
    the complaint is registered with nobody as registrar, with a tracking number and an
    acceptance deadline in working days."""
    _require_aware(now)
    if not isinstance(hall_id, int) or not Hall.objects.filter(pk=hall_id).exists():
        raise _error("hall", _("Choose the hall."), "required")
    cleaned = complaint_register_clean(
        hall_id=hall_id,
        channel=ComplaintChannel.ONLINE,
        category=category,
        complainant_name=complainant_name,
        complainant_phone=complainant_phone,
        text=text,
        window=window,
        appointment=appointment,
    )
    return _complaint_create(
        hall_id=hall_id,
        cleaned={**cleaned, "window_obj": window, "appointment_obj": appointment},
        channel=ComplaintChannel.ONLINE,
        identity_withheld=identity_withheld,
        is_complex=False,
        received_at=now,
        registered_by=None,
        now=now,
    )
