"""The alerts ratings and improvement actions raise for staff (registered in
``evaluation.apps``)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AlertKind(models.TextChoices):
    BAD_REVIEW = "bad_review", _("new bad review to contact")
    BAD_REVIEW_OVERDUE = "bad_review_overdue", _("bad review not handled in time")
    RATING_APPEAL = "rating_appeal", _("rating appeal to review")
    ACTION_OVERDUE = "action_overdue", _("improvement action overdue")
