"""Text messages sent to applicants, the outbox of the `db` backend, and verification codes."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField


class Message(models.Model):
    """Every SMS the system sends, with its delivery status (the log staff look at)."""

    hall_lookup = "appointment__window__hall"

    class Purpose(models.TextChoices):
        VERIFICATION = "verification", _("verification code")
        BOOKING_RECEIVED = "booking_received", _("booking received")
        BOOKING_CANCELLED = "booking_cancelled", _("booking cancelled")

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    phone = PhoneNumberField(_("mobile number"))
    purpose = models.CharField(_("purpose"), max_length=30, choices=Purpose.choices)
    # Verification codes are masked here: staff who read the log must not learn them.
    text = models.TextField(_("text"))
    appointment = models.ForeignKey(
        "appointments.Appointment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sms_messages",
        verbose_name=_("appointment"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    backend = models.CharField(_("backend"), max_length=20, blank=True)
    gateway_id = models.CharField(_("gateway message id"), max_length=100, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("text message")
        verbose_name_plural = _("text messages")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self):
        return f"{self.get_purpose_display()} → {self.phone}"


class OutboxMessage(models.Model):
    """The `db` backend's outbox: a gateway process reads and deletes these rows."""

    message = models.OneToOneField(
        Message, on_delete=models.CASCADE, related_name="outbox", verbose_name=_("message")
    )
    phone = models.CharField(_("mobile number"), max_length=20)
    text = models.TextField(_("text"))
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.phone} @ {self.created_at:%Y-%m-%d %H:%M}"


class VerificationCode(models.Model):
    """A 6-digit code sent to prove that a citizen holds a mobile number.

    Only the newest code of a number counts; it is single use, valid for a few minutes, and dies
    after too many wrong tries. Only a keyed hash of the code is stored.
    """

    phone = PhoneNumberField(_("mobile number"), db_index=True)
    code_hash = models.CharField(_("code hash"), max_length=64)
    client_address = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), db_index=True)
    expires_at = models.DateTimeField(_("expires at"))
    failed_attempts = models.PositiveSmallIntegerField(_("wrong tries"), default=0)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("verification code")
        verbose_name_plural = _("verification codes")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="verification_code_expires_after_creation",
            )
        ]

    def __str__(self):
        return f"{self.phone} @ {self.created_at:%Y-%m-%d %H:%M}"
