"""Message texts: defaults in the code (translated), overridable by administrators.

Templates use {placeholders}. Each purpose has a fixed set it may use and some it must use; a
template with anything else is refused when saved, so a sweep never fails on a bad template.
"""

import logging
from string import Formatter

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Message, MessageTemplate

logger = logging.getLogger(__name__)
Purpose = Message.Purpose

BOOKING = {"reference", "name", "matter", "time", "window", "hall", "address", "phone"}
COMPLAINT = {"number", "hall", "phone"}
PLACEHOLDERS = {
    Purpose.VERIFICATION: {"code", "minutes"},
    Purpose.BOOKING_RECEIVED: BOOKING,
    Purpose.BOOKING_CANCELLED: BOOKING,
    Purpose.REMINDER: BOOKING | {"materials", "cancel"},
    Purpose.CHANGE_NOTICE: BOOKING | {"old_time", "new_time", "new_window", "reason"},
    Purpose.RATING_INVITATION: BOOKING | {"link", "days"},
    Purpose.RATING_REPLY: BOOKING | {"reply"},
    Purpose.COMPLAINT_RECEIVED: COMPLAINT | {"accept_by"},
    Purpose.COMPLAINT_NOT_ACCEPTED: COMPLAINT | {"reason"},
    Purpose.COMPLAINT_REPLY: COMPLAINT | {"reply"},
}
REQUIRED = {
    Purpose.VERIFICATION: {"code"},
    Purpose.BOOKING_RECEIVED: {"reference"},
    Purpose.BOOKING_CANCELLED: {"reference"},
    Purpose.REMINDER: {"time"},
    Purpose.CHANGE_NOTICE: {"new_time"},
    Purpose.RATING_INVITATION: {"link"},
    Purpose.RATING_REPLY: {"reply"},
    Purpose.COMPLAINT_RECEIVED: {"number"},
    Purpose.COMPLAINT_NOT_ACCEPTED: {"number", "reason"},
    Purpose.COMPLAINT_REPLY: {"number", "reply"},
}
DEFAULTS = {
    Purpose.VERIFICATION: gettext_lazy(
        "Your verification code is {code}, valid for {minutes} minutes. "
        "If you did not ask for it, ignore this message."
    ),
    Purpose.BOOKING_RECEIVED: gettext_lazy(
        "Booking {reference} received: {matter}, {time}, window {window}, {hall}. "
        "The window will confirm it with you. Free of charge."
    ),
    Purpose.BOOKING_CANCELLED: gettext_lazy("Booking {reference} ({time}) is cancelled."),
    Purpose.REMINDER: gettext_lazy(
        "Reminder: {matter} at {time}, window {window}, {hall}, {address}. Please bring: "
        "{materials}. Reference {reference}. To cancel: {cancel}. Free of charge."
    ),
    Purpose.CHANGE_NOTICE: gettext_lazy(
        "Your booking {reference} is changed from {old_time} to {new_time}, window "
        "{new_window}. Reason: {reason}. Questions: {phone}."
    ),
    Purpose.RATING_INVITATION: gettext_lazy(
        "Thank you for visiting {hall}. If you wish, rate the service for {reference} within "
        "{days} days: {link} Rating is voluntary."
    ),
    Purpose.RATING_REPLY: gettext_lazy(
        "About your rating of {reference} at {hall}: {reply} Questions: {phone}."
    ),
    Purpose.COMPLAINT_RECEIVED: gettext_lazy(
        "Your complaint to {hall} is registered as {number}. It will be accepted or answered "
        "by {accept_by}. Follow it with this number under Complaints on the hall's site. "
        "Questions: {phone}."
    ),
    Purpose.COMPLAINT_NOT_ACCEPTED: gettext_lazy(
        "Your complaint {number} to {hall} is not accepted: {reason}. Questions: {phone}."
    ),
    Purpose.COMPLAINT_REPLY: gettext_lazy(
        "Reply to your complaint {number} from {hall}: {reply} Questions: {phone}."
    ),
}


def _fields(text: str) -> set[str]:
    try:
        return {
            field for _literal, field, _spec, _conv in Formatter().parse(text) if field is not None
        }
    except ValueError as error:
        raise ValidationError(
            {
                "text": _(
                    "The template is malformed (%(error)s): write each placeholder in braces."
                )
                % {"error": error}
            }
        ) from error


def template_clean(*, purpose: str, text: str) -> None:
    """Refuse a template that uses an unknown placeholder or lacks a required one."""
    fields = _fields(text or "")
    allowed = PLACEHOLDERS.get(purpose, set())
    unknown = sorted(fields - allowed)
    if unknown:
        raise ValidationError(
            {
                "text": _("Unknown placeholder(s): %(unknown)s. Allowed: %(allowed)s.")
                % {
                    "unknown": ", ".join(f"{{{f}}}" for f in unknown),
                    "allowed": ", ".join(f"{{{f}}}" for f in sorted(allowed)),
                }
            }
        )
    missing = sorted(REQUIRED.get(purpose, set()) - fields)
    if missing:
        raise ValidationError(
            {
                "text": _("The template must contain %(missing)s.")
                % {"missing": ", ".join(f"{{{f}}}" for f in missing)}
            }
        )


_DEFAULT = object()


def template_text(*, purpose: str) -> str | None:
    """The administrators' wording for ``purpose``, or None for the default."""
    return MessageTemplate.objects.filter(purpose=purpose).values_list("text", flat=True).first()


def message_text(*, purpose: str, context: dict, template=_DEFAULT) -> str:
    """The text for ``purpose``: the administrators' template if there is one, else the
    default, with ``context`` filled in. Sweeps pass ``template`` (from ``template_text``) to
    read it once for all their messages."""
    text = template_text(purpose=purpose) if template is _DEFAULT else template
    values = {key: context.get(key, "") for key in PLACEHOLDERS[purpose]}
    if text:
        try:
            return text.format_map(values)
        except (KeyError, ValueError, IndexError, AttributeError):
            # Saved around the check (e.g. by SQL): the default text still goes out.
            logger.error("Message template %s is invalid; the default text is used.", purpose)
    return str(DEFAULTS[purpose]).format_map(values)
