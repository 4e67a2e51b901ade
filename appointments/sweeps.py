"""The sweeps that watch the clock (DB1403/T 5.1.3 c, 6.1.1 a, 6.1.3, 6.2.3).

Each takes ``now``, is safe to run again (alerts and messages carry a dedupe key), and does a
fixed number of queries for the whole sweep plus a bounded amount per item that is due — never
per booking in the database. The worker runs them on a schedule (``setup_schedules``); an
operator can run one by hand with ``manage.py sweep NAME --now …``.
"""

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from duty.attendance import duty_absences_record
from duty.calendar import days_info, local, regular_periods_by_hall, working_time_between
from duty.models import Hall
from duty.names import staff_name
from duty.roles import Role
from duty.rosters import duty_coverage_check
from sms.models import Alert, Message
from sms.phones import phone_is_mobile
from sms.services import messages_queue
from sms.subjects import subject_fields
from sms.templates import message_text, template_text

from .models import Appointment, Channel, NoShowFollowUp, Status
from .notifications import booking_context, show_time
from .services import OPEN_STATUSES, no_show_candidates, no_show_follow_up_open
from .texts import booking_time_key

logger = logging.getLogger(__name__)


@dataclass
class SweepResult:
    alerts: int = 0
    messages: int = 0
    follow_ups: int = 0


def alerts_create(*, alerts: list[Alert]) -> int:
    """Write alerts whose dedupe key is new; return how many were."""
    if not alerts:
        return 0
    existing = set(
        Alert.objects.filter(dedupe_key__in=[a.dedupe_key for a in alerts]).values_list(
            "dedupe_key", flat=True
        )
    )
    fresh = {a.dedupe_key: a for a in alerts if a.dedupe_key not in existing}
    Alert.objects.bulk_create(fresh.values(), ignore_conflicts=True, batch_size=500)
    return len(fresh)


def _staff_with_role(role: Role, hall_ids):
    return (
        get_user_model()
        .objects.filter(
            is_active=True, groups__name=role.value, staff_profile__hall_id__in=set(hall_ids)
        )
        .select_related("staff_profile")
        .distinct()
    )


# --- 6.2.3: no-shows --------------------------------------------------------------------------


def no_show_sweep(*, now: dt.datetime) -> SweepResult:
    """DB1403/T 6.2.3: 30 minutes after the start without arrival, open a follow-up for the
    window's contact person and alert them; the task stays in the console until its outcome is
    recorded. A booking checked in meanwhile is skipped; an open follow-up whose alert was lost
    (a sweep that stopped half-way) is alerted at the next run."""
    opened = 0
    for appointment in no_show_candidates(now=now):
        try:
            no_show_follow_up_open(appointment=appointment, now=now)
            opened += 1
        except ValidationError as error:
            logger.info("No follow-up for %s: %s", appointment.reference, error.messages)
    waiting = NoShowFollowUp.objects.filter(
        outcome="", assigned_to__isnull=False, opened_at__gte=now - dt.timedelta(days=1)
    ).select_related("appointment__window")
    alerts = [
        Alert(
            recipient_id=f.assigned_to_id,
            hall_id=f.appointment.window.hall_id,
            kind=Alert.Kind.NO_SHOW_DUE,
            **subject_fields(Appointment, f.appointment_id),
            text=_("%(name)s did not come at %(time)s (%(ref)s): contact them now.")
            % {
                "name": f.appointment.applicant_name,
                "time": show_time(f.slot_start),
                "ref": f.appointment.reference,
            },
            created_at=now,
            dedupe_key=f"noshow:{f.pk}",
        )
        for f in waiting
    ]
    return SweepResult(alerts=alerts_create(alerts=alerts), follow_ups=opened)


# --- reminders --------------------------------------------------------------------------------


