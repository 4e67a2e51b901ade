"""The evaluation's sweeps: bad reviews (DB1403/T 8.2) and improvement actions (8.3) past their
deadlines, registered in the project's one registry of sweeps (yuyue/sweeps.py, which says what
every sweep promises)."""

import datetime as dt

from django.utils.translation import gettext as _

from appointments.models import Appointment
from duty.roles import supervisors_by_hall
from sms.models import Alert
from sms.subjects import subject_fields
from yuyue.sweeps import SweepResult, alerts_create, alerts_to, register_sweep

from .improvement import improvement_actions_overdue
from .ratings import bad_review_late_steps, bad_reviews_overdue
from .reporting.summary import summary_refresh

# --- 8.2: bad reviews past their deadline --------------------------------------------------------


def bad_reviews_sweep(*, now: dt.datetime) -> SweepResult:
    """好差评 (DB1403/T 8.2, local deadlines): a bad review not contacted by its contact date or
    not rectified by its rectification date (working days) alerts its handler and the hall's
    supervisors — once per step that is late."""
    overdue = list(bad_reviews_overdue(now))
    if not overdue:
        return SweepResult()
    supervisors = supervisors_by_hall({c.rating.hall_id for c in overdue})
    alerts = []
    for case in overdue:
        rating = case.rating
        recipients = {case.handler_id, *supervisors.get(rating.hall_id, [])}
        for step in bad_review_late_steps(case, now):
            due = case.contact_due if step == "contact" else case.rectify_due
            text = (
                _("Bad review of %(ref)s (window %(window)s): rater not contacted by %(due)s.")
                if step == "contact"
                else _("Bad review of %(ref)s (window %(window)s): not rectified by %(due)s.")
            ) % {"ref": rating.appointment.reference, "window": rating.window, "due": due}
            alerts += alerts_to(
                recipients,
                hall_id=rating.hall_id,
                kind=Alert.Kind.BAD_REVIEW_OVERDUE,
                **subject_fields(Appointment, rating.appointment_id),
                text=text,
                created_at=now,
                dedupe_key=f"bad_review:{case.pk}:{step}",
            )
    return SweepResult(alerts=alerts_create(alerts=alerts))


# --- 8.3: improvement actions past their due date -------------------------------------------------


def improvement_actions_sweep(*, now: dt.datetime) -> SweepResult:
    """DB1403/T 8.3: an improvement action still open or in progress after its due date alerts
    its owner and the hall's supervisors — once per action and person."""
    overdue = list(improvement_actions_overdue(now).select_related("window"))
    if not overdue:
        return SweepResult()
    supervisors = supervisors_by_hall({a.hall_id for a in overdue})
    alerts = []
    for action in overdue:
        text = _("Improvement action “%(title)s” is overdue: it was due by %(due)s.") % {
            "title": action.title,
            "due": action.due.isoformat(),
        }
        alerts += alerts_to(
            {action.owner_id, *supervisors.get(action.hall_id, [])},
            hall_id=action.hall_id,
            kind=Alert.Kind.ACTION_OVERDUE,
            text=text,
            created_at=now,
            dedupe_key=f"action:{action.pk}",
        )
    return SweepResult(alerts=alerts_create(alerts=alerts))


# --- 7.4, 8.2: the dashboard's per-day summary --------------------------------------------------


def dashboard_summary_sweep(*, now: dt.datetime) -> SweepResult:
    """The dashboard's summary brought up to date: the days marked stale since the last run
    counted again, the day before yesterday added (evaluation.reporting.summary). Until then
    the dashboard counts those days from the records: slower, never wrong."""
    return SweepResult(summarised=summary_refresh(now=now))


def dashboard_summary_rebuild_sweep(*, now: dt.datetime) -> SweepResult:
    """The safety net under the stale marks: every hall's summary counted again from the
    records, once a day."""
    return SweepResult(summarised=summary_refresh(now=now, full=True))


register_sweep("bad_reviews", bad_reviews_sweep, minutes=60)
register_sweep("improvement_actions", improvement_actions_sweep, minutes=1440)
register_sweep("dashboard_summary", dashboard_summary_sweep, minutes=1)
register_sweep("dashboard_summary_rebuild", dashboard_summary_rebuild_sweep, minutes=1440)
