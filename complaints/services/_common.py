"""What the complaint services share: limits, cleaners, the hall check, the row lock, state
check and step record of every step (GB/T 36113), and saving an investigation document."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from duty.scoping import user_hall_id
from yuyue.checks import field_error as _error
from yuyue.checks import require_aware as _require_aware
from yuyue.checks import require_perm as _require_perm
from yuyue.transitions import Transition

from ..models import (
    Complaint,
    ComplaintAttachment,
    ComplaintState,
    ComplaintStep,
)

S = ComplaintState
TEXT_MAX = 5000
NOTE_MAX = 5000
# The states in which investigation documents may be added (complaint_attachment_add).
ATTACHABLE = (S.ACCEPTED, S.REFERRED, S.INVESTIGATED, S.DECIDED)


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


def _state_refusal(complaint: Complaint, transition: Transition) -> ValidationError:
    """Why COMPLAINT_STEPS refuses a step in the complaint's state (steps.py)."""
    return _error(
        "state",
        str(transition.refused)
        + " "
        + _("Its state is “%(state)s”.") % {"state": complaint.get_state_display()},
        "invalid_state",
    )


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


ATTACHMENT_NAME_MAX = 200


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