def reminder_due_at(*, start: dt.datetime) -> dt.datetime:
    """REMINDER_TIME (18:00) local, REMINDER_DAYS_BEFORE (1) days before the booking."""
    hour, minute = (int(part) for part in settings.REMINDER_TIME.split(":"))
    day = local(start).date() - dt.timedelta(days=settings.REMINDER_DAYS_BEFORE)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=timezone.get_default_timezone())


def reminder_key(*, appointment) -> str:
    """One reminder per booking and time: a moved booking is reminded of its new time."""
    return f"reminder:{appointment.pk}:{booking_time_key(appointment.start)}"


def reminder_sweep(*, now: dt.datetime) -> SweepResult:
    """Remind the applicant at 18:00 the day before: time, window and address, materials, how
    to cancel (DB1403/T 6.1.3: everything in one go). A booking made after that time is
    reminded at once; a moved booking is reminded again for its new time."""
    hour, minute = (int(part) for part in settings.REMINDER_TIME.split(":"))
    now_local = local(now)
    last_day = now_local.date() + dt.timedelta(days=settings.REMINDER_DAYS_BEFORE)
    if now_local.time() < dt.time(hour, minute):
        last_day -= dt.timedelta(days=1)
    until = dt.datetime.combine(
        last_day + dt.timedelta(days=1), dt.time.min, tzinfo=timezone.get_default_timezone()
    )
    due = [
        appointment
        for appointment in Appointment.objects.filter(
            status__in=OPEN_STATUSES, start__gt=now, start__lt=until
        )
        .select_related("matter", "window__hall")
        .order_by("start")
        # Landlines (desk bookings by phone) cannot take an SMS.
        if phone_is_mobile(appointment.phone)
    ]
    keys = {appointment.pk: reminder_key(appointment=appointment) for appointment in due}
    sent = set(
        Message.objects.filter(dedupe_key__in=keys.values()).values_list("dedupe_key", flat=True)
    )
    template = template_text(purpose=Message.Purpose.REMINDER)
    messages = [
        Message(
            phone=appointment.phone,
            purpose=Message.Purpose.REMINDER,
            text=message_text(
                purpose=Message.Purpose.REMINDER,
                context=booking_context(appointment=appointment),
                template=template,
            ),
            subject=appointment,
            dedupe_key=keys[appointment.pk],
            created_at=now,
        )
        for appointment in due
        if keys[appointment.pk] not in sent
    ]
    return SweepResult(messages=messages_queue(messages=messages))


# --- 5.1.3 c, 6.1.1 a: online bookings waiting for the window --------------------------------


def unconfirmed_sweep(*, now: dt.datetime) -> SweepResult:
    """DB1403/T 5.1.3 c and 6.1.1 a: an online booking not confirmed within
    UNCONFIRMED_ALERT_WORKING_HOURS working hours alerts the window head; still unconfirmed
    UNCONFIRMED_AGENCY_ALERT_HOURS before its start, the agency's approvers."""
    pending = list(
        Appointment.objects.filter(channel=Channel.ONLINE, status=Status.PENDING, start__gt=now)
        .select_related("window")
        .prefetch_related("window__departments")
    )
    if not pending:
        return SweepResult()
    hall_ids = {a.window.hall_id for a in pending}
    periods = regular_periods_by_hall(hall_ids)
    days = days_info(min(local(a.created_at).date() for a in pending), local(now).date())
    limit = dt.timedelta(hours=settings.UNCONFIRMED_ALERT_WORKING_HOURS)
    agency_at = dt.timedelta(hours=settings.UNCONFIRMED_AGENCY_ALERT_HOURS)
    approvers = list(_staff_with_role(Role.AGENCY_APPROVER, hall_ids))
    alerts = []
    for appointment in pending:
        window = appointment.window
        waited = working_time_between(
            periods=periods.get(window.hall_id, []),
            days=days,
            start=appointment.created_at,
            end=now,
        )
        head_id = appointment.window_head_id or window.head_id
        if waited >= limit and head_id:
            alerts.append(
                _booking_alert(
                    appointment,
                    head_id,
                    Alert.Kind.UNCONFIRMED,
                    now,
                    _(
                        "Online booking %(ref)s (%(time)s) has waited %(hours)s working hours "
                        "for the window to confirm it."
                    ),
                    hours=settings.UNCONFIRMED_ALERT_WORKING_HOURS,
                )
            )
        if appointment.start - now <= agency_at:
            departments = {d.pk for d in window.departments.all()}
            for approver in approvers:
                profile = approver.staff_profile
                if profile.hall_id == window.hall_id and (
                    profile.department_id is None or profile.department_id in departments
                ):
                    alerts.append(
                        _booking_alert(
                            appointment,
                            approver.pk,
                            Alert.Kind.UNCONFIRMED_24H,
                            now,
                            _(
                                "Online booking %(ref)s (%(time)s) is still not confirmed by "
                                "window %(window)s, less than 24 h before it."
                            ),
                        )
                    )
    return SweepResult(alerts=alerts_create(alerts=alerts))


