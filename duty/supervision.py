"""Inspections by supervisors (督查巡查, DB1403/T 7.2), what they found, and how each finding is
dealt with (及时进行处理): a handler, a deadline in working days, an outcome; for 7.4.

A finding's steps are ``FINDING_STEPS`` at the end of this module: ``assign`` (another handler)
and ``dispose`` (the outcome and what was done). The hourly ``inspection_findings`` sweep
(duty/sweeps.py) alerts the handler and the hall's supervisors once a finding is overdue.
"""

import datetime as dt
from collections import Counter

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yuyue.checks import field_error as _error
from yuyue.checks import text_clean as _text
from yuyue.transitions import Transition, TransitionTable

from .calendar import local, working_days_add
from .models import Inspection, InspectionFinding, Window
from .scoping import user_hall_id, user_sees_all_halls

FINDING_TEXT_MAX = 2000


def inspection_clean(*, window: Window, at: dt.datetime, inspector, staff, now: dt.datetime):
    """DB1403/T 7.2: a supervisor of the window's hall (or of the city hall) inspects it; an
    inspection is recorded after it took place; the staff concerned are of that hall."""
    if inspector is None or not inspector.has_perm("duty.add_inspection"):
        raise PermissionDenied(_("Only supervisors record inspections."))
    if not (user_sees_all_halls(inspector) or user_hall_id(inspector) == window.hall_id):
        raise PermissionDenied(_("This window belongs to another hall."))
    if at is None:
        raise _error("at", _("Enter a date and time."), "required")
    if at > now:
        raise _error("at", _("An inspection is recorded after it took place."), "future")
    for user in staff:
        profile = getattr(user, "staff_profile", None)
        if profile is None or profile.hall_id != window.hall_id:
            raise _error(
                "staff",
                _("%(person)s is not staff of this window's hall.")
                % {"person": user.get_full_name() or user.get_username()},
                "other_hall",
            )


def inspection_record(
    *,
    window: Window,
    at: dt.datetime,
    inspector,
    staff=(),
    findings=(),
    notes: str = "",
    photo=None,
    now: dt.datetime,
) -> Inspection:
    """DB1403/T 7.2: record an inspection: time, window, staff concerned, findings (absent from
    post, shirking, delay, fee charged, other — each optionally naming a staff member), notes and
    an optional photo. ``findings`` is a list of ``(kind, staff or None, note)``."""
    staff = list(staff)
    for kind, who, _note in findings:
        if kind not in InspectionFinding.Kind.values:
            raise _error("findings", _("Unknown finding."), "kind")
        if who is not None and who not in staff:
            staff.append(who)
    inspection_clean(window=window, at=at, inspector=inspector, staff=staff, now=now)
    with transaction.atomic():
        inspection = Inspection(
            window=window, at=at, inspector=inspector, notes=(notes or "").strip(), recorded_at=now
        )
        if photo is not None:
            inspection.photo = photo
        inspection.full_clean()
        inspection.save()
        inspection.staff.set(staff)
        InspectionFinding.objects.bulk_create(
            InspectionFinding(inspection=inspection, kind=kind, staff=who, note=note or "")
            for kind, who, note in findings
        )
        inspection_findings_open(inspection=inspection, now=now)
    return inspection


# --- dealing with the findings (7.2 及时进行处理) ----------------------------------------------


def inspection_finding_due(*, found_at: dt.datetime) -> dt.date:
    """DB1403/T 7.2: a finding is dealt with within INSPECTION_FINDING_WORKING_DAYS (5) working
    days of the inspection (holidays and make-up working days counted, ``duty.calendar``)."""
    return working_days_add(
        start=local(found_at).date(), days=settings.INSPECTION_FINDING_WORKING_DAYS
    )


def inspection_findings_open(*, inspection: Inspection, now: dt.datetime) -> int:
    """DB1403/T 7.2: the inspection's new findings get their handler (the inspector, who saw
    it) and their deadline; findings already given them are left alone. Called when an
    inspection is recorded, by the service or by the console's form. Returns how many."""
    return InspectionFinding.objects.filter(
        inspection=inspection, state=InspectionFinding.State.OPEN, due__isnull=True
    ).update(handler=inspection.inspector_id, due=inspection_finding_due(found_at=inspection.at))


def user_deals_with_findings(user, finding: InspectionFinding) -> bool:
    """DB1403/T 7.2: supervisors of the finding's hall (or of the city hall) deal with it."""
    if user is None or not user.is_active or not user.has_perm("duty.change_inspectionfinding"):
        return False
    hall_id = finding.inspection.window.hall_id
    return user_sees_all_halls(user) or user_hall_id(user) == hall_id


