"""好差评: rating a served booking, handling a bad review, and appealing a rating.

DB1403/T 8.1–8.2 and 国办发〔2019〕51号 (with GB/T 39734/39735 as practised):

- 一次一评: a served booking is rated once, by the applicant, through a signed link (SMS or the QR
  code at the window) or "My booking"; staff only type in a paper form, recorded as such.
- Rating is voluntary: there is no default level, and an unrated booking stays unrated.
- A bad review (不满意, 非常不满意) opens a case: contact and verify within
  BAD_REVIEW_CONTACT_WORKING_DAYS, rectify within BAD_REVIEW_RECTIFY_WORKING_DAYS (working days,
  holiday calendar), reply to the rater, close; a substantiated one can become a complaint.
- 申诉复核: the window appeals a mistaken or malicious rating; a supervisor other than the
  appellant decides; an upheld appeal marks the rating (excluded), it is never deleted.

Every function is keyword-only, takes ``now`` and refuses bad input with a ``ValidationError``
keyed by the field concerned (or ``PermissionDenied``), leaving nothing half-saved.
"""

import datetime as dt
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appointments.models import Appointment, AppointmentEvent, Status
from appointments.notifications import booking_context, show_time
from complaints.services import mask_name, mask_phone
from duty.calendar import local, working_days_add
from duty.roles import Role, user_has_role
from duty.scoping import user_hall_id, user_sees_all_halls
from sms.models import Alert, Message
from sms.phones import phone_is_mobile
from sms.services import sms_send
from sms.subjects import subject_fields
from yuyue.checks import field_error as _error
from yuyue.checks import require_aware as _require_aware
from yuyue.checks import require_perm as _require_perm
from yuyue.checks import text_clean as _text_clean
from yuyue.transitions import Transition, TransitionTable

from .models import (
    BAD_LEVELS,
    BadReviewCase,
    BadReviewStep,
    Level,
    Rating,
    RatingAppeal,
    RatingSource,
)

logger = logging.getLogger(__name__)

LINK_SALT = "evaluation.rating-link"
LEVEL_FIELDS = ("overall", "efficiency", "service_level", "attitude")
COMMENT_MAX = 1000
TEXT_MAX = 2000
# Which channel a signed link records: the SMS link or the QR code shown at the window.
LINK_SOURCES = {"s": RatingSource.SMS_LINK, "q": RatingSource.WINDOW_QR}
CITIZEN_SOURCES = (RatingSource.SMS_LINK, RatingSource.WINDOW_QR, RatingSource.MY_BOOKING)
CaseState = BadReviewCase.State


def _serves_window(user, window) -> bool:
    """The window's head, its own staff, or the hall's administrator (谁办理、谁负责)."""
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    if user_hall_id(user) != window.hall_id:
        return False
    profile = getattr(user, "staff_profile", None)
    return (
        window.head_id == user.pk
        or getattr(profile, "window_id", None) == window.pk
        or user_has_role(user, Role.ADMINISTRATOR)
    )


def _in_hall_or_city(user, hall_id: int) -> bool:
    return user_sees_all_halls(user) or user_hall_id(user) == hall_id


def rating_open_until(*, appointment: Appointment) -> dt.datetime | None:
    """When the applicant can no longer rate: RATING_LINK_DAYS after serving (DB1403/T 8.2)."""
    if appointment.served_at is None:
        return None
    return appointment.served_at + dt.timedelta(days=settings.RATING_LINK_DAYS)


def rating_may_be_given(*, appointment: Appointment, now: dt.datetime) -> bool:
    """Served, not rated yet, and still inside the rating period."""
    until = rating_open_until(appointment=appointment)
    return (
        appointment.status == Status.SERVED
        and until is not None
        and now < until
        and not Rating.objects.filter(appointment_id=appointment.pk).exists()
    )


# --- the signed link ------------------------------------------------------------------------


def rating_link_make(
    *, appointment: Appointment, now: dt.datetime, source: str = RatingSource.SMS_LINK
) -> str:
    """A signed token for rating one served booking (DB1403/T 8.2; 国办发〔2019〕51号: SMS link,
    QR code at the window). It carries the booking's id and the channel; it is valid
    RATING_LINK_DAYS after serving, which is checked when it is used."""
    _require_aware(now)
    if appointment.status != Status.SERVED or appointment.served_at is None:
        raise _error(
            "status",
            _("Only a served booking can be rated; this one is “%(status)s”.")
            % {"status": appointment.get_status_display()},
            "not_served",
        )
    code = {v: k for k, v in LINK_SOURCES.items()}.get(source)
    if code is None:
        raise _error("source", _("A rating link is for an SMS or a QR code."), "invalid_source")
    return signing.Signer(salt=LINK_SALT).sign_object({"a": appointment.pk, "s": code})


