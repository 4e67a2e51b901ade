"""Complaints per GB/T 36113 (DB1403/T 7.3): the complaint, its history and who saw the
complainant's identity."""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from phonenumber_field.modelfields import PhoneNumberField

from appointments.models import REFERENCE_ALPHABET

TRACKING_NUMBER_LENGTH = 10


def new_tracking_number() -> str:
    """Read aloud over the phone: the booking reference alphabet (no 0/O, 1/I/L)."""
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(TRACKING_NUMBER_LENGTH))


class ComplaintChannel(models.TextChoices):
    ON_SITE = "on_site", _("on site")
    PHONE = "phone", pgettext_lazy("complaint channel", "phone")
    LETTER = "letter", _("letter")
    HOTLINE_12345 = "hotline_12345", _("12345 hotline")
    ONLINE = "online", pgettext_lazy("complaint channel", "online")
    BAD_RATING = "bad_rating", _("bad rating")


class ComplaintCategory(models.TextChoices):
    ATTITUDE = "attitude", _("attitude")
    DELAY = "delay", _("delay or inefficiency")
    NOT_AT_POST = "not_at_post", _("not at the post")
    SHIRKING = "shirking", _("shirking responsibility (推诿扯皮)")
    FEES = "fees", _("fees charged (DB1403/T 6.2.6)")
    BOOKING_NOT_HONOURED = (
        "booking_not_honoured",
        _("booking not honoured or changed without notice (DB1403/T 6.2.2)"),
    )
    OTHER = "other", _("other")


class ComplaintState(models.TextChoices):
    REGISTERED = "registered", _("registered")
    ACCEPTED = "accepted", pgettext_lazy("complaint state", "accepted")
    NOT_ACCEPTED = "not_accepted", _("not accepted")
    SETTLED = "settled", _("settled on the spot")
    REFERRED = "referred", _("referred to the department")
    INVESTIGATED = "investigated", _("investigated")
    DECIDED = "decided", _("decided")
    REPLIED = "replied", _("replied")
    FOLLOWED_UP = "followed_up", _("followed up")
    ARCHIVED = "archived", _("archived")


class RefusalReason(models.TextChoices):
    NO_TARGET = "no_target", _("no identifiable target or matter")
    OUTSIDE_SERVICE = "outside_service", _("outside government service")
    REVIEW_OR_COURT = "review_or_court", _("already under administrative review or in court")
    DUPLICATE = "duplicate", _("duplicate")


class ReplyMethod(models.TextChoices):
    IN_PERSON = "in_person", _("in person")
    PHONE = "phone", pgettext_lazy("reply method", "phone")
    SMS = "sms", _("text message")
    LETTER = "letter", _("letter")
    EMAIL = "email", _("e-mail")


# GB/T 36113: a written complaint gets a written reply.
WRITTEN_CHANNELS = (ComplaintChannel.LETTER,)
WRITTEN_REPLY_METHODS = (ReplyMethod.LETTER, ReplyMethod.EMAIL)

# Waiting to be accepted; waiting for the reply (the reply deadline runs).
AWAITING_ACCEPTANCE = (ComplaintState.REGISTERED,)
AWAITING_REPLY = (
    ComplaintState.ACCEPTED,
    ComplaintState.REFERRED,
    ComplaintState.INVESTIGATED,
    ComplaintState.DECIDED,
)


