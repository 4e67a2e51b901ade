"""Message texts: defaults in the code (translated), overridable by administrators.

Templates use {placeholders}. Each purpose has a fixed set it may use and some it must use,
declared with its default wording by the app that owns the purpose (``sms.registry``); a
template with anything else is refused when saved, so a sweep never fails on a bad template.
"""

import logging
from string import Formatter

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .models import MessageTemplate
from .registry import message_purposes

logger = logging.getLogger(__name__)


def placeholders(purpose: str) -> frozenset[str]:
    """The placeholders a purpose's template may use (as its app registered them)."""
    spec = message_purposes.templates.get(purpose)
    return spec.placeholders if spec else frozenset()


def default_text(purpose: str) -> str:
    """The default wording of a purpose, in the active language."""
    return str(message_purposes.templates[purpose].default)


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
    """Refuse a template that uses an unknown placeholder or lacks a required one (an empty
    one keeps the default wording)."""
    if not (text or "").strip():
        return
    fields = _fields(text or "")
    allowed = placeholders(purpose)
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
    spec = message_purposes.templates.get(purpose)
    missing = sorted((spec.required if spec else frozenset()) - fields)
    if missing:
        raise ValidationError(
            {
                "text": _("The template must contain %(missing)s.")
                % {"missing": ", ".join(f"{{{f}}}" for f in missing)}
            }
        )


def template_values(*, purpose: str, context: dict) -> dict:
    """The purpose's placeholder values as text, kept with a message for the providers that
    send a template's parameters rather than our text (sms.providers)."""
    return {key: str(context.get(key, "")) for key in sorted(placeholders(purpose))}


_DEFAULT = object()


def template_text(*, purpose: str) -> str | None:
    """The administrators' wording for ``purpose``, or None for the default."""
    return MessageTemplate.objects.filter(purpose=purpose).values_list("text", flat=True).first()


def message_text(*, purpose: str, context: dict, template=_DEFAULT) -> str:
    """The text for ``purpose``: the administrators' template if there is one, else the
    default, with ``context`` filled in. Sweeps pass ``template`` (from ``template_text``) to
    read it once for all their messages."""
    text = template_text(purpose=purpose) if template is _DEFAULT else template
    values = {key: context.get(key, "") for key in placeholders(purpose)}
    if text:
        try:
            return text.format_map(values)
        except (KeyError, ValueError, IndexError, AttributeError):
            # Saved around the check (e.g. by SQL): the default text still goes out.
            logger.error("Message template %s is invalid; the default text is used.", purpose)
    return default_text(purpose).format_map(values)