def _link_payload(token) -> dict:
    try:
        payload = signing.Signer(salt=LINK_SALT).unsign_object(
            token if isinstance(token, str) else ""
        )
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        payload = None
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("a"), int)
        or payload.get("s") not in LINK_SOURCES
    ):
        raise _error(
            "token",
            _(
                "This rating link is not valid. Open the link from the text message exactly as "
                "it was sent, or scan the code at the window again."
            ),
            "link_invalid",
        )
    return payload


def rating_link_source(*, token) -> str:
    """The channel a valid link records (SMS link or QR code)."""
    return LINK_SOURCES[_link_payload(token)["s"]]


def rating_token_check(*, token, now: dt.datetime) -> Appointment:
    """The booking a rating link is for, if it can still be rated (DB1403/T 8.2, 一次一评).

    Distinct errors on ``token``: tampered (link_invalid), booking gone (link_unknown), already
    rated (already_rated), not served (not_served), too late (link_expired: at exactly
    RATING_LINK_DAYS after serving the link is dead).
    """
    _require_aware(now)
    payload = _link_payload(token)
    appointment = (
        Appointment.objects.select_related("matter", "window__hall").filter(pk=payload["a"]).first()
    )
    if appointment is None:
        raise _error(
            "token",
            _("This rating link is for a booking that no longer exists."),
            "link_unknown",
        )
    if Rating.objects.filter(appointment_id=appointment.pk).exists():
        raise _error(
            "token",
            _("This service has already been rated. Each service is rated once; thank you."),
            "already_rated",
        )
    until = rating_open_until(appointment=appointment)
    if appointment.status != Status.SERVED or until is None:
        raise _error(
            "token",
            _("This booking has not been served, so it cannot be rated yet."),
            "not_served",
        )
    if now >= until:
        raise _error(
            "token",
            _(
                "This rating link expired at %(time)s: a service can be rated within %(days)s "
                "days. To tell the hall something, call %(phone)s."
            )
            % {
                "time": show_time(until),
                "days": settings.RATING_LINK_DAYS,
                "phone": appointment.window.hall.phone or "-",
            },
            "link_expired",
        )
    return appointment


def rating_link_url(*, appointment: Appointment, now: dt.datetime, source=RatingSource.SMS_LINK):
    """The absolute address of the rating page (SITE_URL + /rate/<token>/), in the site's
    default language."""
    token = rating_link_make(appointment=appointment, now=now, source=source)
    with translation.override(settings.LANGUAGE_CODE):
        path = reverse("rate:rate", args=[token])
    return f"{settings.SITE_URL}{path}"


def rating_invitation_send(*, appointment: Appointment, now: dt.datetime) -> Message | None:
    """Invite the applicant by SMS to rate the service they just had (国办发〔2019〕51号; DB1403/T
    8.2), once per booking. A landline cannot take an SMS: it is skipped (the QR code at the
    window and "My booking" remain)."""
    if not phone_is_mobile(appointment.phone):
        logger.info("No rating invitation for %s: not a mobile number.", appointment.reference)
        return None
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            **booking_context(appointment=appointment),
            "link": rating_link_url(appointment=appointment, now=now),
            "days": settings.RATING_LINK_DAYS,
        }
        return sms_send(
            purpose=Message.Purpose.RATING_INVITATION,
            phone=appointment.phone,
            context=context,
            subject=appointment,
            dedupe_key=f"rating_invitation:{appointment.pk}",
            now=now,
        )


# --- the rating -----------------------------------------------------------------------------


def _level_clean(value, field: str) -> int:
    if value is None or value == "":
        raise _error(
            field,
            _("Choose one of the five levels: there is no default rating."),
            "required",
        )
    if isinstance(value, bool):
        value = None
    elif isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or value not in Level.values:
        raise _error(field, _("Choose one of the five levels."), "invalid_choice")
    return value


def _rated_department_id(appointment: Appointment) -> int | None:
    department = appointment.matter.departments.order_by("pk").first()
    if department is None:
        department = appointment.window.departments.order_by("pk").first()
    return department.pk if department else None


