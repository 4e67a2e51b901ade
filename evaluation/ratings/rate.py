"""Rating a served booking (DB1403/T 8.2; 国办发〔2019〕51号): the signed link (SMS or the QR code
at the window), the SMS invitation, and the rating itself — once per booking, voluntary, no
default level; staff only type in a paper form. A bad overall level opens a bad-review case
(``bad_reviews``) in the same transaction."""

import datetime as dt

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from appointments.models import Appointment, AppointmentEvent, Status
from appointments.notifications import booking_context, show_time
from duty.calendar import local, working_days_add
from duty.scoping import user_hall_id
from sms.models import Alert, Message
from sms.phones import phone_is_mobile
from sms.services import sms_send
from yuyue.checks import field_error as _error
from yuyue.checks import require_aware as _require_aware
from yuyue.checks import require_perm as _require_perm
from yuyue.checks import text_clean as _text_clean

from ..models import BAD_LEVELS, BadReviewCase, Level, Rating, RatingSource
from ._common import LEVEL_FIELDS, CaseState, _step, logger

LINK_SALT = "evaluation.rating-link"
COMMENT_MAX = 1000
# Which channel a signed link records: the SMS link or the QR code shown at the window.
LINK_SOURCES = {"s": RatingSource.SMS_LINK, "q": RatingSource.WINDOW_QR}
CITIZEN_SOURCES = (RatingSource.SMS_LINK, RatingSource.WINDOW_QR, RatingSource.MY_BOOKING)


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
