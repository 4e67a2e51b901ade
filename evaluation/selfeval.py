"""A window's monthly self-evaluation (DB1403/T 8.1: 自我评价 of how the standard is applied).

The checklist is drawn from the standard's clauses and prefilled with what the records show;
the window head (DB1403/T 6.2.5: overall responsibility) answers each item, adds remarks and
submits. Submitting freezes the figures as they were, as evidence; until then the head may save
as often as needed. One self-evaluation per window and month.

Items (each ``{key, clause, label, value, display, detail, target, ok}``; ``ok`` is None where
there is nothing to judge):

- ``served_on_time`` (5.1.2, 6.2.1 按时办理): share of the bookings served in the month whose
  service was recorded as finished within ``SERVED_ON_TIME_MINUTES`` of the booked start, or of
  the applicant's arrival when they came late (see ``evaluation.month_counts``). Target 100 %.
- ``change_notice`` (6.2.2): changes and cancellations by the hall that reached the applicant
  less than ``CHANGE_NOTICE_MIN_HOURS`` (8 h) before the original start, not recorded as an
  emergency; notice 8 h 0 min before is in time, 7 h 59 min is not. Target 0.
- ``change_emergencies`` (6.2.2): those recorded as emergencies, counted separately (no target:
  the remarks should explain them).
- ``follow_ups`` (6.2.3): share of no-show follow-ups whose outcome was recorded within
  ``NO_SHOW_FOLLOW_UP_RECORD_MINUTES`` of their due time (30 min after the start). Target 100 %.
- ``roster_gaps`` (4, 5.2, 6.2.4): problems of the window's duty roster in the month
  (``duty.rosters.roster_problems``: nobody on duty, a booked holiday unfilled, a person in two
  places or on duty while on leave, no window head). Only for no-rest windows. Target 0.
- ``late_check_ins`` (6.2.1): duty check-ins that were late, plus absences. Target 0.
- ``fee_complaints`` (6.2.6): complaints in the category "fees charged" received in the month
  about the window. Target 0.
- ``good_review_rate`` (8.2, 好评率 from ``evaluation.figures``): target
  ``SELF_EVALUATION_GOOD_REVIEW_TARGET``.
"""

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import formats
from django.utils.translation import gettext as _

from duty.calendar import local
from duty.models import Window
from duty.roles import Role, user_has_role
from duty.rosters import roster_problems
from duty.scoping import user_hall_id
from yuyue.checks import field_error as _error

from .models import SelfEvaluation
from .month_counts import COUNT_KEYS, assessment_counts, rates
from .months import month_bounds, month_clean, month_started_check, next_month

NOTE_MAX = 1000
REMARKS_MAX = 5000


