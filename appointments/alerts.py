"""The alerts the booking lifecycle raises for staff (registered in ``appointments.apps``)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AlertKind(models.TextChoices):
    UNCONFIRMED = "unconfirmed", _("online booking not confirmed in time")
    UNCONFIRMED_24H = "unconfirmed_24h", _("online booking still unconfirmed 24 h before")
    NOT_HANDED_OVER = "not_handed_over", _("booking not handed over to a window")
    NOTICE_NOT_GIVEN = "notice_not_given", _("one-time notice not given in time")
    NO_SHOW_DUE = "no_show_due", _("no-show follow-up due")
    CHANGE_NOT_APPLIED = "change_not_applied", _("change not applied after its notice")
