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
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from duty.calendar import local, working_days_add
from duty.models import Hall
from duty.scoping import user_hall_id
from sms.models import Message
from sms.phones import phone_clean, phone_is_mobile
from sms.services import sms_send
from yuyue.checks import field_error as _error
from yuyue.checks import require_aware as _require_aware
from yuyue.checks import require_perm as _require_perm
from yuyue.transitions import Transition, TransitionTable

from .models import (
    ATTACHMENT_TYPES,
    AWAITING_ACCEPTANCE,
    AWAITING_REPLY,
    WRITTEN_CHANNELS,
    WRITTEN_REPLY_METHODS,
    Complaint,
    ComplaintAttachment,
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


# --- the steps --------------------------------------------------------------------------------


def _state_refusal(complaint: Complaint, transition: Transition) -> ValidationError:
    """Why COMPLAINT_STEPS refuses a step in the complaint's state (at the end of this module)."""
    return _error(
        "state",
        str(transition.refused)
        + " "
        + _("Its state is “%(state)s”.") % {"state": complaint.get_state_display()},
        "invalid_state",
    )


def _lock(complaint: Complaint, step: str) -> Complaint:
    # Race: two handlers act on the same complaint at once (two replies, refuse vs accept).
    # Locking the row makes the second wait and then see the state the first one left.
    locked = Complaint.objects.select_for_update().get(pk=complaint.pk)
    COMPLAINT_STEPS.check(step, locked)
    return locked


def _handle_check(complaint: Complaint, actor, now) -> None:
    _require_aware(now)
    _require_perm(actor, "complaints.handle_complaint")
    _require_hall(actor, complaint.hall_id)
    if complaint.staff_id is not None and complaint.staff_id == actor.pk:
        # GB/T 36113 (impartial handling): nobody handles a complaint about themselves.
        raise PermissionDenied(
            _("You are the staff member complained about: another handler takes this complaint.")
        )


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
    if complaint.staff_id is not None and handler.pk == complaint.staff_id:
        raise _error(
            "handler",
            _("The staff member complained about cannot handle the complaint."),
            "handler_complained_about",
        )
    with transaction.atomic():
        complaint = _lock(complaint, "accept")
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
        complaint = _lock(complaint, "refuse")
        complaint = _move(
            complaint,
            S.NOT_ACCEPTED,
            actor=actor,
            now=now,
            note=note,
            refusal_reason=reason,
            handler=complaint.handler or actor,
        )
        complainant_text(
            complaint=complaint,
            purpose=Message.Purpose.COMPLAINT_NOT_ACCEPTED,
            now=now,
            reason=str(complaint.get_refusal_reason_display()),
        )
        return complaint


def complaint_settle_on_spot(
    *, complaint: Complaint, result: str, actor, now: dt.datetime
) -> Complaint:
    """GB/T 36113 现场协调, DB1403/T 7.3: a simple complaint settled on the spot; the result is
    the reply."""
    _handle_check(complaint, actor, now)
    result = _text_clean(result, "result")
    with transaction.atomic():
        complaint = _lock(complaint, "settle")
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
        complaint = _lock(complaint, "refer")
        return _move(
            complaint, S.REFERRED, actor=actor, now=now, note=note, referred_department=department
        )


def complaint_investigate(
    *, complaint: Complaint, findings: str, actor, now: dt.datetime, attachments=()
) -> Complaint:
    """GB/T 36113 调查核实, DB1403/T 7.3: record what the investigation found, with its
    documents (images or PDFs, see ``complaint_attachment_add``). All or nothing: a bad file
    leaves the complaint as it was."""
    _handle_check(complaint, actor, now)
    findings = _text_clean(findings, "findings")
    checked = [attachment_clean(file=f) for f in attachments or () if f]
    with transaction.atomic():
        complaint = _lock(complaint, "investigate")
        complaint = _move(complaint, S.INVESTIGATED, actor=actor, now=now, findings=findings)
        for file, content_type in checked:
            _attachment_save(complaint, file, content_type, actor=actor, now=now)
        return complaint


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
        complaint = _lock(complaint, "decide")
        return _move(
            complaint,
            S.DECIDED,
            actor=actor,
            now=now,
            note=measures,
            substantiated=substantiated,
            decided_at=now,
            window=window or complaint.window,
            staff=staff or complaint.staff,
            measures=measures,
        )


def complaint_reply(
    *, complaint: Complaint, method: str, text: str, actor, now: dt.datetime
) -> Complaint:
    """GB/T 36113 答复, DB1403/T 7.3: tell the complainant the outcome; a written complaint
    gets a written reply. A reply by text message is sent to the complainant's mobile."""
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
        complaint = _lock(complaint, "reply")
        complaint = _move(
            complaint,
            S.REPLIED,
            actor=actor,
            now=now,
            reply_method=method,
            reply_text=text,
            replied_at=now,
        )
        if method == ReplyMethod.SMS:
            complainant_text(
                complaint=complaint, purpose=Message.Purpose.COMPLAINT_REPLY, now=now, reply=text
            )
        return complaint


def complaint_follow_up(
    *, complaint: Complaint, satisfied: bool, actor, now: dt.datetime, note=""
) -> Complaint:
    """GB/T 36113 回访, DB1403/T 7.3: ask the complainant whether they are satisfied."""
    _handle_check(complaint, actor, now)
    if not isinstance(satisfied, bool):
        raise _error("satisfied", _("Say whether the complainant is satisfied."), "required")
    note = _text_clean(note, "note", required=False, limit=NOTE_MAX)
    with transaction.atomic():
        complaint = _lock(complaint, "follow_up")
        return _move(complaint, S.FOLLOWED_UP, actor=actor, now=now, note=note, satisfied=satisfied)


def complaint_archive(*, complaint: Complaint, actor, now: dt.datetime) -> Complaint:
    """GB/T 36113 归档, DB1403/T 7.3: close the file."""
    _handle_check(complaint, actor, now)
    with transaction.atomic():
        complaint = _lock(complaint, "archive")
        return _move(complaint, S.ARCHIVED, actor=actor, now=now, archived_at=now)


# --- deadlines --------------------------------------------------------------------------------


def complaints_overdue(now: dt.datetime):
    """GB/T 36113 (local deadlines), DB1403/T 7.3: complaints not accepted by their acceptance
    date, or not replied to by their reply date."""
    return Complaint.objects.filter(overdue_condition(now)).select_related("hall").order_by("pk")


def complaint_running_deadline(*, complaint: Complaint) -> tuple[str, dt.date] | None:
    """GB/T 36113 (local deadlines), DB1403/T 7.3: the deadline running now — ``("accept",
    accept_due)`` while awaiting acceptance, ``("reply", reply_due)`` while awaiting the reply —
    or None once replied, refused or archived. The same states as ``overdue_condition``."""
    if complaint.state in AWAITING_ACCEPTANCE:
        return "accept", complaint.accept_due
    if complaint.state in AWAITING_REPLY and complaint.reply_due:
        return "reply", complaint.reply_due
    return None


def overdue_condition(now: dt.datetime) -> Q:
    """GB/T 36113 (local deadlines), DB1403/T 7.3: the overdue rule as a filter, for the sweep,
    the console's list filter and its flag on each row."""
    today = local(now).date()
    return Q(state__in=AWAITING_ACCEPTANCE, accept_due__lt=today) | Q(
        state__in=AWAITING_REPLY, reply_due__lt=today
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


# --- investigation attachments ----------------------------------------------------------------

ATTACHMENT_NAME_MAX = 200


def attachment_clean(*, file) -> tuple:
    """GB/T 36113 调查核实: an investigation document must be a JPEG, PNG or PDF — told by its
    first bytes, not only by its name — and at most COMPLAINT_ATTACHMENT_MAX_BYTES. Returns the
    file and its content type."""
    name = str(getattr(file, "name", "") or "")
    size = getattr(file, "size", None)
    if size is None or size <= 0:
        raise _error("attachment", _("The file is empty."), "empty")
    limit = settings.COMPLAINT_ATTACHMENT_MAX_BYTES
    if size > limit:
        raise _error(
            "attachment",
            _("The file is too large: at most %(mb)s MB.") % {"mb": round(limit / 1024 / 1024, 1)},
            "too_large",
        )
    file.seek(0)
    head = file.read(16)
    file.seek(0)
    lower = name.lower()
    for content_type, (endings, magics) in ATTACHMENT_TYPES.items():
        if head.startswith(magics) and lower.endswith(endings):
            return file, content_type
    raise _error(
        "attachment",
        _("Only JPEG or PNG images and PDF documents can be attached."),
        "file_type",
    )


def _attachment_save(complaint, file, content_type, *, actor, now) -> ComplaintAttachment:
    attachment = ComplaintAttachment(
        complaint=complaint,
        original_name=str(file.name).replace("\\", "/").rsplit("/", 1)[-1][:ATTACHMENT_NAME_MAX],
        content_type=content_type,
        size=file.size,
        uploaded_by=actor,
        uploaded_at=now,
    )
    attachment.file.save(attachment.original_name, file, save=False)
    attachment.save()
    return attachment


ATTACHABLE = (S.ACCEPTED, S.REFERRED, S.INVESTIGATED, S.DECIDED)


def complaint_attachment_add(
    *, complaint: Complaint, file, actor, now: dt.datetime
) -> ComplaintAttachment:
    """GB/T 36113 调查核实, DB1403/T 7.3: add a document to the investigation of a complaint
    that is being handled (accepted to decided); only handlers of its hall."""
    _handle_check(complaint, actor, now)
    file, content_type = attachment_clean(file=file)
    with transaction.atomic():
        locked = _lock(complaint, "attach")
        return _attachment_save(locked, file, content_type, actor=actor, now=now)


def attachment_may_see(*, attachment: ComplaintAttachment, user) -> bool:
    """GB/T 36113: investigation documents are for the complaint's handlers (its hall's staff
    with the handle permission), like the complainant's identity."""
    if not user.is_authenticated or not user.is_active:
        return False
    if not user.has_perm("complaints.handle_complaint"):
        return False
    return user.is_superuser or user_hall_id(user) == attachment.complaint.hall_id


# --- results: figures and the assessment (DB1403/T 7.4) ---------------------------------------


def _month_bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    first = month.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following - dt.timedelta(days=1)


def _day_range(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_default_timezone()
    return (
        dt.datetime.combine(start, dt.time(), tzinfo=tz),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=tz),
    )


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def complaint_figures(*, hall_id: int | None, month: dt.date, now: dt.datetime) -> dict:
    """GB/T 36113 (metrics), DB1403/T 7.3 and 7.4: a month's complaint figures for one hall
    (``hall_id``) or all halls (None). ``month`` is any day of the month; days are local.

    - ``received``: complaints received in the month.
    - ``response_due``: of those, the ones answered (accepted or not) and the ones whose
      acceptance date (``accept_due``) has passed by ``now`` — a complaint still within its
      time is not judged yet; ``responded``: of those, answered on or before their acceptance
      date; ``response_rate`` = responded / response_due.
    - ``completion_due``: complaints replied to in the month (settled on the spot counts as
      replied), plus those whose reply date (``reply_due``) fell in the month, has passed by
      ``now`` and that have no reply; ``completed_on_time``: of those, replied on or before
      their reply date; ``on_time_rate`` = completed_on_time / completion_due.
    - ``decided``: complaints decided in the month (by ``decided_at``); ``substantiated``: of
      those, substantiated; ``substantiated_rate`` = substantiated / decided.
    - ``followed_up``: follow-up visits made in the month; ``satisfied``: of those, the
      complainant was satisfied; ``satisfaction_rate`` = satisfied / followed_up.

    A rate is None when there is nothing to divide by (shown as “—”), never 0 % or 100 %.
    """
    _require_aware(now)
    first, last = _month_bounds(month)
    start, end = _day_range(first, last)
    today = local(now).date()
    complaints = Complaint.objects.all()
    if hall_id is not None:
        complaints = complaints.filter(hall_id=hall_id)

    received = list(
        complaints.filter(received_at__gte=start, received_at__lt=end).values_list(
            "pk", "accept_due", "accepted_at"
        )
    )
    refused_at = dict(
        ComplaintStep.objects.filter(
            complaint_id__in=[pk for pk, _due, _acc in received], to_state=S.NOT_ACCEPTED
        ).values_list("complaint_id", "at")
    )
    responded = response_due = 0
    for pk, accept_due, accepted_at in received:
        answered = accepted_at or refused_at.get(pk)
        if answered is None and accept_due >= today:
            continue  # still within its time
        response_due += 1
        if answered is not None and local(answered).date() <= accept_due:
            responded += 1

    replied_in_month = Q(replied_at__gte=start, replied_at__lt=end)
    due_unreplied = Q(
        replied_at__isnull=True,
        reply_due__gte=first,
        reply_due__lte=min(last, today - dt.timedelta(days=1)),
    )
    completion = list(
        complaints.filter(replied_in_month | due_unreplied).values_list("replied_at", "reply_due")
    )
    on_time = sum(
        1
        for replied_at, reply_due in completion
        if replied_at and reply_due and local(replied_at).date() <= reply_due
    )

    decided = list(
        complaints.filter(decided_at__gte=start, decided_at__lt=end).values_list(
            "substantiated", flat=True
        )
    )
    follow_ups = list(
        complaints.filter(
            steps__to_state=S.FOLLOWED_UP, steps__at__gte=start, steps__at__lt=end
        ).values_list("satisfied", flat=True)
    )
    figures = {
        "hall_id": hall_id,
        "month": first,
        "received": len(received),
        "response_due": response_due,
        "responded": responded,
        "completion_due": len(completion),
        "completed_on_time": on_time,
        "decided": len(decided),
        "substantiated": sum(1 for value in decided if value is True),
        "followed_up": len(follow_ups),
        "satisfied": sum(1 for value in follow_ups if value is True),
    }
    figures["response_rate"] = _rate(figures["responded"], figures["response_due"])
    figures["on_time_rate"] = _rate(figures["completed_on_time"], figures["completion_due"])
    figures["substantiated_rate"] = _rate(figures["substantiated"], figures["decided"])
    figures["satisfaction_rate"] = _rate(figures["satisfied"], figures["followed_up"])
    return figures


def substantiated_complaints(*, hall_id: int | None, start: dt.date, end: dt.date) -> dict:
    """DB1403/T 7.4, GB/T 36113: substantiated complaints, counted against the window and the
    staff member the decision named, for the assessment of windows and staff (issue 8).

    Complaints decided substantiated with a decision date (local) from ``start`` to ``end``,
    both included, of one hall (or all with None). Returns ``{"by_window": {window_id: n},
    "by_staff": {user_id: n}}``; a complaint naming both counts once in each.
    """
    lower, upper = _day_range(start, end)
    complaints = Complaint.objects.filter(
        substantiated=True, decided_at__gte=lower, decided_at__lt=upper
    )
    if hall_id is not None:
        complaints = complaints.filter(hall_id=hall_id)
    by_window: dict[int, int] = {}
    by_staff: dict[int, int] = {}
    for window_id, staff_id in complaints.values_list("window_id", "staff_id"):
        if window_id is not None:
            by_window[window_id] = by_window.get(window_id, 0) + 1
        if staff_id is not None:
            by_staff[staff_id] = by_staff.get(staff_id, 0) + 1
    return {"by_window": by_window, "by_staff": by_staff}


# --- the state machine ------------------------------------------------------------------------
# The steps above check the complaint's state through this table; the console's buttons
# (complaints.admin) are the steps it permits. The forms are the console's (complaints.console).

FORMS = "complaints.console."
HANDLE = "complaints.handle_complaint"

COMPLAINT_STEPS = TransitionTable(
    Transition(
        "accept",
        gettext_lazy("Accept"),
        complaint_accept,
        AWAITING_ACCEPTANCE,
        HANDLE,
        FORMS + "AcceptForm",
        gettext_lazy("Only a registered complaint can be accepted or refused."),
        clause="GB/T 36113 受理",
    ),
    Transition(
        "refuse",
        gettext_lazy("Do not accept"),
        complaint_refuse,
        AWAITING_ACCEPTANCE,
        HANDLE,
        FORMS + "RefuseForm",
        gettext_lazy("Only a registered complaint can be accepted or refused."),
        clause="GB/T 36113 不予受理",
    ),
    Transition(
        "settle",
        gettext_lazy("Settle on the spot"),
        complaint_settle_on_spot,
        (S.ACCEPTED,),
        HANDLE,
        FORMS + "SettleForm",
        gettext_lazy("Only an accepted complaint can be settled on the spot."),
        clause="GB/T 36113 现场协调",
    ),
    Transition(
        "refer",
        gettext_lazy("Refer to the department"),
        complaint_refer,
        (S.ACCEPTED,),
        HANDLE,
        FORMS + "ReferForm",
        gettext_lazy("Only an accepted complaint can be referred to a department."),
        clause="GB/T 36113 转办",
    ),
    Transition(
        "investigate",
        gettext_lazy("Record the investigation"),
        complaint_investigate,
        (S.ACCEPTED, S.REFERRED),
        HANDLE,
        FORMS + "InvestigateForm",
        gettext_lazy("Only an accepted or referred complaint can be investigated."),
        clause="GB/T 36113 调查核实",
    ),
    Transition(
        "attach",
        gettext_lazy("Add a document"),
        complaint_attachment_add,
        ATTACHABLE,
        HANDLE,
        FORMS + "AttachmentForm",
        gettext_lazy("Documents are added while the complaint is investigated."),
        clause="GB/T 36113 调查核实",
    ),
    Transition(
        "decide",
        gettext_lazy("Decide"),
        complaint_decide,
        (S.INVESTIGATED,),
        HANDLE,
        FORMS + "DecideForm",
        gettext_lazy("A complaint is decided after its investigation."),
        clause="GB/T 36113 处理; DB1403/T 7.4",
    ),
    Transition(
        "reply",
        gettext_lazy("Reply"),
        complaint_reply,
        (S.DECIDED,),
        HANDLE,
        FORMS + "ReplyForm",
        gettext_lazy("A complaint is replied to after it is decided."),
        clause="GB/T 36113 答复",
    ),
    Transition(
        "follow_up",
        gettext_lazy("Record the follow-up visit"),
        complaint_follow_up,
        (S.REPLIED, S.SETTLED),
        HANDLE,
        FORMS + "FollowUpForm",
        gettext_lazy("The follow-up visit comes after the reply or the settlement."),
        clause="GB/T 36113 回访",
    ),
    Transition(
        "archive",
        gettext_lazy("Archive"),
        complaint_archive,
        (S.FOLLOWED_UP, S.NOT_ACCEPTED),
        HANDLE,
        refused=gettext_lazy("Only a followed-up or not accepted complaint can be archived."),
        clause="GB/T 36113 归档",
    ),
    state="state",
    subject="complaint",
    refusal=_state_refusal,
)