def _rated_staff_id(appointment: Appointment) -> int | None:
    """Who is rated: the receiving staff member, else whoever recorded the service."""
    if appointment.responsible_staff_id:
        return appointment.responsible_staff_id
    return (
        AppointmentEvent.objects.filter(
            appointment=appointment, action=AppointmentEvent.Action.SERVED
        )
        .order_by("-at", "-pk")
        .values_list("actor_id", flat=True)
        .first()
    )


def bad_review_due_dates(*, rated_at: dt.datetime) -> tuple[dt.date, dt.date]:
    """好差评 local rules: contact and verify within BAD_REVIEW_CONTACT_WORKING_DAYS (1),
    rectify within BAD_REVIEW_RECTIFY_WORKING_DAYS (5) working days of the rating, counted with
    the holiday calendar (make-up working days count)."""
    day = local(rated_at).date()
    return (
        working_days_add(start=day, days=settings.BAD_REVIEW_CONTACT_WORKING_DAYS),
        working_days_add(start=day, days=settings.BAD_REVIEW_RECTIFY_WORKING_DAYS),
    )


def rating_submit(
    *,
    appointment: Appointment,
    overall,
    efficiency,
    service_level,
    attitude,
    comment,
    source: str,
    now: dt.datetime,
    entered_by=None,
) -> Rating:
    """Record the applicant's rating of a served booking (DB1403/T 8.2; 国办发〔2019〕51号).

    Once per booking (一次一评); all four items chosen by the rater (no default level); a comment
    of at most 1000 characters. Citizens rate through the link, the QR code or "My booking"
    within RATING_LINK_DAYS of the service. Staff cannot rate for a citizen: only a paper form
    (source "paper") is typed in, by someone with ``evaluation.enter_paper_rating`` of that hall,
    and recorded as such. A bad overall level opens a ``BadReviewCase`` in the same transaction,
    handled by the window head.
    """
    _require_aware(now)
    errors = {}
    levels = {}
    for field, value in zip(
        LEVEL_FIELDS, (overall, efficiency, service_level, attitude), strict=True
    ):
        try:
            levels[field] = _level_clean(value, field)
        except ValidationError as error:
            errors.update(error.error_dict)
    try:
        comment = _text_clean(comment, "comment", limit=COMMENT_MAX, required=False)
    except ValidationError as error:
        errors.update(error.error_dict)
    if source not in RatingSource.values:
        errors["source"] = [ValidationError(_("Unknown rating channel."), code="invalid_source")]
    if errors:
        raise ValidationError(errors)
    if source == RatingSource.PAPER:
        if entered_by is None:
            raise _error("entered_by", _("A paper form is entered by a staff member."), "required")
        _require_perm(entered_by, "evaluation.enter_paper_rating")
        if not entered_by.is_superuser and user_hall_id(entered_by) != appointment.window.hall_id:
            raise PermissionDenied(_("This booking belongs to another hall."))
    elif entered_by is not None:
        raise _error(
            "entered_by",
            _("Staff cannot rate for a citizen; only a paper form filled in by them is entered."),
            "not_for_staff",
        )
    with transaction.atomic():
        # Race: two tabs (or the SMS link and "My booking") submit at once. Locking the booking
        # row makes the second wait, then find the first one's rating and be refused; the
        # one-to-one Rating.appointment is the last guard.
        locked = Appointment.objects.select_for_update(no_key=True).get(pk=appointment.pk)
        if Rating.objects.filter(appointment_id=locked.pk).exists():
            raise _error(
                "appointment",
                _("This service has already been rated. Each service is rated once."),
                "already_rated",
            )
        if locked.status != Status.SERVED or locked.served_at is None:
            raise _error(
                "appointment",
                _("Only a served booking can be rated; this one is “%(status)s”.")
                % {"status": locked.get_status_display()},
                "not_served",
            )
        until = rating_open_until(appointment=locked)
        # A paper form was filled in at the window when served; it may be typed in later.
        if source in CITIZEN_SOURCES and now >= until:
            raise _error(
                "appointment",
                _("A service can be rated within %(days)s days; this one was served on %(day)s.")
                % {"days": settings.RATING_LINK_DAYS, "day": local(locked.served_at).date()},
                "rating_closed",
            )
        window = appointment.window
        try:
            with transaction.atomic():
                rating = Rating.objects.create(
                    appointment=locked,
                    hall_id=window.hall_id,
                    window=window,
                    department_id=_rated_department_id(appointment),
                    staff_id=_rated_staff_id(locked),
                    comment=comment,
                    source=source,
                    entered_by=entered_by if source == RatingSource.PAPER else None,
                    rated_at=now,
                    **levels,
                )
        except IntegrityError:
            raise _error(
                "appointment",
                _("This service has already been rated. Each service is rated once."),
                "already_rated",
            ) from None
        if rating.overall in BAD_LEVELS:
            _bad_review_open(rating=rating, appointment=locked, now=now)
    return rating


