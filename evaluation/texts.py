"""The text messages raters receive: purposes, placeholders and default wording (registered in
``evaluation.apps``; administrators may reword them)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from appointments.texts import BOOKING
from sms.registry import TextTemplate


class Purpose(models.TextChoices):
    RATING_INVITATION = "rating_invitation", _("invitation to rate the service")
    RATING_REPLY = "rating_reply", _("reply to a bad review")


TEMPLATES = {
    Purpose.RATING_INVITATION: TextTemplate(
        placeholders=BOOKING | {"link", "days"},
        required=frozenset({"link"}),
        provider_params=("reference", "days"),
        default=_(
            "Thank you for visiting {hall}. If you wish, rate the service for {reference} within "
            "{days} days: {link} Rating is voluntary."
        ),
    ),
    Purpose.RATING_REPLY: TextTemplate(
        placeholders=BOOKING | {"reply"},
        required=frozenset({"reply"}),
        provider_params=("reference", "reply"),
        default=_("About your rating of {reference} at {hall}: {reply} Questions: {phone}."),
    ),
}
