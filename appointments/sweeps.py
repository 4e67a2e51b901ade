"""The bookings' sweeps that watch the clock (DB1403/T 5.1.3 c, 6.1.1 a, 6.1.3, 6.2.3),
registered in the project's one registry of sweeps (yuyue/sweeps.py, which says what every
sweep promises). The worker runs them on a schedule (``setup_schedules``); an operator can run
one by hand with ``manage.py sweep NAME --now …``.
"""

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from duty.calendar import days_info, local, regular_periods_by_hall, working_time_between
from duty.roles import Role, staff_with_role
from sms.models import Alert, Message
from sms.phones import phone_is_mobile
from sms.services import messages_queue
from sms.subjects import subject_fields
from sms.templates import message_text, template_text, template_values
from yuyue.sweeps import SweepResult, alerts_create, alerts_to, register_sweep

from .models import Appointment, ChangeRequest, Channel, NoShowFollowUp, Status
from .notifications import booking_context, show_time
from .register import register_exports_recover
from .services import (
    OPEN_STATUSES,
    change_phone_alerts_create,
    no_show_candidates,
    no_show_follow_up_open,
    one_time_notice_overdue,
)
from .texts import booking_time_key

logger = logging.getLogger(__name__)


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
    contexts = {appointment.pk: booking_context(appointment=appointment) for appointment in due}
    messages = [
        Message(
            phone=appointment.phone,
            purpose=Message.Purpose.REMINDER,
            text=message_text(
                purpose=Message.Purpose.REMINDER,
                context=contexts[appointment.pk],
                template=template,
            ),
            context=template_values(
                purpose=Message.Purpose.REMINDER, context=contexts[appointment.pk]
            ),
            subject=appointment,
            dedupe_key=keys[appointment.pk],
            created_at=now,
        )
        for appointment in due
        if keys[appointment.pk] not in sent
    ]
    return SweepResult(messages=messages_queue(messages=messages))


# --- 6.2.2: change notices not delivered by the 8 h mark ---------------------------------------


def change_notice_sweep(*, now: dt.datetime) -> SweepResult:
    """DB1403/T 6.2.2: an approved change not yet applied at its 8 h mark (its SMS notice not
    delivered, not sent, or the applicant on a landline) alerts its approver and the hall's desk
    to phone the applicant (once per change); recording the call applies the change
    (``change_request_notify_and_apply``)."""
    mark = dt.timedelta(hours=settings.CHANGE_NOTICE_MIN_HOURS)
    due = (
        ChangeRequest.objects.filter(
            state=ChangeRequest.State.APPROVED,
            original_start__gt=now,
            original_start__lte=now + mark,
        )
        .select_related("appointment", "original_window")
        .order_by("original_start")
    )
    return SweepResult(
        alerts=sum(change_phone_alerts_create(change=change, now=now) for change in due)
    )


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
    approvers = list(staff_with_role(Role.AGENCY_APPROVER, hall_ids))
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
    desk = list(staff_with_role(Role.DESK, {a.window.hall_id for a in waiting}))
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


def one_time_notice_sweep(*, now: dt.datetime) -> SweepResult:
    """DB1403/T 6.1.3: a booking handed over to its window whose contact has not given the
    one-time notice ONE_TIME_NOTICE_DEADLINE_HOURS before the start alerts the contact and the
    window head, once per hand-over."""
    overdue = one_time_notice_overdue(
        Appointment.objects.select_related("window"), now=now
    ).order_by("start")
    alerts = []
    for appointment in overdue:
        alerts += alerts_to(
            [
                appointment.contact_person_id,
                appointment.window_head_id or appointment.window.head_id,
            ],
            dedupe_key=f"notice:{appointment.pk}:{appointment.handed_over_at.timestamp():.0f}",
            hall_id=appointment.window.hall_id,
            kind=Alert.Kind.NOTICE_NOT_GIVEN,
            **subject_fields(Appointment, appointment.pk),
            text=_(
                "Booking %(ref)s (%(time)s, window %(window)s): the applicant has not been given "
                "the one-time notice. Call them now."
            )
            % {
                "ref": appointment.reference,
                "time": show_time(appointment.start),
                "window": appointment.window,
            },
            created_at=now,
        )
    return SweepResult(alerts=alerts_create(alerts=alerts))


def failed_messages_alert(*, now: dt.datetime) -> SweepResult:
    """A text message that finally failed (not sent, or sent and reported undelivered by the
    provider) alerts the desk of its booking's hall, who then calls the applicant instead."""
    # The message carries its booking's hall and reference: only that the booking still
    # exists is read from the bookings.
    failed = list(
        Message.objects.filter(
            status=Message.Status.FAILED, created_at__gte=now - dt.timedelta(days=2)
        ).about_any(Appointment.objects.all())
    )
    if not failed:
        return SweepResult()
    desk = list(staff_with_role(Role.DESK, {m.hall_id for m in failed}))
    alerts = [
        Alert(
            recipient_id=user.pk,
            hall_id=message.hall_id,
            kind=Alert.Kind.SMS_FAILED,
            **subject_fields(Appointment, message.subject_id),
            text=_("The %(purpose)s SMS for %(ref)s did not reach the applicant: call %(phone)s.")
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


# --- 附录A: register exports whose task was lost -----------------------------------------------


def register_exports_sweep(*, now: dt.datetime) -> SweepResult:
    """DB1403/T 附录A: exports that lost their task are queued again, interrupted ones marked
    failed (``register_exports_recover``)."""
    requeued, failed = register_exports_recover(now=now)
    return SweepResult(jobs=requeued + failed)


register_sweep("no_shows", no_show_sweep, minutes=1)
register_sweep("hand_over", hand_over_sweep, minutes=1)
register_sweep("one_time_notice", one_time_notice_sweep, minutes=5)
register_sweep("unconfirmed", unconfirmed_sweep, minutes=5)
register_sweep("reminders", reminder_sweep, minutes=5)
register_sweep("change_notices", change_notice_sweep, minutes=1)
register_sweep("failed_sms", failed_messages_alert, minutes=5)
register_sweep("register_exports", register_exports_sweep, minutes=1)
