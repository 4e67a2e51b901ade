"""The handling of a complaint, step by step (GB/T 36113; DB1403/T 7.3).

registered → accepted | not accepted (with a reason) → settled on the spot | referred →
investigated → decided → replied → followed up → archived. Every step takes ``now``, checks the
state, locks the complaint's row, and records a ``ComplaintStep`` with who and when. Errors are
``ValidationError`` keyed by field; nothing is half-saved.
"""

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from duty.calendar import local, working_days_add
from duty.scoping import user_hall_id
from sms.phones import phone_clean

from .models import (
    AWAITING_ACCEPTANCE,
    AWAITING_REPLY,
    WRITTEN_CHANNELS,
    WRITTEN_REPLY_METHODS,
    Complaint,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintState,
    ComplaintStep,
    IdentityView,
    RefusalReason,
    ReplyMethod,
    new_tracking_number,
)

S = ComplaintState
TEXT_MAX = 5000
NOTE_MAX = 5000


def _error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _require_aware(now: dt.datetime) -> None:
    if timezone.is_naive(now):
        raise ValueError("now must be an aware datetime")


def _require_perm(actor, perm: str) -> None:
    if actor is None or not actor.is_active or not actor.has_perm(perm):
        raise PermissionDenied(_("You are not allowed to do this."))


def _require_hall(actor, hall_id: int) -> None:
    if actor.is_superuser:
        return
    if user_hall_id(actor) != hall_id:
        raise PermissionDenied(_("This complaint belongs to another hall."))


def _text_clean(value, field: str, *, required: bool = True, limit: int = TEXT_MAX) -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    if required and not text:
        raise _error(field, _("This field cannot be empty."), "required")
    if len(text) > limit:
        raise _error(
            field, _("At most %(limit)s characters, please.") % {"limit": limit}, "too_long"
        )
    return text


def _choice_clean(value, choices, field: str) -> str:
    if value not in choices.values:
        raise _error(field, _("Choose one of the options."), "invalid_choice")
    return value


def _in_hall(obj, hall_id: int, field: str, lookup=lambda o: o.hall_id) -> None:
    if obj is not None and lookup(obj) != hall_id:
        raise _error(field, _("Choose one of this hall's."), "other_hall")


def _staff_hall(user) -> int | None:
    return user_hall_id(user)


def accept_due_date(*, received_at: dt.datetime) -> dt.date:
    """GB/T 36113, DB1403/T 7.3: accept within COMPLAINT_ACCEPT_WORKING_DAYS working days."""
    return working_days_add(
        start=local(received_at).date(), days=settings.COMPLAINT_ACCEPT_WORKING_DAYS
    )


def reply_due_date(*, accepted_at: dt.datetime, is_complex: bool) -> dt.date:
    """GB/T 36113 (local rule), DB1403/T 7.3: reply within COMPLAINT_REPLY_WORKING_DAYS working
    days of acceptance, COMPLAINT_REPLY_COMPLEX_WORKING_DAYS for a complex complaint."""
    days = (
        settings.COMPLAINT_REPLY_COMPLEX_WORKING_DAYS
        if is_complex
        else settings.COMPLAINT_REPLY_WORKING_DAYS
    )
    return working_days_add(start=local(accepted_at).date(), days=days)


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
    with transaction.atomic():
        for _attempt in range(5):
            try:
                with transaction.atomic():
                    complaint = Complaint.objects.create(
                        tracking_number=new_tracking_number(),
                        hall_id=hall_id,
                        channel=cleaned["channel"],
                        category=cleaned["category"],
                        complainant_name=cleaned["complainant_name"],
                        complainant_phone=cleaned["complainant_phone"],
                        identity_withheld=bool(identity_withheld),
                        text=cleaned["text"],
                        is_complex=bool(is_complex),
                        window=window,
                        staff=staff,
                        department=department,
                        appointment=appointment,
                        received_at=received_at,
                        registered_by=actor,
                        accept_due=accept_due_date(received_at=received_at),
                    )
                break
            except IntegrityError:  # a tracking number drawn twice: draw again
                continue
        else:
            raise RuntimeError("no free tracking number")
        _step(complaint, "", S.REGISTERED, actor=actor, now=now)
    return complaint


