"""The complaints' sweep (GB/T 36113, DB1403/T 7.3), registered in the project's one registry of
sweeps (yuyue/sweeps.py, which says what every sweep promises)."""

import datetime as dt

from django.utils.translation import gettext as _

from duty.roles import supervisors_by_hall
from sms.models import Alert
from yuyue.sweeps import SweepResult, alerts_create, alerts_to, register_sweep

from .services import complaint_running_deadline, complaints_overdue

# --- 7.3: complaints past their deadline ----------------------------------------------------------


def complaints_sweep(*, now: dt.datetime) -> SweepResult:
    """GB/T 36113, DB1403/T 7.3: a complaint not accepted or not replied to by its deadline (in
    working days) alerts its handler and the hall's supervisors — once per step that is late."""
    overdue = list(complaints_overdue(now))
    if not overdue:
        return SweepResult()
    supervisors = supervisors_by_hall({c.hall_id for c in overdue})
    alerts = []
    for complaint in overdue:
        step, due = complaint_running_deadline(complaint=complaint)
        text = _("Complaint %(number)s is overdue: it was due by %(due)s (%(state)s).") % {
            "number": complaint.tracking_number,
            "due": due.isoformat(),
            "state": complaint.get_state_display(),
        }
        alerts += alerts_to(
            {complaint.handler_id, *supervisors.get(complaint.hall_id, [])},
            hall_id=complaint.hall_id,
            kind=Alert.Kind.COMPLAINT_OVERDUE,
            text=text,
            created_at=now,
            dedupe_key=f"complaint:{complaint.pk}:{step}",
        )
    return SweepResult(alerts=alerts_create(alerts=alerts))


register_sweep("complaints", complaints_sweep, minutes=60)
