"""Handling a bad review (差评 整改; DB1403/T 8.2, 国办发〔2019〕51号): contact and verify within
BAD_REVIEW_CONTACT_WORKING_DAYS, rectify within BAD_REVIEW_RECTIFY_WORKING_DAYS (working days,
holiday calendar), reply to the rater, close; a substantiated one can become a complaint. The
steps and who takes them are CASE_STEPS, at the end."""

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appointments.notifications import booking_context, show_time
from complaints.services import mask_name, mask_phone
from duty.calendar import local
from sms.models import Message
from sms.phones import phone_is_mobile
from sms.services import sms_send
from yuyue.checks import field_error as _error
from yuyue.checks import require_aware as _require_aware
from yuyue.checks import require_perm as _require_perm
from yuyue.checks import text_clean as _text_clean
from yuyue.transitions import Transition, TransitionTable

from ..models import BAD_LEVELS, BadReviewCase, Rating
from ._common import (
    FORMS,
    LEVEL_FIELDS,
    TEXT_MAX,
    CaseState,
    _case_move,
    _in_hall_or_city,
    _serves_window,
    _step,
)

# --- bad-review cases -----------------------------------------------------------------------


def _case_check(case: BadReviewCase, actor, now) -> None:
    """The head of the rated window (or the hall's administrator) handles its bad reviews."""
    _require_aware(now)
    _require_perm(actor, "evaluation.change_badreviewcase")
    if not _serves_window(actor, case.rating.window):
        raise PermissionDenied(
            _("Only the head of window %(window)s handles its bad reviews.")
            % {"window": case.rating.window}
        )


def _case_refusal(case: BadReviewCase, transition: Transition) -> ValidationError:
    """Why CASE_STEPS refuses a step in the case's state (at the end of this module)."""
    return _error(
        "state",
        str(transition.refused)
        + " "
        + _("Its state is “%(state)s”.") % {"state": case.get_state_display()},
        "invalid_state",
    )


def _lock_case(case: BadReviewCase, step: str) -> BadReviewCase:
    # Race: two people take a step on one case at once (two replies, reply vs close). Locking
    # the row makes the second wait and see the state the first one left.
    locked = BadReviewCase.objects.select_for_update().get(pk=case.pk)
    CASE_STEPS.check(step, locked)
    return locked


def review_verified(case: BadReviewCase) -> bool:
    """好差评: the contact found the review borne out."""
    return case.verified is True


def reply_due(case: BadReviewCase) -> bool:
    """好差评 反馈: the rater is answered after the rectification, or at once after the contact
    when the review was not borne out."""
    return case.state == CaseState.RECTIFIED or case.verified is False


def may_become_complaint(case: BadReviewCase) -> bool:
    """A verified bad review becomes a complaint once."""
    return case.verified is True and case.complaint_id is None


def bad_review_contact(
    *, case: BadReviewCase, actor, verified: bool, note, now: dt.datetime
) -> BadReviewCase:
    """好差评 调查核实: the handler contacted the rater (within BAD_REVIEW_CONTACT_WORKING_DAYS)
    and records whether the review is borne out, and what the rater said."""
    _case_check(case, actor, now)
    if not isinstance(verified, bool):
        raise _error("verified", _("Say whether the review was borne out."), "required")
    note = _text_clean(note, "contact_note", limit=TEXT_MAX, required=True)
    with transaction.atomic():
        case = _lock_case(case, "contact")
        return _case_move(
            case,
            CaseState.CONTACTED,
            actor=actor,
            now=now,
            note=note,
            contacted_at=now,
            verified=verified,
            contact_note=note,
        )


def bad_review_rectify(
    *, case: BadReviewCase, actor, rectification, now: dt.datetime
) -> BadReviewCase:
    """好差评 整改: what the window changed (within BAD_REVIEW_RECTIFY_WORKING_DAYS), for a
    review that was verified."""
    _case_check(case, actor, now)
    rectification = _text_clean(rectification, "rectification", limit=TEXT_MAX, required=True)
    with transaction.atomic():
        case = _lock_case(case, "rectify")
        return _case_move(
            case,
            CaseState.RECTIFIED,
            actor=actor,
            now=now,
            note=rectification,
            rectified_at=now,
            rectification=rectification,
        )


