"""Leave (调休) with cover (顶岗), DB1403/T 6.2.4, 6.2.5: a staff member asks, naming who covers;
the window head approves or refuses; no duty is left with nobody on it."""

import datetime as dt
from collections import defaultdict

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yuyue.checks import field_error as _error
from yuyue.checks import require_aware as _require_aware

from ..models import DutyAssignment, LeaveRequest
from ._common import _lock_users, _lock_window, period_label, person, user_manages_window

# --- leave (调休) and cover (顶岗) -----------------------------------------------------------


def _leave_gaps(*, staff, start, end, cover, ignore_leave=None) -> list[str]:
    """DB1403/T 6.2.4: the duty periods that ``staff``'s leave would leave with nobody on duty,
    each with why the cover cannot take it."""
    mine = list(
        DutyAssignment.objects.filter(
            staff=staff, on_leave__isnull=True, duty__start__lt=end, duty__end__gt=start
        ).select_related("duty__window")
    )
    if not mine:
        return []
    duty_ids = [a.duty_id for a in mine]
    others = defaultdict(set)
    for duty_id, staff_id in DutyAssignment.objects.filter(
        duty_id__in=duty_ids, on_leave__isnull=True
    ).values_list("duty_id", "staff_id"):
        others[duty_id].add(staff_id)
    cover_duties = []
    cover_leaves = []
    if cover is not None:
        cover_duties = list(
            DutyAssignment.objects.filter(
                staff=cover,
                on_leave__isnull=True,
                duty__start__lt=end,
                duty__end__gt=start,
            ).select_related("duty__window")
        )
        cover_leaves = list(
            LeaveRequest.objects.filter(
                staff=cover, state=LeaveRequest.State.APPROVED, start__lt=end, end__gt=start
            ).exclude(pk=getattr(ignore_leave, "pk", None))
        )
    gaps = []
    for a in mine:
        duty = a.duty
        if others[duty.pk] - {staff.pk}:
            continue  # someone else stays on duty
        where = _("window %(window)s, %(period)s") % {
            "window": duty.window,
            "period": period_label(duty.start, duty.end),
        }
        if cover is None:
            gaps.append(
                _("%(where)s would have nobody on duty: name a cover (顶岗).") % {"where": where}
            )
            continue
        busy = next(
            (
                c.duty
                for c in cover_duties
                if c.duty_id != duty.pk and c.duty.start < duty.end and duty.start < c.duty.end
            ),
            None,
        )
        if busy is not None:
            reason = _("%(cover)s is on duty at window %(window)s then") % {
                "cover": person(cover),
                "window": busy.window,
            }
        elif any(lv.start < duty.end and duty.start < lv.end for lv in cover_leaves):
            reason = _("%(cover)s is on leave then") % {"cover": person(cover)}
        else:
            continue
        gaps.append(
            _("%(where)s would have nobody on duty: %(reason)s.")
            % {"where": where, "reason": reason}
        )
    return gaps


def _leave_people_clean(*, staff, cover, hall_id: int) -> None:
    if cover is not None and cover.pk == staff.pk:
        raise _error(
            "cover",
            _("The cover must be someone other than the person taking leave."),
            "cover_is_staff",
        )
    if cover is not None:
        profile = getattr(cover, "staff_profile", None)
        if not cover.is_active or profile is None or profile.hall_id != hall_id:
            raise _error("cover", _("The cover must be active staff of this hall."), "cover_hall")


def leave_request(
    *, staff, start: dt.datetime, end: dt.datetime, cover, reason: str = "", actor, now
) -> LeaveRequest:
    """DB1403/T 6.2.4: a staff member asks for leave (调休), naming who covers (顶岗).

    Refused at once, naming the period, when a duty would be left with nobody: the person is
    alone on it and no cover is named, or the cover is on another duty or on leave then.
    """
    _require_aware(now)
    if actor is None or not actor.has_perm("duty.add_leaverequest"):
        raise PermissionDenied(_("You are not allowed to request leave."))
    profile = getattr(staff, "staff_profile", None)
    if profile is None or profile.window_id is None:
        raise _error("staff", _("%(person)s has no window.") % {"person": person(staff)}, "window")
    window = profile.window
    if actor.pk != staff.pk and not user_manages_window(actor, window):
        raise PermissionDenied(_("Staff request their own leave; the window head may do it."))
    if start is None or end is None or timezone.is_naive(start) or timezone.is_naive(end):
        raise _error("start", _("Enter a date and time."), "invalid_start")
    if start >= end:
        raise _error("end", _("The end must be after the start."), "range")
    if end <= now:
        raise _error("end", _("This leave is already over."), "past")
    _leave_people_clean(staff=staff, cover=cover, hall_id=window.hall_id)
    gaps = _leave_gaps(staff=staff, start=start, end=end, cover=cover)
    if gaps:
        raise ValidationError({"cover": [ValidationError(g, code="uncovered") for g in gaps]})
    return LeaveRequest.objects.create(
        staff=staff,
        window=window,
        start=start,
        end=end,
        cover=cover,
        reason=(reason or "").strip(),
        requested_at=now,
    )


