"""Text messages to applicants (with their templates and delivery status), alerts to staff, the
outbox of the `db` backend, verification codes, and the request counters of the rate limits that
guard them (``yuyue.ratelimit``; ``sms`` is the lowest app, and ``yuyue`` holds no models)."""

from django.conf import settings
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
        REMINDER = "reminder", _("reminder the day before")
        CHANGE_NOTICE = "change_notice", _("change notice")
        RATING_INVITATION = "rating_invitation", _("invitation to rate the service")
        RATING_REPLY = "rating_reply", _("reply to a bad review")
        COMPLAINT_RECEIVED = "complaint_received", _("complaint received")
        COMPLAINT_NOT_ACCEPTED = "complaint_not_accepted", _("complaint not accepted")
        COMPLAINT_REPLY = "complaint_reply", _("reply to a complaint")

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")
        SKIPPED = "skipped", _("not sent (no longer applies)")

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
    # Kept when the booking is deleted: a message for a booking that no longer exists is
    # skipped, not sent.
    booking_reference = models.CharField(_("booking reference"), max_length=12, blank=True)
    change_request = models.ForeignKey(
        "appointments.ChangeRequest",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sms_messages",
        verbose_name=_("change"),
    )
    # One message per purpose and occasion (e.g. "reminder:<booking>:<start>"): a sweep or task
    # that runs twice finds it taken and sends nothing more.
    dedupe_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    backend = models.CharField(_("backend"), max_length=20, blank=True)
    gateway_id = models.CharField(_("gateway message id"), max_length=100, blank=True)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("sending since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

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


class RateLimitCounter(models.Model):
    """The requests of one client in one rate-limit scope and fixed window, counted here when
    there is no Redis (``yuyue.ratelimit``).

    Each request adds one with a single INSERT ... ON CONFLICT DO UPDATE ... RETURNING, so
    concurrent requests are all counted; rows of ended windows are purged hourly.
    """

    # "<scope>:<client>", e.g. "booking:203.0.113.7".
    scope_key = models.CharField(_("scope and client"), max_length=200)
    # The window's number: seconds since the epoch // the window's length.
    period = models.BigIntegerField(_("time window"))
    hits = models.PositiveIntegerField(_("requests counted"), default=0)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)

    class Meta:
        verbose_name = _("rate-limit counter")
        verbose_name_plural = _("rate-limit counters")
        constraints = [
            models.UniqueConstraint(
                fields=["scope_key", "period"], name="rate_limit_counter_one_per_window"
            )
        ]

    def __str__(self):
        return f"{self.scope_key} #{self.period}: {self.hits}"


class MessageTemplate(models.Model):
    """The text of one kind of message, editable by administrators ({placeholders} checked)."""

    purpose = models.CharField(
        _("purpose"), max_length=30, choices=Message.Purpose.choices, unique=True
    )
    text = models.TextField(_("text"))
    updated_at = models.DateTimeField(_("updated at"), null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updated by"),
    )

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["purpose"]

    def __str__(self):
        return self.get_purpose_display()

    def clean(self):
        from .templates import template_clean

        template_clean(purpose=self.purpose, text=self.text)


class Alert(models.Model):
    """Something a staff member must act on, shown in the console until they mark it read."""

    hall_lookup = "hall"

    class Kind(models.TextChoices):
        UNCONFIRMED = "unconfirmed", _("online booking not confirmed in time")
        UNCONFIRMED_24H = "unconfirmed_24h", _("online booking still unconfirmed 24 h before")
        NOT_HANDED_OVER = "not_handed_over", _("booking not handed over to a window")
        NO_SHOW_DUE = "no_show_due", _("no-show follow-up due")
        SMS_FAILED = "sms_failed", _("text message failed")
        CHANGE_NOT_APPLIED = "change_not_applied", _("change not applied after its notice")
        DUTY_ABSENT = "duty_absent", _("staff absent from duty")
        ROSTER_PROBLEM = "roster_problem", _("gap or conflict in the duty roster")
        COMPLAINT_OVERDUE = "complaint_overdue", _("complaint overdue")
        BAD_REVIEW = "bad_review", _("new bad review to contact")
        BAD_REVIEW_OVERDUE = "bad_review_overdue", _("bad review not handled in time")
        RATING_APPEAL = "rating_appeal", _("rating appeal to review")
        ACTION_OVERDUE = "action_overdue", _("improvement action overdue")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="alerts",
        verbose_name=_("recipient"),
    )
    hall = models.ForeignKey(
        "duty.Hall", on_delete=models.CASCADE, related_name="alerts", verbose_name=_("hall")
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    appointment = models.ForeignKey(
        "appointments.Appointment",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alerts",
        verbose_name=_("appointment"),
    )
    text = models.TextField(_("text"))
    created_at = models.DateTimeField(_("created at"))
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    dedupe_key = models.CharField(max_length=160, unique=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self):
        return self.get_kind_display()