def bad_review_reply(*, case: BadReviewCase, actor, reply_text, now: dt.datetime) -> BadReviewCase:
    """好差评 反馈: answer the rater; the reply goes out by SMS (a landline is told by phone)."""
    _case_check(case, actor, now)
    reply_text = _text_clean(reply_text, "reply_text", limit=300, required=True)
    with transaction.atomic():
        case = _lock_case(case, "reply")
        case = _case_move(
            case,
            CaseState.REPLIED,
            actor=actor,
            now=now,
            note=reply_text,
            replied_at=now,
            reply_text=reply_text,
        )
        appointment = case.rating.appointment
        if phone_is_mobile(appointment.phone):
            with translation.override(settings.LANGUAGE_CODE):
                sms_send(
                    purpose=Message.Purpose.RATING_REPLY,
                    phone=appointment.phone,
                    context={**booking_context(appointment=appointment), "reply": reply_text},
                    subject=appointment,
                    dedupe_key=f"rating_reply:{case.pk}",
                    now=now,
                )
    return case


def bad_review_close(*, case: BadReviewCase, actor, now: dt.datetime, note="") -> BadReviewCase:
    """好差评: the case is closed once the rater has had the reply."""
    _case_check(case, actor, now)
    note = _text_clean(note, "note", limit=TEXT_MAX, required=False)
    with transaction.atomic():
        case = _lock_case(case, "close")
        return _case_move(case, CaseState.CLOSED, actor=actor, now=now, note=note)


def bad_review_to_complaint(*, case: BadReviewCase, actor, now: dt.datetime, category=None):
    """A substantiated bad review becomes a complaint (GB/T 36113 channel "bad rating", DB1403/T
    7.3, 8.2), registered through ``complaint_register`` by someone who may register complaints
    (supervisors, the desk, administrators — not the window rated) with the rating's window,
    staff member and booking; the case links to it."""
    from complaints.models import ComplaintCategory, ComplaintChannel
    from complaints.services import complaint_register

    _require_aware(now)
    _require_perm(actor, "evaluation.view_badreviewcase")
    rating = case.rating
    if not _in_hall_or_city(actor, rating.hall_id):
        raise PermissionDenied(_("This bad review belongs to another hall."))
    if category is None:
        category = (
            ComplaintCategory.ATTITUDE
            if rating.attitude in BAD_LEVELS
            else ComplaintCategory.DELAY
            if rating.efficiency in BAD_LEVELS
            else ComplaintCategory.OTHER
        )
    with transaction.atomic():
        case = _lock_case(case, "complaint")
        appointment = rating.appointment
        text = _("Bad review of %(ref)s (%(time)s): %(levels)s.") % {
            "ref": appointment.reference,
            "time": show_time(rating.rated_at),
            "levels": "; ".join(
                f"{Rating._meta.get_field(f).verbose_name}: {getattr(rating, f'get_{f}_display')()}"
                for f in LEVEL_FIELDS
            ),
        }
        details = [text, rating.comment, case.contact_note]
        complaint = complaint_register(
            channel=ComplaintChannel.BAD_RATING,
            category=category,
            complainant_name=appointment.applicant_name,
            complainant_phone=appointment.phone,
            text="\n".join(part for part in details if part),
            actor=actor,
            now=now,
            window=rating.window,
            staff=rating.staff,
            department=rating.department,
            appointment=appointment,
            received_at=rating.rated_at,
        )
        case.complaint = complaint
        case.save(update_fields=["complaint"])
        _step(
            case,
            case.state,
            case.state,
            actor=actor,
            now=now,
            note=_("complaint %(number)s opened") % {"number": complaint.tracking_number},
        )
    return complaint


