"""The monthly assessment of windows and staff (DB1403/T 7.4: supervision results are the basis
of assessing windows and their staff).

For one hall and one calendar month (Asia/Shanghai), per window and per staff member:

- **punctuality** (6.2.1): duty check-ins on time / (check-ins + absences). A duty nobody checked
  in for ``DUTY_ABSENT_AFTER_MINUTES`` after its start is an absence and counts as not on time;
  duties of staff on leave do not count. Duties by their start in the month.
- **served on time** (5.1.2, 6.2.1 按时办理): bookings served in the month (``served_at``) whose
  service was recorded as finished within ``SERVED_ON_TIME_MINUTES`` of the later of the booked
  start and the applicant's arrival / bookings served. ``served_at`` is the only record of the
  service; measuring from the arrival when the applicant came late keeps their delay off the
  window.
- **8 h rule breaches** (6.2.2): changes applied in the month (by ``notified_at``) whose notice
  reached the applicant less than ``CHANGE_NOTICE_MIN_HOURS`` before the original start, and
  cancellations by the hall less than that before the start, *not* recorded as emergencies.
  Recorded emergencies are counted separately and cost no points.
- **follow-ups on time** (6.2.3): no-show follow-ups due in the month whose outcome was recorded
  within ``NO_SHOW_FOLLOW_UP_RECORD_MINUTES`` of their due time / follow-ups judged (recorded, or
  still open after that time).
- **substantiated complaints** (7.3): complaints decided substantiated in the month.
- **inspection findings** (7.2): findings of inspections made in the month, except those whose
  handler found them not substantiated (``InspectionFinding.Outcome.UNFOUNDED``); an open finding
  counts until it is dealt with.
- **good-review rate** (8.2, 好评率): ``evaluation.figures`` over the bookings served in the month;
  ratings excluded after an upheld appeal are left out there.

Bookings are attributed to their window and to their receiving staff member
(``Appointment.responsible_staff``, DB1403/T 6.2.5 direct responsibility); a follow-up to the
person it was assigned to; a finding or complaint to the staff member it names.

The score follows ``settings.ASSESSMENT_FORMULA`` (see ``formula_text``). Everything is computed
with a fixed number of grouped queries, whatever the number of windows, staff and bookings.

The counts themselves are ``evaluation.month_counts``'s (the self-evaluation of 8.1 is prefilled
from the same counts); this module scores them, makes the rows and says who reads which.
"""

import datetime as dt
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from duty.models import StaffProfile, Window
from duty.names import person_name
from duty.roles import Role
from duty.scoping import user_hall_id

from ..month_counts import COUNT_KEYS, assessment_counts, rates
from ..months import month_clean, month_started_check

# --- rates and the score -----------------------------------------------------------------------

RATE_LABELS = {
    "punctuality": gettext_lazy("punctuality"),
    "served_on_time": gettext_lazy("served on time"),
    "follow_ups_on_time": gettext_lazy("no-show follow-ups on time"),
    "good_review_rate": gettext_lazy("good-review rate"),
}
DEDUCTION_LABELS = {
    "change_breaches": gettext_lazy("8 h rule breaches"),
    "substantiated_complaints": gettext_lazy("substantiated complaints"),
    "findings": gettext_lazy("inspection findings"),
}