def _bad_review_open(*, rating: Rating, appointment: Appointment, now: dt.datetime):
    """A bad review opens its case at once, handled by the window head (谁办理、谁负责). The
    head is alerted now, finds it in the console's list of open bad reviews, and late steps are
    alerted by the ``bad_reviews`` sweep."""
    contact_due, rectify_due = bad_review_due_dates(rated_at=now)
    case = BadReviewCase.objects.create(
        rating=rating,
        opened_at=now,
        handler_id=rating.window.head_id or appointment.window_head_id,
        contact_due=contact_due,
        rectify_due=rectify_due,
    )
    _step(case, "", CaseState.OPEN, actor=None, now=now, note=rating.get_overall_display())
    if case.handler_id:
        Alert.objects.create(
            recipient_id=case.handler_id,
            hall_id=rating.hall_id,
            kind=Alert.Kind.BAD_REVIEW,
            subject=appointment,
            text=_("Bad review of %(ref)s (%(level)s): contact the rater by %(due)s.")
            % {
                "ref": appointment.reference,
                "level": rating.get_overall_display(),
                "due": f"{contact_due:%Y-%m-%d}",
            },
            created_at=now,
            dedupe_key=f"bad_review:{case.pk}:new",
        )
    return case


# --- bad-review cases -----------------------------------------------------------------------


def _step(case, from_state, to_state, *, actor, now, note="") -> BadReviewStep:
    return BadReviewStep.objects.create(
        case=case, at=now, actor=actor, from_state=from_state, to_state=to_state, note=note
    )


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


def _case_move(case, to_state, *, actor, now, note="", **fields) -> BadReviewCase:
    from_state = case.state
    case.state = to_state
    for name, value in fields.items():
        setattr(case, name, value)
    case.save()
    _step(case, from_state, to_state, actor=actor, now=now, note=note)
    logger.info("Bad review %s: %s → %s by %s", case.pk, from_state, to_state, actor)
    return case


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


def rater_shown(*, case: BadReviewCase, user) -> str:
    """国办发〔2019〕51号 (rater data protected, access limited): the rater's name and number in
    full only for who contacts them — the window head or the hall administrator, holding
    ``change_badreviewcase``; masked for everyone else, the window staff rated among them."""
    appointment = case.rating.appointment
    if user is not None and user.has_perm("evaluation.change_badreviewcase"):
        return f"{appointment.applicant_name} {appointment.phone}"
    return f"{mask_name(appointment.applicant_name)} {mask_phone(appointment.phone)}"


# --- the state machines -----------------------------------------------------------------------
# The steps above check a case's and an appeal's state through these tables; the console's
# buttons (evaluation.admin) are the steps they permit, with the console's forms.

FORMS = "evaluation.admin."
HANDLE_CASE = "evaluation.change_badreviewcase"

CASE_STEPS = TransitionTable(
    Transition(
        "contact",
        gettext_lazy("Contacted and verified"),
        bad_review_contact,
        (CaseState.OPEN,),
        HANDLE_CASE,
        FORMS + "ContactForm",
        gettext_lazy("Only an open bad review is contacted and verified."),
        error_fields=(("contact_note", "note"),),
    ),
    Transition(
        "rectify",
        gettext_lazy("Rectified"),
        bad_review_rectify,
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
        bad_review_reply,
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
        bad_review_close,
        (CaseState.REPLIED,),
        HANDLE_CASE,
        FORMS + "CloseForm",
        gettext_lazy("A case is closed after the rater has had the reply."),
    ),
    Transition(
        "complaint",
        gettext_lazy("Turn into a complaint"),
        bad_review_to_complaint,
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

APPEAL_STEPS = TransitionTable(
    Transition(
        "review",
        gettext_lazy("Decide"),
        rating_appeal_review,
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
