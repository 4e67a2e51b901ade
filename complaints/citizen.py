"""What a citizen does about a complaint without an account (GB/T 36113 投诉渠道, DB1403/T 7.3):
file it with a mobile number proven by an SMS code, and follow its progress with the tracking
number, the same mobile number and a fresh code.

A complaint is found only by its tracking number together with the number it was filed with;
anything else gets the same "not found", so nothing tells whether a tracking number exists.
What the citizen sees of the handling is the state, the date of each step, the reply and the
reason a complaint was not accepted: never staff names, findings or internal notes.
"""

import datetime as dt

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.utils.translation import gettext as _

from appointments.models import Appointment
from duty.models import Window
from sms.services import verified_number

from .models import Complaint, ComplaintState
from .services import complaint_submit_online

S = ComplaintState


class ComplaintNotFound(ObjectDoesNotExist):
    """No complaint for this tracking number and mobile number (deliberately vague)."""


def _booking_for(reference, *, hall_id: int, number) -> Appointment | None:
    """The booking the complaint is about, if the citizen named one: it must be theirs."""
    reference = (reference or "").strip().upper() if isinstance(reference, str) else ""
    if not reference:
        return None
    appointment = (
        Appointment.objects.select_related("window")
        .filter(reference=reference, window__hall_id=hall_id, phone=number)
        .first()
    )
    if appointment is None:
        raise ValidationError(
            {
                "booking_reference": ValidationError(
                    _("No booking of this hall has this reference and your mobile number."),
                    code="no_booking",
                )
            }
        )
    return appointment


def citizen_complaint_create(
    *,
    hall_id: int,
    category: str,
    text: str,
    complainant_name: str,
    phone,
    code,
    now: dt.datetime,
    window_id: int | None = None,
    booking_reference: str = "",
    identity_withheld: bool = False,
) -> Complaint:
    """GB/T 36113 投诉渠道, DB1403/T 7.3: file a complaint online after proving the mobile
    number with an SMS code; the reply goes to that number.

    One transaction: the code is used up only if the complaint is filed, so a citizen who must
    correct a field keeps the code. A wrong code counts as a try.
    """
    window = None
    if window_id is not None:
        window = Window.objects.filter(pk=window_id, hall_id=hall_id, is_active=True).first()
        if window is None:
            raise ValidationError(
                {"window": ValidationError(_("Choose one of this hall's windows."), "other_hall")}
            )
    with verified_number(phone=phone, code=code, now=now) as number:
        appointment = _booking_for(booking_reference, hall_id=hall_id, number=number)
        return complaint_submit_online(
            hall_id=hall_id,
            category=category,
            complainant_name=complainant_name,
            complainant_phone=number,
            text=text,
            window=window or (appointment.window if appointment else None),
            appointment=appointment,
            identity_withheld=identity_withheld,
            now=now,
        )


def citizen_complaint_by_code(*, tracking_number, phone, code, now: dt.datetime) -> Complaint:
    """GB/T 36113, DB1403/T 7.3: the complaint ``tracking_number`` if it was filed with
    ``phone`` and ``code`` is the number's fresh code. The code is used up either way, so one
    code cannot be used to try many tracking numbers."""
    with verified_number(phone=phone, code=code, now=now) as number:
        pass  # spent before anything is looked up: a miss must not give it back
    return citizen_complaint_by_number(tracking_number=tracking_number, number=number)


def citizen_complaint_by_number(*, tracking_number, number) -> Complaint:
    """The complaint ``tracking_number`` if it was filed with the (proven) mobile ``number``."""
    if not isinstance(tracking_number, str) or not tracking_number.strip():
        raise ComplaintNotFound
    complaint = (
        Complaint.objects.select_related("hall")
        .filter(tracking_number=tracking_number.strip().upper())
        .first()
    )
    if complaint is None or complaint.complainant_phone != number:
        raise ComplaintNotFound
    return complaint


def complaint_progress(*, complaint: Complaint) -> dict:
    """GB/T 36113, DB1403/T 7.3: what the complainant may see of the handling — the state, the
    date and time of each step, the deadlines, the reply once replied (or settled), and the
    reason when not accepted. No staff names, findings, measures or internal notes."""
    replied = complaint.state in (S.SETTLED, S.REPLIED, S.FOLLOWED_UP, S.ARCHIVED)
    return {
        "tracking_number": complaint.tracking_number,
        "hall": complaint.hall.name,
        "category": complaint.category,
        "category_label": str(complaint.get_category_display()),
        "state": complaint.state,
        "state_label": str(complaint.get_state_display()),
        "received_at": complaint.received_at,
        "accept_due": complaint.accept_due,
        "reply_due": complaint.reply_due,
        "steps": [
            {"state": step.to_state, "label": str(S(step.to_state).label), "at": step.at}
            for step in complaint.steps.order_by("at", "pk")
        ],
        "refusal_reason": (
            str(complaint.get_refusal_reason_display())
            if complaint.state == S.NOT_ACCEPTED
            or (complaint.state == S.ARCHIVED and complaint.refusal_reason)
            else ""
        ),
        "reply_method": str(complaint.get_reply_method_display()) if replied else "",
        "reply_text": complaint.reply_text if replied else "",
        "replied_at": complaint.replied_at if replied else None,
    }