def formula() -> dict:
    """``settings.ASSESSMENT_FORMULA``, checked: a misspelt key must not silently score 100."""
    value = getattr(settings, "ASSESSMENT_FORMULA", None)
    if not isinstance(value, dict):
        raise ImproperlyConfigured("ASSESSMENT_FORMULA must be a dict (see yuyue/settings.py).")
    unknown = set(value) - {"base", "rates", "deductions", "floor"}
    unknown |= {f"rates.{k}" for k in value.get("rates", {}) if k not in RATE_LABELS}
    unknown |= {f"deductions.{k}" for k in value.get("deductions", {}) if k not in DEDUCTION_LABELS}
    if unknown:
        raise ImproperlyConfigured(
            f"ASSESSMENT_FORMULA has unknown keys: {', '.join(sorted(unknown))}. Rates: "
            f"{', '.join(RATE_LABELS)}; deductions: {', '.join(DEDUCTION_LABELS)}."
        )
    numbers = [value.get("base", 100), value.get("floor", 0)]
    numbers += list(value.get("rates", {}).values()) + list(value.get("deductions", {}).values())
    if not all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers):
        raise ImproperlyConfigured("ASSESSMENT_FORMULA: weights and deductions are numbers.")
    return {
        "base": value.get("base", 100),
        "rates": dict(value.get("rates", {})),
        "deductions": dict(value.get("deductions", {})),
        "floor": value.get("floor", 0),
    }


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def formula_text() -> str:
    """The formula in words, shown next to every score and printed on the export."""
    f = formula()
    parts = [_number(f["base"])]
    parts += [
        _("− %(w)s × (1 − %(rate)s)") % {"w": _number(w), "rate": RATE_LABELS[key]}
        for key, w in f["rates"].items()
    ]
    parts += [
        _("− %(p)s × %(count)s") % {"p": _number(p), "count": DEDUCTION_LABELS[key]}
        for key, p in f["deductions"].items()
    ]
    return _(
        "%(formula)s; a rate without data costs nothing; never below %(floor)s (DB1403/T 7.4)."
    ) % {"formula": " ".join(parts), "floor": _number(f["floor"])}


def score(counts: dict, row_rates: dict) -> tuple[float, str]:
    """The score of one row and the formula worked out with its numbers."""
    f = formula()
    total = float(f["base"])
    parts = [_number(f["base"])]
    for key, weight in f["rates"].items():
        rate = row_rates[key]
        if rate is None or not weight:
            continue
        total -= weight * (1 - rate)
        if rate < 1:
            parts.append(f"− {_number(weight)}×(1−{rate:.2f})")
    for key, points in f["deductions"].items():
        n = counts[key]
        if n and points:
            total -= points * n
            parts.append(f"− {_number(points)}×{n}")
    total = round(max(total, float(f["floor"])), 1)
    return total, f"{' '.join(parts)} = {_number(total)}"


@dataclass
class AssessmentRow:
    kind: str  # "window" or "staff"
    pk: int
    label: str
    counts: dict
    rates: dict
    score: float
    worked: str
    extra: dict = field(default_factory=dict)


@dataclass
class Assessment:
    hall_id: int
    month: dt.date
    formula: str
    windows: list[AssessmentRow]
    staff: list[AssessmentRow]


def _row(kind, pk, label, counts) -> AssessmentRow:
    row_rates = rates(counts)
    total, worked = score(counts, row_rates)
    row = AssessmentRow(kind, pk, label, counts, row_rates, total, worked)
    # Each rate's numerator / denominator, as shown beside it.
    row.extra["fractions"] = {
        "punctuality": (
            counts["checked_in"] - counts["late"],
            counts["checked_in"] + counts["absent"],
        ),
        "served_on_time": (counts["served_on_time"], counts["served"]),
        "follow_ups_on_time": (counts["follow_ups_on_time"], counts["follow_ups"]),
        "good_review_rate": (counts["good"], counts["rated"]),
    }
    return row