# --- the steps --------------------------------------------------------------------------------

_STATE_MESSAGES = {
    "accept": lambda: _("Only a registered complaint can be accepted or refused."),
    "settle": lambda: _("Only an accepted complaint can be settled on the spot."),
    "refer": lambda: _("Only an accepted complaint can be referred to a department."),
    "investigate": lambda: _("Only an accepted or referred complaint can be investigated."),
    "decide": lambda: _("A complaint is decided after its investigation."),
    "reply": lambda: _("A complaint is replied to after it is decided."),
    "follow_up": lambda: _("The follow-up visit comes after the reply or the settlement."),
    "archive": lambda: _("Only a followed-up or not accepted complaint can be archived."),
}


def _lock(complaint: Complaint, allowed, move: str) -> Complaint:
    # Race: two handlers act on the same complaint at once (two replies, refuse vs accept).
    # Locking the row makes the second wait and then see the state the first one left.
    locked = Complaint.objects.select_for_update().get(pk=complaint.pk)
    if locked.state not in allowed:
        raise _error(
            "state",
            _STATE_MESSAGES[move]()
            + " "
            + _("Its state is “%(state)s”.") % {"state": locked.get_state_display()},
            "invalid_state",
        )
    return locked


def _handle_check(complaint: Complaint, actor, now) -> None:
    _require_aware(now)
    _require_perm(actor, "complaints.handle_complaint")
    _require_hall(actor, complaint.hall_id)


def _step(complaint, from_state, to_state, *, actor, now, note="") -> ComplaintStep:
    return ComplaintStep.objects.create(
        complaint=complaint,
        at=now,
        actor=actor,
        from_state=from_state,
        to_state=to_state,
        note=note,
    )


def _move(complaint: Complaint, to_state, *, actor, now, note="", **fields) -> Complaint:
    from_state = complaint.state
    complaint.state = to_state
    for name, value in fields.items():
        setattr(complaint, name, value)
    complaint.full_clean(exclude=["tracking_number"])
    complaint.save()
    _step(complaint, from_state, to_state, actor=actor, now=now, note=note)
    return complaint


def complaint_accept(
    *, complaint: Complaint, actor, now: dt.datetime, handler=None, is_complex=None
) -> Complaint:
    """GB/T 36113 受理, DB1403/T 7.3: accept the complaint; the reply deadline starts (2 working
    days, 5 for a complex one). The handler defaults to whoever accepts it."""
    _handle_check(complaint, actor, now)
    handler = handler or actor
    if user_hall_id(handler) != complaint.hall_id or not handler.has_perm(
        "complaints.handle_complaint"
    ):
        raise _error("handler", _("Choose a complaint handler of this hall."), "handler")
    with transaction.atomic():
        complaint = _lock(complaint, AWAITING_ACCEPTANCE, "accept")
        complex_ = complaint.is_complex if is_complex is None else bool(is_complex)
        return _move(
            complaint,
            S.ACCEPTED,
            actor=actor,
            now=now,
            accepted_at=now,
            handler=handler,
            is_complex=complex_,
            reply_due=reply_due_date(accepted_at=now, is_complex=complex_),
        )


