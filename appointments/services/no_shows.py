"""No-shows (DB1403/T 6.2.3): the follow-up opened 30 min after a missed start, taken by a staff
member and recorded with how the applicant was contacted."""

import datetime as dt

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from yuyue.checks import field_error as _error
from yuyue.checks import require_perm as _require_perm
from yuyue.locks import locking_transaction
from yuyue.stored_texts import stored_text

from ..models import (
    Appointment,
    ContactLog,
    NoShowFollowUp,
    Status,
)
from ..notifications import show_time
from ._common import (
    AWAITING_ARRIVAL,
    Action,
    _lock,
    _lock_id,
    _log,
    _method_clean,
    _require_hall,
    _update,
    _withdraw_open_changes,
)
from ._placing import _move_fields, _short_notice_clean
from .rules import booking_target_clean, no_show_follow_up_due_at
from .steps import BOOKING_STEPS


def no_show_candidates(*, now: dt.datetime):
    """DB1403/T 6.2.3: bookings 30 min past their start, not arrived, with no follow-up yet."""
    cutoff = now - dt.timedelta(minutes=settings.NO_SHOW_FOLLOW_UP_MINUTES)
    return (
        Appointment.objects.filter(status__in=AWAITING_ARRIVAL, start__lte=cutoff)
        .exclude(
            Exists(
                NoShowFollowUp.objects.filter(
                    appointment=OuterRef("pk"), slot_start=OuterRef("start")
                )
            )
        )
        .select_related("window")
    )


def no_show_follow_up_open(*, appointment: Appointment, now: dt.datetime) -> NoShowFollowUp:
    """DB1403/T 6.2.3: 30 min after the start without arrival, the window must contact the
    applicant. Opening twice returns the same follow-up."""
    with locking_transaction():
        appointment = _lock(appointment)
        BOOKING_STEPS.check("open_follow_up", appointment)
        due_at = no_show_follow_up_due_at(start=appointment.start)
        if now < due_at:
            raise _error(
                "start",
                _("The follow-up is due 30 minutes after the start, at %(time)s.")
                % {"time": show_time(due_at)},
                "not_due",
            )
        follow_up, created = NoShowFollowUp.objects.get_or_create(
            appointment=appointment,
            slot_start=appointment.start,
            defaults={
                "due_at": due_at,
                "opened_at": now,
                "assigned_to": appointment.contact_person
                or appointment.responsible_staff
                or appointment.window_head,
            },
        )
        if created:
            _log(appointment, Action.FOLLOW_UP_OPENED, actor=None, now=now)
    return follow_up


def no_show_follow_ups_open(*, now: dt.datetime) -> list[NoShowFollowUp]:
    """DB1403/T 6.2.3: the sweep: open every follow-up that is due. Safe to run repeatedly."""
    return [
        no_show_follow_up_open(appointment=appointment, now=now)
        for appointment in no_show_candidates(now=now)
    ]


def no_show_follow_up_take(
    *,
    appointment: Appointment,
    outcome: str,
    method: str,
    actor,
    now: dt.datetime,
    note: str = "",
    new_start: dt.datetime | None = None,
    short_notice_reason: str = "",
) -> NoShowFollowUp:
    """DB1403/T 6.2.3: the window records the follow-up of a booking, opening it first if the
    sweep has not yet (``no_show_follow_up_open``, ``no_show_follow_up_record``)."""
    follow_up = appointment.follow_ups.filter(outcome="").first() or no_show_follow_up_open(
        appointment=appointment, now=now
    )
    return no_show_follow_up_record(
        follow_up=follow_up,
        outcome=outcome,
        method=method,
        note=note,
        new_start=new_start,
        short_notice_reason=short_notice_reason,
        actor=actor,
        now=now,
    )


def no_show_follow_up_record(
    *,
    follow_up: NoShowFollowUp,
    outcome: str,
    method: str,
    actor,
    now: dt.datetime,
    note: str = "",
    new_start: dt.datetime | None = None,
    short_notice_reason: str = "",
) -> NoShowFollowUp:
    """DB1403/T 6.2.3: record whether the applicant gives up, reschedules or is on the way.

    Giving up or being unreachable closes the booking as a no-show; a new time is booked like any
    staff booking (5.1.1: under 24 h only with a reason).
    """
    Outcome = NoShowFollowUp.Outcome
    _require_perm(actor, "appointments.record_no_show")
    _require_hall(actor, follow_up.appointment.window.hall_id)
    if outcome not in Outcome.values:
        raise _error("outcome", _("Choose an outcome."), "required")
    _method_clean(method)
    with locking_transaction():
        appointment = _lock_id(follow_up.appointment_id)
        follow_up = NoShowFollowUp.objects.select_for_update().get(pk=follow_up.pk)
        if follow_up.outcome:
            raise _error("outcome", _("The outcome is already recorded."), "done")
        fields = {}
        if outcome in (Outcome.GAVE_UP, Outcome.UNREACHABLE):
            BOOKING_STEPS.check("open_follow_up", appointment)
            fields["status"] = Status.NO_SHOW
        elif outcome == Outcome.RESCHEDULED:
            BOOKING_STEPS.check("open_follow_up", appointment)
            if new_start is None:
                raise _error("new_start", _("Enter the new time."), "required")
            slot = booking_target_clean(
                matter=appointment.matter, window=appointment.window, start=new_start, now=now
            )
            reason = _short_notice_clean(
                start=new_start, now=now, reason=short_notice_reason, actor=actor
            )
            fields.update(_move_fields(appointment, window=appointment.window, slot=slot))
            fields["short_notice_reason"] = reason
        if outcome != Outcome.ON_THE_WAY:
            # The booked time is gone: a change requested for it can no longer apply.
            _withdraw_open_changes(
                appointment, actor=actor, now=now, note=stored_text(Outcome(outcome).label)
            )
        follow_up.outcome, follow_up.recorded_at, follow_up.recorded_by, follow_up.note = (
            outcome,
            now,
            actor,
            note,
        )
        follow_up.save()
        # Stored as msgids: each reader sees the outcome in their own language.
        label = Outcome(outcome).label
        ContactLog.objects.create(
            appointment=appointment,
            purpose=ContactLog.Purpose.NO_SHOW,
            method=method,
            at=now,
            by=actor,
            outcome=(
                stored_text(gettext_noop("%(outcome)s. %(note)s"), outcome=label, note=note)
                if note
                else stored_text(label)
            ),
        )
        _update(
            appointment,
            Action.FOLLOW_UP_RECORDED,
            actor=actor,
            now=now,
            note=stored_text(label),
            **fields,
        )
    return follow_up