def _lock_leave(leave: LeaveRequest, action: str) -> LeaveRequest:
    leave = LeaveRequest.objects.select_for_update().get(pk=leave.pk)
    if leave.state != LeaveRequest.State.REQUESTED:
        raise _error(
            "state",
            _("Only a leave waiting for the window head can be %(action)s; it is “%(state)s”.")
            % {"action": action, "state": leave.get_state_display()},
            "invalid_state",
        )
    return leave


def _require_leave_approver(actor, leave: LeaveRequest) -> None:
    if actor is None or not actor.has_perm("duty.approve_leaverequest"):
        raise PermissionDenied(_("You are not allowed to approve leave."))
    if not user_manages_window(actor, leave.window):
        raise PermissionDenied(
            _("Only the head of window %(window)s approves this leave.") % {"window": leave.window}
        )


def leave_approve(*, leave: LeaveRequest, actor, now: dt.datetime, note: str = "") -> LeaveRequest:
    """DB1403/T 6.2.4, 6.2.5: the window head approves a leave; the roster then shows the
    person as on leave and the cover on their duties (as the receiving staff member where the
    person was). Refused, naming the period, if a duty would be left with nobody."""
    _require_aware(now)
    _require_leave_approver(actor, leave)
    with transaction.atomic():
        _lock_window(leave.window)
        leave = _lock_leave(leave, _("approved"))
        _lock_users([leave.staff_id] + ([leave.cover_id] if leave.cover_id else []))
        gaps = _leave_gaps(staff=leave.staff, start=leave.start, end=leave.end, cover=leave.cover)
        if gaps:
            raise ValidationError({"cover": [ValidationError(g, code="uncovered") for g in gaps]})
        released = list(
            DutyAssignment.objects.select_for_update(of=("self",))
            .filter(
                staff=leave.staff,
                on_leave__isnull=True,
                duty__start__lt=leave.end,
                duty__end__gt=leave.start,
            )
            .select_related("duty")
        )
        for a in released:
            was_receiving = a.is_receiving
            a.on_leave, a.is_receiving = leave, False
            a.save(update_fields=["on_leave", "is_receiving"])
            cover_assignment = None
            if leave.cover_id is not None:
                busy = DutyAssignment.objects.filter(
                    staff_id=leave.cover_id,
                    on_leave__isnull=True,
                    duty__start__lt=a.duty.end,
                    duty__end__gt=a.duty.start,
                )
                cover_assignment = busy.filter(duty=a.duty).first()
                if cover_assignment is None and not busy.exists():
                    cover_assignment = DutyAssignment.objects.create(
                        duty=a.duty, staff_id=leave.cover_id, covers=leave
                    )
            if was_receiving:
                new = cover_assignment or a.duty.assignments.filter(on_leave__isnull=True).first()
                if new is not None:
                    DutyAssignment.objects.filter(pk=new.pk).update(is_receiving=True)
        leave.state = LeaveRequest.State.APPROVED
        leave.decided_by, leave.decided_at, leave.decision_note = actor, now, note
        leave.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
    return leave


def leave_reject(*, leave: LeaveRequest, actor, now: dt.datetime, note: str) -> LeaveRequest:
    """DB1403/T 6.2.4: the window head refuses a leave, saying why."""
    _require_aware(now)
    _require_leave_approver(actor, leave)
    note = (note or "").strip()
    if not note:
        raise _error("decision_note", _("Say why the leave is refused."), "required")
    with transaction.atomic():
        leave = _lock_leave(leave, _("rejected"))
        leave.state = LeaveRequest.State.REJECTED
        leave.decided_by, leave.decided_at, leave.decision_note = actor, now, note
        leave.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
    return leave