def _percent(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _item(key, clause, label, value, *, target, kind, detail="", ok=None) -> dict:
    if kind == "rate":
        display, target_display = _percent(value), _percent(target)
        if ok is None and value is not None and target is not None:
            ok = value >= target
    else:
        display = "—" if value is None else str(value)
        target_display = "—" if target is None else str(target)
        if ok is None and value is not None and target is not None:
            ok = value <= target
    return {
        "key": key,
        "clause": clause,
        "label": str(label),
        "value": value,
        "display": display,
        "detail": detail,
        "target": target,
        "target_display": target_display,
        "ok": ok,
    }


def self_evaluation_figures(*, window: Window, month, now: dt.datetime) -> list[dict]:
    """DB1403/T 8.1: the checklist of ``window`` for ``month``, prefilled from the records.
    A fixed number of queries (about twenty) whatever the data."""
    from complaints.models import Complaint, ComplaintCategory

    month = month_clean(month)
    month_started_check(month=month, now=now)
    by_window, _staff = assessment_counts(
        hall_id=window.hall_id, month=month, now=now, window_ids=[window.pk]
    )
    counts = by_window.get(window.pk) or {}
    counts = {key: counts.get(key, 0) for key in COUNT_KEYS}
    shares = rates(counts)
    last_day = next_month(month) - dt.timedelta(days=1)
    if window.is_no_rest and window.is_active:
        gaps = sum(
            1
            for problem in roster_problems(windows=[window], start_date=month, end_date=last_day)
            if getattr(problem.window, "pk", None) == window.pk
        )
    else:
        gaps = None  # a regular window keeps no off-hours roster
    start, end = month_bounds(month)
    fees = Complaint.objects.filter(
        window=window,
        category=ComplaintCategory.FEES,
        received_at__gte=start,
        received_at__lt=end,
    ).count()
    good_target = settings.SELF_EVALUATION_GOOD_REVIEW_TARGET
    return [
        _item(
            "served_on_time",
            "5.1.2, 6.2.1",
            _("Bookings served on time"),
            shares["served_on_time"],
            target=1.0,
            kind="rate",
            detail=_("%(n)s of %(total)s served within %(minutes)s min")
            % {
                "n": counts["served_on_time"],
                "total": counts["served"],
                "minutes": settings.SERVED_ON_TIME_MINUTES,
            },
        ),
        _item(
            "change_notice",
            "6.2.2",
            _("Changes told under %(hours)s h before the original time")
            % {"hours": settings.CHANGE_NOTICE_MIN_HOURS},
            counts["change_breaches"],
            target=0,
            kind="count",
            detail=_("%(n)s changes and cancellations by the hall") % {"n": counts["changes"]},
        ),
        _item(
            "change_emergencies",
            "6.2.2",
            _("Emergencies recorded (changes under 8 h allowed by the agency)"),
            counts["change_emergencies"],
            target=None,
            kind="count",
        ),
        _item(
            "follow_ups",
            "6.2.3",
            _("No-shows followed up in time"),
            shares["follow_ups_on_time"],
            target=1.0,
            kind="rate",
            detail=_("%(n)s of %(total)s recorded within %(minutes)s min of being due")
            % {
                "n": counts["follow_ups_on_time"],
                "total": counts["follow_ups"],
                "minutes": settings.NO_SHOW_FOLLOW_UP_RECORD_MINUTES,
            },
        ),
        _item(
            "roster_gaps",
            "4, 5.2, 6.2.4",
            _("Gaps and conflicts in the duty roster"),
            gaps,
            target=0,
            kind="count",
            detail="" if gaps is not None else _("not a no-rest window"),
        ),
        _item(
            "late_check_ins",
            "6.2.1",
            _("Late check-ins and absences from duty"),
            counts["late"] + counts["absent"],
            target=0,
            kind="count",
            detail=_("%(late)s late, %(absent)s absent, of %(total)s duties")
            % {
                "late": counts["late"],
                "absent": counts["absent"],
                "total": counts["checked_in"] + counts["absent"],
            },
        ),
        _item(
            "fee_complaints",
            "6.2.6",
            _("Complaints of fees charged"),
            fees,
            target=0,
            kind="count",
        ),
        _item(
            "good_review_rate",
            "8.2",
            _("Good-review rate (好评率)"),
            shares["good_review_rate"],
            target=good_target,
            kind="rate",
            detail=_("%(good)s good of %(rated)s rated, %(unrated)s of %(served)s not rated")
            % {
                "good": counts["good"],
                "rated": counts["rated"],
                "unrated": counts["unrated"],
                "served": counts["served"],
            },
        ),
    ]


def figures_as_evidence(items: list[dict], *, now: dt.datetime) -> dict:
    """The checklist as stored on the self-evaluation: keyed by item, with when it was taken."""
    return {
        "computed_at": now.isoformat(),
        "items": {item["key"]: item for item in items},
    }


# --- who keeps it --------------------------------------------------------------------------------


def user_keeps_self_evaluation(user, window: Window) -> bool:
    """DB1403/T 6.2.5, 8.1: the window's head (or the hall's administrator) keeps its
    self-evaluation."""
    if user is None or not user.is_active:
        return False
    if not user.has_perm("evaluation.change_selfevaluation"):
        return False
    if user.is_superuser or window.head_id == user.pk:
        return True
    return user_has_role(user, Role.ADMINISTRATOR) and user_hall_id(user) == window.hall_id


def _require_keeper(actor, window: Window) -> None:
    if not user_keeps_self_evaluation(actor, window):
        raise PermissionDenied(
            _(
                "Only the head of window %(window)s (or the hall's administrator) keeps its "
                "self-evaluation."
            )
            % {"window": window}
        )


def _answers_clean(answers, keys) -> dict:
    if answers is None:
        return {}
    if not isinstance(answers, dict):
        raise _error("answers", _("The answers are not in the expected form."), "invalid")
    cleaned = {}
    for key, answer in answers.items():
        if key not in keys:
            raise _error(
                "answers", _("“%(key)s” is not on the checklist.") % {"key": key}, "unknown"
            )
        if not isinstance(answer, dict):
            raise _error("answers", _("The answers are not in the expected form."), "invalid")
        conforms = answer.get("conforms")
        if conforms not in (True, False, None):
            raise _error("answers", _("Say yes or no for each item."), "invalid")
        note = answer.get("note") or ""
        if not isinstance(note, str):
            raise _error("answers", _("The answers are not in the expected form."), "invalid")
        note = note.strip()
        if len(note) > NOTE_MAX:
            raise _error(
                "answers",
                _("At most %(limit)s characters per note, please.") % {"limit": NOTE_MAX},
                "too_long",
            )
        cleaned[key] = {"conforms": conforms, "note": note}
    return cleaned


def _remarks_clean(remarks) -> str:
    text = remarks.strip() if isinstance(remarks, str) else ""
    if len(text) > REMARKS_MAX:
        raise _error(
            "remarks",
            _("At most %(limit)s characters, please.") % {"limit": REMARKS_MAX},
            "too_long",
        )
    return text


def _submitted_error(evaluation: SelfEvaluation) -> ValidationError:
    return _error(
        "month",
        _("The self-evaluation of %(month)s was submitted on %(when)s and can no longer change.")
        % {
            "month": evaluation.month.strftime("%Y-%m"),
            "when": formats.date_format(local(evaluation.submitted_at), "Y-m-d H:i"),
        },
        "submitted",
    )


def self_evaluation_save(
    *, window: Window, month, answers, remarks, actor, now: dt.datetime
) -> SelfEvaluation:
    """DB1403/T 8.1: the window head saves the month's self-evaluation (answers per checklist
    item and remarks), with the figures as they are now; saved again until it is submitted."""
    month = month_clean(month)
    _require_keeper(actor, window)
    month_started_check(month=month, now=now)
    items = self_evaluation_figures(window=window, month=month, now=now)
    answers = _answers_clean(answers, {item["key"] for item in items})
    remarks = _remarks_clean(remarks)
    fields = {
        "answers": answers,
        "remarks": remarks,
        "figures": figures_as_evidence(items, now=now),
    }
    for _attempt in range(2):
        try:
            with transaction.atomic():
                # Race: the head saves from two tabs (or with an administrator) at once; the
                # row lock makes the second wait and then update, never overwrite a submission.
                evaluation = (
                    SelfEvaluation.objects.select_for_update()
                    .filter(window=window, month=month)
                    .first()
                )
                if evaluation is None:
                    return SelfEvaluation.objects.create(window=window, month=month, **fields)
                if evaluation.submitted_at is not None:
                    raise _submitted_error(evaluation)
                for name, value in fields.items():
                    setattr(evaluation, name, value)
                evaluation.save(update_fields=list(fields))
                return evaluation
        except IntegrityError:
            # Both found no row and both inserted: the loser retries and updates the winner's.
            continue
    raise _error("month", _("Please try again."), "conflict")


def self_evaluation_submit(
    *, evaluation: SelfEvaluation, actor, now: dt.datetime
) -> SelfEvaluation:
    """DB1403/T 8.1: submit (and freeze) a month's self-evaluation once the month is over; the
    figures are taken afresh and kept as evidence. An item the records show as not met needs a
    note saying what happened and what is done about it (8.3)."""
    window = evaluation.window
    _require_keeper(actor, window)
    if local(now).date() < next_month(evaluation.month):
        raise _error(
            "month",
            _("%(month)s is not over yet: submit its self-evaluation from %(from)s.")
            % {
                "month": evaluation.month.strftime("%Y-%m"),
                "from": next_month(evaluation.month).isoformat(),
            },
            "not_over",
        )
    items = self_evaluation_figures(window=window, month=evaluation.month, now=now)
    with transaction.atomic():
        # Race: two submissions (or a save and a submission) at once; the second sees the first.
        evaluation = SelfEvaluation.objects.select_for_update().get(pk=evaluation.pk)
        if evaluation.submitted_at is not None:
            raise _submitted_error(evaluation)
        missing = [
            item["label"]
            for item in items
            if item["ok"] is False and not (evaluation.answers.get(item["key"]) or {}).get("note")
        ]
        if missing:
            raise _error(
                "answers",
                _("Explain the items not met before submitting: %(items)s.")
                % {"items": "; ".join(missing)},
                "unexplained",
            )
        evaluation.figures = figures_as_evidence(items, now=now)
        evaluation.submitted_by, evaluation.submitted_at = actor, now
        evaluation.save(update_fields=["figures", "submitted_by", "submitted_at"])
    return evaluation