def bad_reviews_overdue(now: dt.datetime):
    """好差评 local deadlines: cases not contacted by ``contact_due`` or not rectified (or, for an
    unverified review, replied to) by ``rectify_due``. Ratings excluded after an appeal drop
    out."""
    today = local(now).date()
    return (
        BadReviewCase.objects.filter(rating__excluded=False)
        .filter(
            Q(state=CaseState.OPEN, contact_due__lt=today)
            | Q(state__in=(CaseState.OPEN, CaseState.CONTACTED), rectify_due__lt=today)
        )
        .select_related("rating__window", "rating__appointment")
        .order_by("pk")
    )


def bad_review_late_steps(case: BadReviewCase, now: dt.datetime) -> list[str]:
    """Which steps of an overdue case are late: "contact", "rectify" or both."""
    today = local(now).date()
    late = []
    if case.state == CaseState.OPEN and case.contact_due < today:
        late.append("contact")
    if case.state in (CaseState.OPEN, CaseState.CONTACTED) and case.rectify_due < today:
        late.append("rectify")
    return late


def rater_shown(*, case: BadReviewCase, user) -> str:
    """国办发〔2019〕51号 (rater data protected, access limited): the rater's name and number in
    full only for who contacts them — the window head or the hall administrator, holding
    ``change_badreviewcase``; masked for everyone else, the window staff rated among them."""
    appointment = case.rating.appointment
    if user is not None and user.has_perm("evaluation.change_badreviewcase"):
        return f"{appointment.applicant_name} {appointment.phone}"
    return f"{mask_name(appointment.applicant_name)} {mask_phone(appointment.phone)}"


# --- the state machine ----------------------------------------------------------------------------
# The steps above check a case's state through this table; the console's buttons
# (evaluation.admin) are the steps it permits, with the console's forms.

HANDLE_CASE = "evaluation.change_badreviewcase"

CASE_STEPS = TransitionTable(
    Transition(
        "contact",
        gettext_lazy("Contacted and verified"),
        "evaluation.ratings.bad_reviews.bad_review_contact",
        (CaseState.OPEN,),
        HANDLE_CASE,
        FORMS + "ContactForm",
        gettext_lazy("Only an open bad review is contacted and verified."),
        error_fields=(("contact_note", "note"),),
    ),
    Transition(
        "rectify",
        gettext_lazy("Rectified"),
        "evaluation.ratings.bad_reviews.bad_review_rectify",
        (CaseState.CONTACTED,),
        HANDLE_CASE,
        FORMS + "RectifyForm",
        gettext_lazy(
            "Rectification follows the contact with the rater, and only for a review that was "
            "verified."
        ),
        requires=review_verified,
    ),
    Transition(
        "reply",
        gettext_lazy("Reply to the rater"),
        "evaluation.ratings.bad_reviews.bad_review_reply",
        (CaseState.CONTACTED, CaseState.RECTIFIED),
        HANDLE_CASE,
        FORMS + "ReplyForm",
        gettext_lazy(
            "The reply to the rater comes after the rectification (or after the contact, for a "
            "review that was not verified)."
        ),
        requires=reply_due,
    ),
    Transition(
        "close",
        gettext_lazy("Close the case"),
        "evaluation.ratings.bad_reviews.bad_review_close",
        (CaseState.REPLIED,),
        HANDLE_CASE,
        FORMS + "CloseForm",
        gettext_lazy("A case is closed after the rater has had the reply."),
    ),
    Transition(
        "complaint",
        gettext_lazy("Turn into a complaint"),
        "evaluation.ratings.bad_reviews.bad_review_to_complaint",
        tuple(state for state in CaseState if state != CaseState.OPEN),
        "complaints.add_complaint",
        FORMS + "ComplaintForm",
        gettext_lazy(
            "Only a verified bad review can become a complaint, and only once; contact the rater "
            "first."
        ),
        requires=may_become_complaint,
    ),
    state="state",
    subject="case",
    refusal=_case_refusal,
)