class Complaint(models.Model):
    """A complaint about the hall's service (GB/T 36113; DB1403/T 7.3)."""

    hall_lookup = "hall"

    tracking_number = models.CharField(
        _("tracking number"), max_length=16, unique=True, editable=False
    )
    hall = models.ForeignKey(
        "duty.Hall", on_delete=models.PROTECT, related_name="complaints", verbose_name=_("hall")
    )
    channel = models.CharField(
        pgettext_lazy("complaint", "channel"), max_length=20, choices=ComplaintChannel.choices
    )
    category = models.CharField(_("category"), max_length=30, choices=ComplaintCategory.choices)
    window = models.ForeignKey(
        "duty.Window",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="complaints",
        verbose_name=_("window"),
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="complaints_about",
        verbose_name=_("staff member complained about"),
    )
    department = models.ForeignKey(
        "duty.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="complaints",
        verbose_name=_("department"),
    )
    appointment = models.ForeignKey(
        "appointments.Appointment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="complaints",
        verbose_name=_("appointment"),
    )
    complainant_name = models.CharField(_("complainant's name"), max_length=50)
    complainant_phone = PhoneNumberField(_("complainant's phone"), blank=True)
    identity_withheld = models.BooleanField(
        _("identity withheld from the staff complained about"), default=False
    )
    text = models.TextField(_("complaint"), max_length=5000)
    is_complex = models.BooleanField(
        _("complex"),
        default=False,
        help_text=_("Complex or several departments: the longer reply deadline applies."),
    )
    state = models.CharField(
        _("state"),
        max_length=20,
        choices=ComplaintState.choices,
        default=ComplaintState.REGISTERED,
    )
    received_at = models.DateTimeField(_("received at"))
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="complaints_registered",
        verbose_name=_("registered by"),
    )
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="complaints_handled",
        verbose_name=_("handler"),
    )
    accept_due = models.DateField(_("accept by"))
    reply_due = models.DateField(_("reply by"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    refusal_reason = models.CharField(
        _("reason not accepted"), max_length=20, choices=RefusalReason.choices, blank=True
    )
    referred_department = models.ForeignKey(
        "duty.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="complaints_referred",
        verbose_name=_("referred to"),
    )
    findings = models.TextField(pgettext_lazy("complaint", "findings"), blank=True)
    substantiated = models.BooleanField(_("substantiated"), null=True, blank=True)
    measures = models.TextField(_("measures"), blank=True)
    reply_method = models.CharField(
        _("reply method"), max_length=20, choices=ReplyMethod.choices, blank=True
    )
    reply_text = models.TextField(_("reply"), blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    satisfied = models.BooleanField(_("complainant satisfied"), null=True, blank=True)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)
    # Personal data over time (PIPL): set by the retention sweep (yuyue/retention.py).
    anonymised_at = models.DateTimeField(_("personal data anonymised at"), null=True, blank=True)

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-received_at", "-pk"]
        permissions = [
            ("view_complainant_identity", _("Can see who complained")),
            ("handle_complaint", _("Can handle complaints")),
        ]
        indexes = [models.Index(fields=["state", "hall"])]
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="complaint_text_not_empty"),
            models.CheckConstraint(
                condition=~Q(complainant_name=""), name="complaint_complainant_named"
            ),
            models.CheckConstraint(
                condition=~Q(state=ComplaintState.NOT_ACCEPTED) | ~Q(refusal_reason=""),
                name="complaint_refusal_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(channel__in=WRITTEN_CHANNELS)
                | Q(reply_method="")
                | Q(reply_method__in=WRITTEN_REPLY_METHODS),
                name="complaint_written_reply_for_letter",
            ),
        ]

    def __str__(self):
        return self.tracking_number

    def clean(self):
        """The database constraints, as form errors."""
        errors = {}
        if not (self.text or "").strip():
            errors["text"] = _("Write what the complaint is about.")
        if not (self.complainant_name or "").strip():
            errors["complainant_name"] = _("Give the complainant's name.")
        if self.state == ComplaintState.NOT_ACCEPTED and not self.refusal_reason:
            errors["refusal_reason"] = _("Give the reason the complaint is not accepted.")
        if (
            self.channel in WRITTEN_CHANNELS
            and self.reply_method
            and self.reply_method not in WRITTEN_REPLY_METHODS
        ):
            errors["reply_method"] = _("A written complaint gets a written reply (GB/T 36113).")
        if errors:
            raise ValidationError(errors)


class ComplaintStep(models.Model):
    """One step of a complaint's handling: who, when, from which state to which."""

    hall_lookup = "complaint__hall"

    complaint = models.ForeignKey(
        Complaint, on_delete=models.CASCADE, related_name="steps", verbose_name=_("complaint")
    )
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("by"),
    )
    from_state = models.CharField(
        _("from"), max_length=20, choices=ComplaintState.choices, blank=True
    )
    to_state = models.CharField(_("to"), max_length=20, choices=ComplaintState.choices)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("complaint step")
        verbose_name_plural = _("complaint steps")
        ordering = ["complaint", "at", "pk"]

    def __str__(self):
        return f"{self.complaint} {self.from_state}→{self.to_state}"


class IdentityView(models.Model):
    """Somebody saw who complained (GB/T 36113: the complainant's identity is confidential)."""

    hall_lookup = "complaint__hall"

    complaint = models.ForeignKey(
        Complaint,
        on_delete=models.CASCADE,
        related_name="identity_views",
        verbose_name=_("complaint"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    at = models.DateTimeField(_("at"))
    where = models.CharField(_("where"), max_length=30)

    class Meta:
        verbose_name = _("view of a complainant's identity")
        verbose_name_plural = _("views of complainants' identities")
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.complaint} {self.user}"


ATTACHMENT_TYPES = {
    # content type: (file name endings, magic bytes at the start of the file)
    "image/jpeg": ((".jpg", ".jpeg"), (b"\xff\xd8\xff",)),
    "image/png": ((".png",), (b"\x89PNG\r\n\x1a\n",)),
    "application/pdf": ((".pdf",), (b"%PDF-",)),
}


def attachment_path(instance, filename: str) -> str:
    """A random name under complaints/<year>/: the original name is kept in the row only."""
    suffix = filename[filename.rfind(".") :].lower() if "." in filename else ""
    return f"complaints/{instance.uploaded_at:%Y}/{secrets.token_hex(16)}{suffix}"


class ComplaintAttachment(models.Model):
    """A document of the investigation (GB/T 36113 调查核实): an image or a PDF, shown only to
    complaint handlers (never public media)."""

    hall_lookup = "complaint__hall"

    complaint = models.ForeignKey(
        Complaint, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("complaint")
    )
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(
        _("content type"),
        max_length=40,
        choices=[(key, key) for key in ATTACHMENT_TYPES],
    )
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    uploaded_at = models.DateTimeField(_("uploaded at"))

    class Meta:
        verbose_name = _("complaint attachment")
        verbose_name_plural = _("complaint attachments")
        ordering = ["complaint", "uploaded_at", "pk"]

    def __str__(self):
        return self.original_name
