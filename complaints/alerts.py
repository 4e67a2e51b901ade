"""The alerts complaints raise for staff (registered in ``complaints.apps``)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AlertKind(models.TextChoices):
    COMPLAINT_OVERDUE = "complaint_overdue", _("complaint overdue")
