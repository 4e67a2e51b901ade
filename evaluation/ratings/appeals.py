"""Appealing a rating (申诉复核; 国办发〔2019〕51号, DB1403/T 8.2): the window appeals a mistaken or
malicious rating; a supervisor other than the appellant decides; an upheld appeal marks the
rating (excluded), it is never deleted. The step and who takes it are APPEAL_STEPS, at the end."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appointments.models import Appointment
from duty.roles import Role
from sms.models import Alert
from sms.subjects import subject_fields
from yuyue.checks import field_error as _error
from yuyue.checks import require_aware as _require_aware
from yuyue.checks import require_perm as _require_perm
from yuyue.checks import text_clean as _text_clean
from yuyue.transitions import Transition, TransitionTable

from ..models import BadReviewCase, Rating, RatingAppeal
from ._common import FORMS, TEXT_MAX, CaseState, _case_move, _in_hall_or_city, _serves_window

# --- appeals (申诉复核) -----------------------------------------------------------------------


def _supervisor_ids(hall_id: int) -> list[int]:
    return list(
        get_user_model()
        .objects.filter(
            is_active=True, groups__name=Role.SUPERVISOR.value, staff_profile__hall_id=hall_id
        )
        .distinct()
        .values_list("pk", flat=True)
    )


def rating_appeal_file(*, rating: Rating, actor, reason, now: dt.datetime) -> RatingAppeal:
    """申诉复核 (国办发〔2019〕51号): the rated window (its head or staff with
    ``evaluation.add_ratingappeal``) appeals a mistaken or malicious rating, with a reason. One
    appeal at a time; the hall's supervisors are alerted to review it."""
    _require_aware(now)
    _require_perm(actor, "evaluation.add_ratingappeal")
    if not _serves_window(actor, rating.window):
        raise PermissionDenied(
            _("Only window %(window)s (its head or staff) appeals its ratings.")
            % {"window": rating.window}
        )
    reason = _text_clean(reason, "reason", limit=TEXT_MAX, required=True)
    with transaction.atomic():
        # Race: two appeals of one rating at once; the rating row serialises them (and the
        # partial unique constraint is the last guard).
        locked = Rating.objects.select_for_update().get(pk=rating.pk)
        if locked.excluded:
            raise _error(
                "rating", _("This rating is already excluded after an appeal."), "excluded"
            )
        if RatingAppeal.objects.filter(rating=locked, state=RatingAppeal.State.PENDING).exists():
            raise _error(
                "rating", _("An appeal of this rating is already waiting for review."), "pending"
            )
        appeal = RatingAppeal.objects.create(
            rating=locked, reason=reason, appealed_by=actor, appealed_at=now
        )
        text = _("Window %(window)s appeals the rating of %(ref)s: %(reason)s") % {
            "window": rating.window,
            "ref": rating.appointment.reference,
            "reason": reason[:200],
        }
        Alert.objects.bulk_create(
            [
                Alert(
                    recipient_id=recipient,
                    hall_id=locked.hall_id,
                    kind=Alert.Kind.RATING_APPEAL,
                    **subject_fields(Appointment, locked.appointment_id),
                    text=text,
                    created_at=now,
                    dedupe_key=f"rating_appeal:{appeal.pk}:{recipient}",
                )
                for recipient in _supervisor_ids(locked.hall_id)
                if recipient != actor.pk
            ],
            ignore_conflicts=True,
        )
    return appeal


def not_the_appellant(user, appeal: RatingAppeal) -> bool:
    """申诉复核: an appeal is reviewed by someone other than the appellant."""
    return user.pk != appeal.appealed_by_id


def _appeal_refusal(appeal: RatingAppeal, transition: Transition) -> ValidationError:
    return _error(
        "state",
        _("This appeal has already been decided (%(state)s).")
        % {"state": appeal.get_state_display()},
        "decided",
    )


def rating_appeal_review(
    *, appeal: RatingAppeal, actor, upheld: bool, note, now: dt.datetime
) -> RatingAppeal:
    """申诉复核: a supervisor (``evaluation.review_rating_appeal``), never the appellant, decides.
    Upheld: the rating is marked excluded with the reason — it stays on record and leaves the
    figures (evaluation.figures); its open bad-review case is closed. Rejected: it stands."""
    _require_aware(now)
    _require_perm(actor, "evaluation.review_rating_appeal")
    if not _in_hall_or_city(actor, appeal.rating.hall_id):
        raise PermissionDenied(_("This appeal belongs to another hall."))
    if not not_the_appellant(actor, appeal):
        raise PermissionDenied(_("An appeal is reviewed by someone other than the appellant."))
    if not isinstance(upheld, bool):
        raise _error("upheld", _("Uphold or reject the appeal."), "required")
    note = _text_clean(note, "review_note", limit=TEXT_MAX, required=True)
    with transaction.atomic():
        # Race: two supervisors decide at once; the appeal row makes the second see the first.
        appeal = RatingAppeal.objects.select_for_update().get(pk=appeal.pk)
        APPEAL_STEPS.check("review", appeal)
        appeal.state = RatingAppeal.State.UPHELD if upheld else RatingAppeal.State.REJECTED
        appeal.reviewed_by, appeal.reviewed_at, appeal.review_note = actor, now, note
        appeal.save()
        if upheld:
            rating = Rating.objects.select_for_update().get(pk=appeal.rating_id)
            rating.excluded = True
            rating.excluded_reason = note[:200]
            rating.save(update_fields=["excluded", "excluded_reason"])
            case = BadReviewCase.objects.select_for_update().filter(rating=rating).first()
            if case is not None and case.state != CaseState.CLOSED:
                _case_move(
                    case,
                    CaseState.CLOSED,
                    actor=actor,
                    now=now,
                    note=_("appeal upheld: %(note)s") % {"note": note},
                )
    return appeal


# --- the state machine ----------------------------------------------------------------------------
# The review above checks an appeal's state through this table; the console's button
# (evaluation.admin) is the step it permits, with the console's form.

APPEAL_STEPS = TransitionTable(
    Transition(
        "review",
        gettext_lazy("Decide"),
        "evaluation.ratings.appeals.rating_appeal_review",
        (RatingAppeal.State.PENDING,),
        "evaluation.review_rating_appeal",
        FORMS + "AppealReviewForm",
        actor_may=not_the_appellant,
        error_fields=(("review_note", "note"),),
        done=gettext_lazy("The appeal is decided."),
    ),
    state="state",
    subject="appeal",
    refusal=_appeal_refusal,
)