def _booking_alert(appointment, recipient_id, kind, now, text, **extra) -> Alert:
    return Alert(
        recipient_id=recipient_id,
        hall_id=appointment.window.hall_id,
        kind=kind,
        subject=appointment,
        text=text
        % {
            "ref": appointment.reference,
            "time": show_time(appointment.start),
            "window": appointment.window,
            **extra,
        },
        created_at=now,
        dedupe_key=f"{kind}:{appointment.pk}:{recipient_id}",
    )


# --- 6.1.3: hand-over -------------------------------------------------------------------------


def hand_over_sweep(*, now: dt.datetime) -> SweepResult:
    """DB1403/T 6.1.3: a booking accepted HAND_OVER_ALERT_MINUTES ago and not yet handed over
    to its window alerts the desk clerk who took it, or the hall's desk."""
    cutoff = now - dt.timedelta(minutes=settings.HAND_OVER_ALERT_MINUTES)
    waiting = list(
        Appointment.objects.filter(
            status=Status.ACCEPTED, accepted_at__lte=cutoff, start__gt=now - dt.timedelta(days=1)
        ).select_related("window", "received_by")
    )
    if not waiting:
        return SweepResult()
    desk = list(_staff_with_role(Role.DESK, {a.window.hall_id for a in waiting}))
    desk_ids = {user.pk for user in desk}
    alerts = []
    for appointment in waiting:
        if appointment.received_by_id in desk_ids:
            recipients = [appointment.received_by_id]
        else:
            recipients = [
                u.pk for u in desk if u.staff_profile.hall_id == appointment.window.hall_id
            ]
        alerts += [
            _booking_alert(
                appointment,
                recipient,
                Alert.Kind.NOT_HANDED_OVER,
                now,
                _("Booking %(ref)s (%(time)s) has not been handed over to window %(window)s."),
            )
            for recipient in recipients
        ]
    return SweepResult(alerts=alerts_create(alerts=alerts))


def failed_messages_alert(*, now: dt.datetime) -> SweepResult:
    """A text message that finally failed alerts the desk of its booking's hall, who then
    calls the applicant instead."""
    # The message carries its booking's hall and reference: only that the booking still
    # exists is read from the bookings.
    failed = list(
        Message.objects.filter(
            status=Message.Status.FAILED, created_at__gte=now - dt.timedelta(days=2)
        ).about_any(Appointment.objects.all())
    )
    if not failed:
        return SweepResult()
    desk = list(_staff_with_role(Role.DESK, {m.hall_id for m in failed}))
    alerts = [
        Alert(
            recipient_id=user.pk,
            hall_id=message.hall_id,
            kind=Alert.Kind.SMS_FAILED,
            **subject_fields(Appointment, message.subject_id),
            text=_("The %(purpose)s SMS for %(ref)s could not be sent: call %(phone)s.")
            % {
                "purpose": message.get_purpose_display(),
                "ref": message.subject_reference,
                "phone": message.phone,
            },
            created_at=now,
            dedupe_key=f"smsfailed:{message.pk}:{user.pk}",
        )
        for message in failed
        for user in desk
        if user.staff_profile.hall_id == message.hall_id
    ]
    return SweepResult(alerts=alerts_create(alerts=alerts))


