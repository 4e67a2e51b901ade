"""The message purposes and alert kinds of ``sms`` itself (registered in ``sms.apps``); every
other app declares its own in its ``texts`` and ``alerts`` modules."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .registry import TextTemplate


class Purpose(models.TextChoices):
    VERIFICATION = "verification", _("verification code")


class AlertKind(models.TextChoices):
    SMS_FAILED = "sms_failed", _("text message failed")


TEMPLATES = {
    Purpose.VERIFICATION: TextTemplate(
        placeholders=frozenset({"code", "minutes"}),
        required=frozenset({"code"}),
        provider_params=("code", "minutes"),
        default=_(
            "Your verification code is {code}, valid for {minutes} minutes. "
            "If you did not ask for it, ignore this message."
        ),
    ),
}