def complaint_refuse(
    *, complaint: Complaint, reason: str, actor, now: dt.datetime, note=""
) -> Complaint:
    """GB/T 36113 不予受理, DB1403/T 7.3: not accepted for one of the four reasons (no target,
    outside government service, under review or in court, duplicate), told to the complainant."""
    _handle_check(complaint, actor, now)
    reason = _choice_clean(reason, RefusalReason, "refusal_reason")
    note = _text_clean(note, "note", required=False, limit=NOTE_MAX)
    with transaction.atomic():
        complaint = _lock(complaint, AWAITING_ACCEPTANCE, "accept")
        return _move(
            complaint,
            S.NOT_ACCEPTED,
            actor=actor,
            now=now,
            note=note,
            refusal_reason=reason,
            handler=complaint.handler or actor,
        )


def complaint_settle_on_spot(
    *, complaint: Complaint, result: str, actor, now: dt.datetime
) -> Complaint:
    """GB/T 36113 现场协调, DB1403/T 7.3: a simple complaint settled on the spot; the result is
    the reply."""
    _handle_check(complaint, actor, now)
    result = _text_clean(result, "result")
    with transaction.atomic():
        complaint = _lock(complaint, (S.ACCEPTED,), "settle")
        return _move(
            complaint,
            S.SETTLED,
            actor=actor,
            now=now,
            note=result,
            reply_method=(
                ReplyMethod.LETTER
                if complaint.channel in WRITTEN_CHANNELS
                else ReplyMethod.IN_PERSON
            ),
            reply_text=result,
            replied_at=now,
        )


def complaint_refer(
    *, complaint: Complaint, department, actor, now: dt.datetime, note=""
) -> Complaint:
    """GB/T 36113 转办, DB1403/T 7.3: refer the complaint to the department concerned."""
    _handle_check(complaint, actor, now)
    if department is None:
        raise _error("referred_department", _("Choose the department."), "required")
    _in_hall(department, complaint.hall_id, "referred_department")
    note = _text_clean(note, "note", required=False, limit=NOTE_MAX)
    with transaction.atomic():
        complaint = _lock(complaint, (S.ACCEPTED,), "refer")
        return _move(
            complaint, S.REFERRED, actor=actor, now=now, note=note, referred_department=department
        )


def complaint_investigate(
    *, complaint: Complaint, findings: str, actor, now: dt.datetime
) -> Complaint:
    """GB/T 36113 调查核实, DB1403/T 7.3: record what the investigation found."""
    _handle_check(complaint, actor, now)
    findings = _text_clean(findings, "findings")
    with transaction.atomic():
        complaint = _lock(complaint, (S.ACCEPTED, S.REFERRED), "investigate")
        return _move(complaint, S.INVESTIGATED, actor=actor, now=now, findings=findings)


def complaint_decide(
    *,
    complaint: Complaint,
    substantiated: bool,
    actor,
    now: dt.datetime,
    window=None,
    staff=None,
    measures: str = "",
) -> Complaint:
    """GB/T 36113 处理, DB1403/T 7.3 and 7.4: substantiated or not; a substantiated complaint
    names the window or staff member it counts against and the measures taken."""
    _handle_check(complaint, actor, now)
    if not isinstance(substantiated, bool):
        raise _error("substantiated", _("Say whether the complaint is substantiated."), "required")
    _in_hall(window, complaint.hall_id, "window")
    _in_hall(staff, complaint.hall_id, "staff", _staff_hall)
    measures = _text_clean(measures, "measures", required=substantiated)
    if substantiated and window is None and staff is None:
        raise _error(
            "window",
            _("A substantiated complaint names the window or the staff member."),
            "required",
        )
    with transaction.atomic():
        complaint = _lock(complaint, (S.INVESTIGATED,), "decide")
        return _move(
            complaint,
            S.DECIDED,
            actor=actor,
            now=now,
            note=measures,
            substantiated=substantiated,
            window=window or complaint.window,
            staff=staff or complaint.staff,
            measures=measures,
        )