# --- 6.2.1, 5.2: duties --------------------------------------------------------------------------


def _supervisors_by_hall(hall_ids) -> dict[int, list[int]]:
    result: dict[int, list[int]] = {}
    for user in _staff_with_role(Role.SUPERVISOR, hall_ids):
        result.setdefault(user.staff_profile.hall_id, []).append(user.pk)
    return result


def duty_absence_sweep(*, now: dt.datetime) -> SweepResult:
    """DB1403/T 6.2.1: nobody checked in DUTY_ABSENT_AFTER_MINUTES (15) after a duty's start:
    the absence is recorded once and the window head and the hall's supervisors are alerted."""
    absences = duty_absences_record(now=now)
    if not absences:
        return SweepResult()
    supervisors = _supervisors_by_hall({a.duty.window.hall_id for a in absences})
    alerts = []
    for absence in absences:
        window = absence.duty.window
        head_id = absence.duty.head_id or window.head_id
        text = _("%(person)s has not checked in for duty at %(window)s since %(time)s.") % {
            "person": staff_name(absence.staff),
            "window": window,
            "time": show_time(absence.duty.start),
        }
        for recipient in {head_id, *supervisors.get(window.hall_id, [])} - {None}:
            alerts.append(
                Alert(
                    recipient_id=recipient,
                    hall_id=window.hall_id,
                    kind=Alert.Kind.DUTY_ABSENT,
                    text=text,
                    created_at=now,
                    dedupe_key=f"absent:{absence.pk}:{recipient}",
                )
            )
    return SweepResult(alerts=alerts_create(alerts=alerts))


def roster_sweep(*, now: dt.datetime) -> SweepResult:
    """DB1403/T 4, 5.2, 6.2.4: every gap and conflict in the coming ROSTER_CHECK_DAYS of each
    hall's rosters (a holiday booking without a duty included) alerts the window head and the
    supervisors — again each day until it is put right."""
    today = local(now).date()
    last = today + dt.timedelta(days=settings.ROSTER_CHECK_DAYS)
    halls = list(Hall.objects.all())
    supervisors = _supervisors_by_hall({h.pk for h in halls})
    alerts = []
    for hall in halls:
        for problem in duty_coverage_check(hall=hall, start_date=today, end_date=last):
            window = problem.window
            recipients = {getattr(window, "head_id", None), *supervisors.get(hall.pk, [])}
            identity = ":".join(
                str(part)
                for part in (
                    problem.kind,
                    getattr(window, "pk", ""),
                    problem.start.isoformat() if problem.start else "",
                    getattr(problem.staff, "pk", ""),
                )
            )
            alerts += [
                Alert(
                    recipient_id=recipient,
                    hall_id=hall.pk,
                    kind=Alert.Kind.ROSTER_PROBLEM,
                    text=str(problem.message),
                    created_at=now,
                    dedupe_key=f"roster:{today}:{identity}:{recipient}"[:160],
                )
                for recipient in recipients - {None}
            ]
    return SweepResult(alerts=alerts_create(alerts=alerts))


# --- 7.3: complaints past their deadline ----------------------------------------------------------


def complaints_sweep(*, now: dt.datetime) -> SweepResult:
    """GB/T 36113, DB1403/T 7.3: a complaint not accepted or not replied to by its deadline (in
    working days) alerts its handler and the hall's supervisors — once per step that is late."""
    from complaints.services import complaint_running_deadline, complaints_overdue

    overdue = list(complaints_overdue(now))
    if not overdue:
        return SweepResult()
    supervisors = _supervisors_by_hall({c.hall_id for c in overdue})
    alerts = []
    for complaint in overdue:
        step, due = complaint_running_deadline(complaint=complaint)
        text = _("Complaint %(number)s is overdue: it was due by %(due)s (%(state)s).") % {
            "number": complaint.tracking_number,
            "due": due.isoformat(),
            "state": complaint.get_state_display(),
        }
        recipients = {complaint.handler_id, *supervisors.get(complaint.hall_id, [])} - {None}
        alerts += [
            Alert(
                recipient_id=recipient,
                hall_id=complaint.hall_id,
                kind=Alert.Kind.COMPLAINT_OVERDUE,
                text=text,
                created_at=now,
                dedupe_key=f"complaint:{complaint.pk}:{step}:{recipient}",
            )
            for recipient in recipients
        ]
    return SweepResult(alerts=alerts_create(alerts=alerts))