def assessment_compute(*, hall_id: int, month, now: dt.datetime) -> Assessment:
    """DB1403/T 7.4: the month's assessment of a hall's windows and staff, with the score of each
    by ``settings.ASSESSMENT_FORMULA``. Every window of the hall has a row; every staff member of
    the hall attached to a window, and anyone the month's records name, has one. Ten queries,
    however many windows, staff and bookings there are."""
    month = month_clean(month)
    month_started_check(month=month, now=now)
    by_window, by_staff = assessment_counts(hall_id=hall_id, month=month, now=now)
    empty = dict.fromkeys(COUNT_KEYS, 0)
    windows = [
        _row("window", w.pk, str(w), by_window.get(w.pk, dict(empty)))
        for w in Window.objects.filter(hall_id=hall_id)
        .filter(Q(is_active=True) | Q(pk__in=list(by_window)))
        .order_by("number")
    ]
    User = get_user_model()
    people = User.objects.filter(
        Q(pk__in=list(by_staff))
        | Q(is_active=True, staff_profile__hall_id=hall_id, staff_profile__window__isnull=False)
    ).values_list("pk", "first_name", "last_name", "username", "staff_profile__window__number")
    staff = []
    for pk, first, last, username, window_number in people:
        row = _row("staff", pk, person_name(first, last, username), by_staff.get(pk, dict(empty)))
        row.extra["window"] = window_number or ""
        staff.append(row)
    staff.sort(key=lambda row: (row.extra["window"], row.label, row.pk))
    return Assessment(hall_id, month, formula_text(), windows, staff)


# --- who reads which rows (DB1403/T 7.4, 6.2.5) -------------------------------------------------


@dataclass(frozen=True)
class AssessmentScope:
    """The rows of the assessment one user may read; ``None``: every row of the hall."""

    window_ids: frozenset[int] | None = None
    staff_ids: frozenset[int] | None = None

    @property
    def whole_hall(self) -> bool:
        return self.window_ids is None

    def limit(self, assessment: Assessment) -> Assessment:
        """``assessment`` with only the rows of this scope (the page and the export alike)."""
        if self.whole_hall:
            return assessment
        return replace(
            assessment,
            windows=[row for row in assessment.windows if row.pk in self.window_ids],
            staff=[row for row in assessment.staff if row.pk in (self.staff_ids or ())],
        )


HALL_ROLES = {Role.SUPERVISOR.value, Role.ADMINISTRATOR.value}
WINDOW_ROLES = {Role.WINDOW_HEAD.value, Role.WINDOW_STAFF.value}


def assessment_scope(*, user) -> AssessmentScope | None:
    """Who reads which rows of the monthly assessment, or None: may not open it (403).

    DB1403/T 7.4 makes supervision results the basis of assessing windows and their staff; 6.2.5
    makes the window head answer for the window and each staff member for their own work. So:

    - superusers, supervisors and administrators (with ``evaluation.view_selfevaluation``): every
      window and staff member of the hall, among the halls they see (``visible_halls``);
    - a window head: the windows they head, the staff attached to those windows
      (``StaffProfile.window``) and their own row;
    - window staff (and a head at a window they do not head): their own row and their window's —
      a person sees their own assessment, not a colleague's score;
    - anyone else (the desk, agency approvers, staff of no window): None.

    A head or a staff member only ever sees their own hall (``visible_halls``); the rows are
    narrowed by ``AssessmentScope.limit``.
    """
    if user is None or not user.is_authenticated or not user.is_active or not user.is_staff:
        return None
    if user.is_superuser:
        return AssessmentScope()
    roles = set(user.groups.values_list("name", flat=True))
    if roles & HALL_ROLES and user.has_perm("evaluation.view_selfevaluation"):
        return AssessmentScope()
    if not roles & WINDOW_ROLES or user_hall_id(user) is None:
        return None
    windows: set[int] = set()
    staff: set[int] = set()
    if Role.WINDOW_HEAD.value in roles:
        headed = set(Window.objects.filter(head=user).values_list("pk", flat=True))
        if headed:
            windows |= headed
            staff |= set(
                StaffProfile.objects.filter(window_id__in=headed).values_list("user_id", flat=True)
            )
            staff.add(user.pk)
    own_window = getattr(getattr(user, "staff_profile", None), "window_id", None)
    if own_window is not None:
        windows.add(own_window)
        staff.add(user.pk)
    if not windows:
        return None
    return AssessmentScope(frozenset(windows), frozenset(staff))