def _require_dealer(actor, finding: InspectionFinding) -> None:
    if not user_deals_with_findings(actor, finding):
        raise PermissionDenied(_("Only supervisors of this hall deal with its findings."))


def _lock_finding(finding: InspectionFinding, step: str) -> InspectionFinding:
    # Race: two supervisors record an outcome at once; the second waits for the first and then
    # finds the finding dealt with.
    finding = (
        InspectionFinding.objects.select_for_update()
        .select_related("inspection__window")
        .get(pk=finding.pk)
    )
    FINDING_STEPS.check(step, finding)
    return finding


def inspection_finding_assign(
    *, finding: InspectionFinding, handler, actor, now: dt.datetime
) -> InspectionFinding:
    """DB1403/T 7.2: a supervisor hands an open finding to another supervisor of the hall; a
    finding recorded without a deadline gets one from today."""
    _require_dealer(actor, finding)
    if handler is None or not user_deals_with_findings(handler, finding):
        raise _error(
            "handler", _("Choose a supervisor of this hall as the handler."), "not_supervisor"
        )
    with transaction.atomic():
        finding = _lock_finding(finding, "assign")
        finding.handler = handler
        finding.due = finding.due or inspection_finding_due(found_at=now)
        finding.save(update_fields=["handler", "due"])
    return finding


def inspection_finding_dispose(
    *, finding: InspectionFinding, outcome: str, measures: str, actor, now: dt.datetime
) -> InspectionFinding:
    """DB1403/T 7.2: the finding is dealt with: checked, and either substantiated (the window
    or staff member criticised and corrected, or held accountable) or not; what was done is
    recorded. An unfounded finding no longer counts in the assessment (7.4)."""
    _require_dealer(actor, finding)
    if outcome not in InspectionFinding.Outcome.values:
        raise _error("outcome", _("Choose the outcome."), "required")
    measures = _text(measures, "measures", required=True, limit=FINDING_TEXT_MAX)
    with transaction.atomic():
        finding = _lock_finding(finding, "dispose")
        finding.state = InspectionFinding.State.DISPOSED
        finding.outcome, finding.measures = outcome, measures
        finding.disposed_at, finding.disposed_by = now, actor
        finding.save(update_fields=["state", "outcome", "measures", "disposed_at", "disposed_by"])
    return finding


def inspection_findings_overdue(*, now: dt.datetime):
    """DB1403/T 7.2: open findings whose deadline (a date, Asia/Shanghai) is before today."""
    return InspectionFinding.objects.filter(
        state=InspectionFinding.State.OPEN, due__lt=local(now).date()
    )


def finding_is_overdue(finding: InspectionFinding, *, now: dt.datetime) -> bool:
    return (
        finding.state == InspectionFinding.State.OPEN
        and finding.due is not None
        and finding.due < local(now).date()
    )


def inspection_findings_count(*, inspections) -> dict:
    """DB1403/T 7.4: findings counted per window and per staff member and kind, the basis of
    their assessment; one query."""
    per_window: Counter = Counter()
    per_staff: Counter = Counter()
    for window_id, staff_id, kind in InspectionFinding.objects.filter(
        inspection__in=inspections
    ).values_list("inspection__window_id", "staff_id", "kind"):
        per_window[(window_id, kind)] += 1
        if staff_id is not None:
            per_staff[(staff_id, kind)] += 1
    return {"windows": per_window, "staff": per_staff}


def _finding_refusal(finding: InspectionFinding, transition: Transition) -> ValidationError:
    return _error(
        "state",
        _("The finding is %(state)s: %(why)s")
        % {"state": finding.get_state_display(), "why": transition.refused},
        "state",
    )


FINDING_STEPS = TransitionTable(
    Transition(
        "assign",
        gettext_lazy("Hand to another handler"),
        "duty.supervision.inspection_finding_assign",
        (InspectionFinding.State.OPEN,),
        "duty.change_inspectionfinding",
        "duty.admin.inspections.AssignFindingForm",
        gettext_lazy("only an open finding changes hands."),
        actor_may=user_deals_with_findings,
        clause="7.2",
    ),
    Transition(
        "dispose",
        gettext_lazy("Record how it was dealt with"),
        "duty.supervision.inspection_finding_dispose",
        (InspectionFinding.State.OPEN,),
        "duty.change_inspectionfinding",
        "duty.admin.inspections.DisposeFindingForm",
        gettext_lazy("it has been dealt with already."),
        actor_may=user_deals_with_findings,
        clause="7.2",
    ),
    state="state",
    subject="finding",
    refusal=_finding_refusal,
)
