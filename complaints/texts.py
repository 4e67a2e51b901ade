"""The text messages complainants receive: purposes, placeholders and default wording
(registered in ``complaints.apps``; administrators may reword them)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from sms.registry import TextTemplate

COMPLAINT = frozenset({"number", "hall", "phone"})


class Purpose(models.TextChoices):
    COMPLAINT_RECEIVED = "complaint_received", _("complaint received")
    COMPLAINT_NOT_ACCEPTED = "complaint_not_accepted", _("complaint not accepted")
    COMPLAINT_REPLY = "complaint_reply", _("reply to a complaint")


TEMPLATES = {
    Purpose.COMPLAINT_RECEIVED: TextTemplate(
        placeholders=COMPLAINT | {"accept_by"},
        required=frozenset({"number"}),
        provider_params=("number", "accept_by"),
        default=_(
            "Your complaint to {hall} is registered as {number}. It will be accepted or answered "
            "by {accept_by}. Follow it with this number under Complaints on the hall's site. "
            "Questions: {phone}."
        ),
    ),
    Purpose.COMPLAINT_NOT_ACCEPTED: TextTemplate(
        placeholders=COMPLAINT | {"reason"},
        required=frozenset({"number", "reason"}),
        provider_params=("number", "reason"),
        default=_(
            "Your complaint {number} to {hall} is not accepted: {reason}. Questions: {phone}."
        ),
    ),
    Purpose.COMPLAINT_REPLY: TextTemplate(
        placeholders=COMPLAINT | {"reply"},
        required=frozenset({"number", "reply"}),
        provider_params=("number", "reply"),
        default=_("Reply to your complaint {number} from {hall}: {reply} Questions: {phone}."),
    ),
}