def complaint_reply(
    *, complaint: Complaint, method: str, text: str, actor, now: dt.datetime
) -> Complaint:
    """GB/T 36113 答复, DB1403/T 7.3: tell the complainant the outcome; a written complaint
    gets a written reply."""
    _handle_check(complaint, actor, now)
    method = _choice_clean(method, ReplyMethod, "reply_method")
    text = _text_clean(text, "reply_text")
    if complaint.channel in WRITTEN_CHANNELS and method not in WRITTEN_REPLY_METHODS:
        raise _error(
            "reply_method",
            _("A written complaint gets a written reply (GB/T 36113)."),
            "written_reply",
        )
    with transaction.atomic():
        complaint = _lock(complaint, (S.DECIDED,), "reply")
        return _move(
            complaint,
            S.REPLIED,
            actor=actor,
            now=now,
            reply_method=method,
            reply_text=text,
            replied_at=now,
        )


def complaint_follow_up(
    *, complaint: Complaint, satisfied: bool, actor, now: dt.datetime, note=""
) -> Complaint:
    """GB/T 36113 回访, DB1403/T 7.3: ask the complainant whether they are satisfied."""
    _handle_check(complaint, actor, now)
    if not isinstance(satisfied, bool):
        raise _error("satisfied", _("Say whether the complainant is satisfied."), "required")
    note = _text_clean(note, "note", required=False, limit=NOTE_MAX)
    with transaction.atomic():
        complaint = _lock(complaint, (S.REPLIED, S.SETTLED), "follow_up")
        return _move(complaint, S.FOLLOWED_UP, actor=actor, now=now, note=note, satisfied=satisfied)


def complaint_archive(*, complaint: Complaint, actor, now: dt.datetime) -> Complaint:
    """GB/T 36113 归档, DB1403/T 7.3: close the file."""
    _handle_check(complaint, actor, now)
    with transaction.atomic():
        complaint = _lock(complaint, (S.FOLLOWED_UP, S.NOT_ACCEPTED), "archive")
        return _move(complaint, S.ARCHIVED, actor=actor, now=now, archived_at=now)


# --- deadlines --------------------------------------------------------------------------------


def complaints_overdue(now: dt.datetime):
    """GB/T 36113 (local deadlines), DB1403/T 7.3: complaints not accepted by their acceptance
    date, or not replied to by their reply date."""
    from django.db.models import Q

    today = local(now).date()
    return (
        Complaint.objects.filter(
            Q(state__in=AWAITING_ACCEPTANCE, accept_due__lt=today)
            | Q(state__in=AWAITING_REPLY, reply_due__lt=today)
        )
        .select_related("hall")
        .order_by("pk")
    )


# --- confidentiality --------------------------------------------------------------------------


def mask_name(name: str) -> str:
    """李四 → 李*: the surname only."""
    name = (name or "").strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_phone(phone) -> str:
    """13800138000 → 138****8000."""
    if not phone:
        return ""
    digits = str(getattr(phone, "national_number", "") or phone)
    digits = "".join(c for c in digits if c.isdigit())
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def user_sees_identity(complaint: Complaint, user) -> bool:
    """GB/T 36113: only handlers with the permission see who complained; never the staff
    member complained about when the complainant asked so."""
    if not user.is_authenticated or not user.has_perm("complaints.view_complainant_identity"):
        return False
    return not (complaint.staff_id is not None and complaint.staff_id == user.pk)


def complainant_shown(complaint: Complaint, user, *, where: str = "", now=None) -> dict:
    """GB/T 36113, DB1403/T 7.3: the complainant's name and phone for ``user`` — masked
    unless the user may see them; every unmasked view is logged (``IdentityView``)."""
    if user_sees_identity(complaint, user):
        IdentityView.objects.create(
            complaint=complaint, user=user, at=now or timezone.now(), where=where[:30]
        )
        phone = complaint.complainant_phone
        return {
            "name": complaint.complainant_name,
            "phone": phone.as_national if phone else "",
            "masked": False,
        }
    return {
        "name": mask_name(complaint.complainant_name),
        "phone": mask_phone(complaint.complainant_phone),
        "masked": True,
    }
