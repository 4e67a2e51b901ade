"""The small checks every service module starts with, in one place: an error keyed by its field,
``now`` must be aware, the actor must hold the permission, text must fit."""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _


def field_error(field: str, message: str, code: str) -> ValidationError:
    """A ValidationError keyed by ``field``, so forms and the API put it beside that field."""
    return ValidationError({field: ValidationError(message, code=code)})


def require_aware(now) -> None:
    """Services compare against stored UTC instants: a naive ``now`` is a programming error."""
    if not isinstance(now, dt.datetime) or timezone.is_naive(now):
        raise ValueError("now must be an aware datetime")


def require_perm(actor, perm: str) -> None:
    """An active user holding ``perm``, else PermissionDenied."""
    if actor is None or not actor.is_active or not actor.has_perm(perm):
        raise PermissionDenied(_("You are not allowed to do this."))


def text_clean(value, field: str, *, limit: int, required: bool = True) -> str:
    """Stripped text of at most ``limit`` characters; empty refused when ``required``."""
    if value is not None and not isinstance(value, str):
        raise field_error(field, _("Enter text."), "invalid")
    text = (value or "").strip()
    if required and not text:
        raise field_error(field, _("This field cannot be empty."), "required")
    if len(text) > limit:
        raise field_error(
            field, _("At most %(limit)s characters, please.") % {"limit": limit}, "too_long"
        )
    return text
