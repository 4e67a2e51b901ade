"""The handling steps of a complaint (GB/T 36113; DB1403/T 7.3): accepted or not accepted,
settled on the spot or referred, investigated, decided, replied, followed up and archived."""

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from duty.scoping import user_hall_id
from sms.models import Message
from yuyue.checks import field_error as _error

from ..models import (
    WRITTEN_CHANNELS,
    WRITTEN_REPLY_METHODS,
    Complaint,
    RefusalReason,
    ReplyMethod,
)
from ._common import (
    NOTE_MAX,
    S,
    _attachment_save,
    _choice_clean,
    _handle_check,
    _in_hall,
    _move,
    _staff_hall,
    _text_clean,
)
from .attachments import attachment_clean
from .deadlines import reply_due_date
from .registering import complainant_text
from .steps import _lock


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
