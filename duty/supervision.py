"""Inspections by supervisors (督查巡查, DB1403/T 7.2) and what they found, for 7.4."""

import datetime as dt
from collections import Counter

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from yuyue.checks import field_error as _error

from .models import Inspection, InspectionFinding, Window
from .names import staff_name
from .scoping import user_hall_id, user_sees_all_halls


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
                _("%(person)s is not staff of this window's hall.") % {"person": staff_name(user)},
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
    return inspection


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