# --- 8.2: bad reviews past their deadline --------------------------------------------------------


def bad_reviews_sweep(*, now: dt.datetime) -> SweepResult:
    """好差评 (DB1403/T 8.2, local deadlines): a bad review not contacted by its contact date or
    not rectified by its rectification date (working days) alerts its handler and the hall's
    supervisors — once per step that is late."""
    from evaluation.ratings import bad_review_late_steps, bad_reviews_overdue

    overdue = list(bad_reviews_overdue(now))
    if not overdue:
        return SweepResult()
    supervisors = _supervisors_by_hall({c.rating.hall_id for c in overdue})
    alerts = []
    for case in overdue:
        rating = case.rating
        recipients = {case.handler_id, *supervisors.get(rating.hall_id, [])} - {None}
        for step in bad_review_late_steps(case, now):
            due = case.contact_due if step == "contact" else case.rectify_due
            text = (
                _("Bad review of %(ref)s (window %(window)s): rater not contacted by %(due)s.")
                if step == "contact"
                else _("Bad review of %(ref)s (window %(window)s): not rectified by %(due)s.")
            ) % {"ref": rating.appointment.reference, "window": rating.window, "due": due}
            alerts += [
                Alert(
                    recipient_id=recipient,
                    hall_id=rating.hall_id,
                    kind=Alert.Kind.BAD_REVIEW_OVERDUE,
                    **subject_fields(Appointment, rating.appointment_id),
                    text=text,
                    created_at=now,
                    dedupe_key=f"bad_review:{case.pk}:{step}:{recipient}",
                )
                for recipient in recipients
            ]
    return SweepResult(alerts=alerts_create(alerts=alerts))


# --- 8.3: improvement actions past their due date -------------------------------------------------


def improvement_actions_sweep(*, now: dt.datetime) -> SweepResult:
    """DB1403/T 8.3: an improvement action still open or in progress after its due date alerts
    its owner and the hall's supervisors — once per action and person."""
    from evaluation.improvement import improvement_actions_overdue

    overdue = list(improvement_actions_overdue(now).select_related("window"))
    if not overdue:
        return SweepResult()
    supervisors = _supervisors_by_hall({a.hall_id for a in overdue})
    alerts = []
    for action in overdue:
        text = _("Improvement action “%(title)s” is overdue: it was due by %(due)s.") % {
            "title": action.title,
            "due": action.due.isoformat(),
        }
        recipients = {action.owner_id, *supervisors.get(action.hall_id, [])} - {None}
        alerts += [
            Alert(
                recipient_id=recipient,
                hall_id=action.hall_id,
                kind=Alert.Kind.ACTION_OVERDUE,
                text=text,
                created_at=now,
                dedupe_key=f"action:{action.pk}:{recipient}",
            )
            for recipient in recipients
        ]
    return SweepResult(alerts=alerts_create(alerts=alerts))


SWEEPS = {
    "no_shows": no_show_sweep,
    "reminders": reminder_sweep,
    "unconfirmed": unconfirmed_sweep,
    "hand_over": hand_over_sweep,
    "failed_sms": failed_messages_alert,
    "duty_absences": duty_absence_sweep,
    "rosters": roster_sweep,
    "complaints": complaints_sweep,
    "bad_reviews": bad_reviews_sweep,
    "improvement_actions": improvement_actions_sweep,
}
