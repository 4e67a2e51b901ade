"""Text messages to applicants (with their templates and delivery status), alerts to staff, the
outbox of the `db` backend, verification codes, and the request counters of the rate limits that
guard them (``yuyue.ratelimit``; ``sms`` is the lowest app, and ``yuyue`` holds no models)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from .registry import alert_kind_choices, alert_kinds, message_purpose_choices, message_purposes
from .subjects import SubjectQuerySet, reference_property


class Message(models.Model):
    """Every SMS the system sends, with its delivery status (the log staff look at).

    A message is about a record of a higher app (its ``subject``, e.g. a booking) and sometimes
    occasioned by another (its ``occasion``, e.g. the change request a change notice announces),
    both referred to generically (``sms.subjects``); the apps that own them decide, by answering
    the signals of ``sms.signals``, whether it still applies and what its sending causes.
    """

    # The hall of the message's subject (``hall_id`` below), for hall-scoped staff.
    hall_lookup = "hall_id"

    # The purposes the apps registered (``sms.registry``): ``Message.Purpose.REMINDER`` is the
    # member ``appointments`` declares.
    Purpose = message_purposes

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENDING = "sending", _("sending")
        # Accepted by the backend (a provider: accepted, its delivery receipt still to come).
        SENT = "sent", _("sent")
        # The provider's receipt says the handset received it (console/file: at once).
        DELIVERED = "delivered", _("delivered")
        # Not sent, or the provider's receipt says it did not reach the handset.
        FAILED = "failed", _("failed")
        SKIPPED = "skipped", _("not sent (no longer applies)")

    phone = PhoneNumberField(_("mobile number"))
    # Choices read from the registry when used: a new purpose needs no migration here.
    purpose = models.CharField(_("purpose"), max_length=30, choices=message_purpose_choices)
    # Verification codes are masked here: staff who read the log must not learn them.
    text = models.TextField(_("text"))
    # The template's placeholder values, for the providers that take a template code and its
    # parameters instead of text (sms.providers); verification codes masked, as in ``text``.
    context = models.JSONField(_("template values"), default=dict, blank=True)
    subject_type = models.CharField(_("about (kind)"), max_length=100, blank=True, default="")
    subject_id = models.PositiveBigIntegerField(_("about (id)"), null=True, blank=True)
    subject = reference_property("subject")
    occasion_type = models.CharField(_("occasion (kind)"), max_length=100, blank=True, default="")
    occasion_id = models.PositiveBigIntegerField(_("occasion (id)"), null=True, blank=True)
    occasion = reference_property("occasion")
    # The subject's own reference (a booking's), kept when the subject is deleted: the log
    # stays searchable, and a message whose subject no longer exists is skipped, not sent.
    subject_reference = models.CharField(_("reference"), max_length=12, blank=True)
    # The id of the duty hall the subject belongs to, or None (verification codes, complaints):
    # hall staff see their hall's messages. A plain column, not a foreign key, so that ``sms``
    # knows no hall model and scoping needs no join.
    hall_id = models.BigIntegerField(_("hall"), null=True, blank=True, db_index=True)
    # One message per purpose and occasion (e.g. "reminder:<booking>:<start>"): a sweep or task
    # that runs twice finds it taken and sends nothing more.
    dedupe_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    backend = models.CharField(_("backend"), max_length=20, blank=True)
    gateway_id = models.CharField(_("gateway message id"), max_length=100, blank=True)
    error = models.TextField(_("error"), blank=True)
    # The provider's code for a refusal or a failed delivery (isv.BUSINESS_LIMIT_CONTROL,
    # LimitExceeded.PhoneNumberDailyLimit, UNDELIV, …).
    error_code = models.CharField(_("provider error code"), max_length=80, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("sending since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # The handset's receipt time as the provider reports it (what "told" means, 6.2.2).
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    # The provider's time of a failed delivery, and when its receipt (either) reached us.
    failed_at = models.DateTimeField(_("failed at"), null=True, blank=True)
    receipt_at = models.DateTimeField(_("receipt received at"), null=True, blank=True)
    # What the provider bills: 70 characters in one part, 67 a part when longer
    # (sms.billing), or the provider's own count from its answer or receipt.
    segments = models.PositiveSmallIntegerField(_("billed parts"), default=0)

    objects = SubjectQuerySet.as_manager()

    class Meta:
        verbose_name = _("text message")
        verbose_name_plural = _("text messages")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["subject_type", "subject_id"], name="sms_message_subject"),
            # A receipt finds its message by the provider's id.
            models.Index(fields=["backend", "gateway_id"], name="sms_message_gateway"),
        ]

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
    """The text of one kind of message, editable by administrators ({placeholders} checked),
    and the template registered for it with each SMS provider (sms.providers): the provider
    sends its approved template with the purpose's parameters, not this text."""

    purpose = models.CharField(
        _("purpose"), max_length=30, choices=message_purpose_choices, unique=True
    )
    text = models.TextField(
        _("text"), blank=True, help_text=_("Leave empty for the default text below.")
    )
    aliyun_template_code = models.CharField(
        _("Alibaba Cloud template code"),
        max_length=40,
        blank=True,
        help_text=_("The approved template's code, e.g. SMS_123456789."),
    )
    tencent_template_id = models.CharField(
        _("Tencent Cloud template ID"),
        max_length=40,
        blank=True,
        help_text=_("The approved template's ID, e.g. 1234567."),
    )
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
    """Something a staff member must act on, shown in the console until they mark it read.

    An alert is about a record of a higher app (its ``subject``, e.g. a booking; ``sms.subjects``)
    and of a kind that app declares (``sms.registry.alert_kinds``)."""

    hall_lookup = "hall_id"

    # The kinds the apps registered: ``Alert.Kind.NO_SHOW_DUE`` is declared by ``appointments``.
    Kind = alert_kinds

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="alerts",
        verbose_name=_("recipient"),
    )
    # The id of the duty hall the alert belongs to (every alert has one: staff are scoped by
    # hall). A plain indexed integer rather than a foreign key to ``duty.Hall``: ``sms`` lies
    # below ``duty`` and must not name it, and scoping filters on the column with no join. Halls
    # are never deleted, so no cascade is lost.
    hall_id = models.BigIntegerField(_("hall"), db_index=True)
    # Choices read from the registry when used: a new kind needs no migration here.
    kind = models.CharField(_("kind"), max_length=30, choices=alert_kind_choices)
    subject_type = models.CharField(_("about (kind)"), max_length=100, blank=True, default="")
    subject_id = models.PositiveBigIntegerField(_("about (id)"), null=True, blank=True)
    subject = reference_property("subject")
    text = models.TextField(_("text"))
    created_at = models.DateTimeField(_("created at"))
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    dedupe_key = models.CharField(max_length=160, unique=True)

    objects = SubjectQuerySet.as_manager()

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["recipient", "read_at"]),
            models.Index(fields=["subject_type", "subject_id"], name="sms_alert_subject"),
        ]

    def __str__(self):
        return self.get_kind_display()
