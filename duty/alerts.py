"""The alerts duties and rosters raise for staff (registered in ``duty.apps``)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AlertKind(models.TextChoices):
    DUTY_ABSENT = "duty_absent", _("staff absent from duty")
    ROSTER_PROBLEM = "roster_problem", _("gap or conflict in the duty roster")
    FINDING_OVERDUE = "finding_overdue", _("inspection finding not dealt with in time")
