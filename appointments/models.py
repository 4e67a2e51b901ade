"""Matters, bookings and their lifecycle records (DB1403/T 5.1, 6.1, 6.2, 附录A)."""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from phonenumber_field.modelfields import PhoneNumberField

from duty.models import Department, Hall, Window

# No 0/O, 1/I/L: a citizen reads the reference aloud over the phone.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
REFERENCE_LENGTH = 8


def new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


class Matter(models.Model):
    """An administrative matter (事项) and what to tell the applicant at once (一次性告知)."""

    hall_lookup = "hall"

    hall = models.ForeignKey(
        Hall, on_delete=models.PROTECT, related_name="matters", verbose_name=_("hall")
    )
    name = models.CharField(_("name"), max_length=200)
    departments = models.ManyToManyField(
        Department,
        related_name="matters",
        verbose_name=_("departments"),
        help_text=_("DB1403/T 6.1.1 b: a matter of several departments is handled in parallel."),
    )
    windows = models.ManyToManyField(
        Window, related_name="matters", verbose_name=_("windows"), blank=True
    )
    materials = models.TextField(
        _("materials to bring"), help_text=_("One item per line."), blank=True
    )
    notes = models.TextField(_("notes for the applicant"), blank=True)
    duration_minutes = models.PositiveSmallIntegerField(
        _("expected duration (minutes)"), default=20
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("matter")
        verbose_name_plural = _("matters")
        ordering = ["hall", "name"]
        constraints = [
            models.UniqueConstraint(fields=["hall", "name"], name="matter_unique_in_hall")
        ]

    def __str__(self):
        return self.name

    @property
    def material_list(self) -> list[str]:
        return [line.strip() for line in self.materials.splitlines() if line.strip()]


class Channel(models.TextChoices):
    ONSITE = "onsite", _("on-site")
    PHONE = "phone", pgettext_lazy("booking channel", "phone")
    ONLINE = "online", _("online")


class Status(models.TextChoices):
    PENDING = "pending", _("waiting for the window to confirm")
    ACCEPTED = "accepted", _("accepted")
    HANDED_OVER = "handed_over", _("handed over to the window")
    ARRIVED = "arrived", _("applicant arrived")
    SERVED = "served", _("served")
    NO_SHOW = "no_show", _("did not come")
    CANCELLED = "cancelled", _("cancelled")


# Bookings in these states occupy a place in their slot.
LIVE_STATUSES = (
    Status.PENDING,
    Status.ACCEPTED,
    Status.HANDED_OVER,
    Status.ARRIVED,
    Status.SERVED,
)


class Slot(models.Model):
    """A window's bookable time with its capacity: the row every booking path locks.

    Rows are created on first use. Without an override the slot has the window's current
    capacity; an administrator may set one slot's capacity (0 closes it).
    """

    hall_lookup = "window__hall"

    window = models.ForeignKey(
        Window, on_delete=models.CASCADE, related_name="slots", verbose_name=_("window")
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    capacity = models.PositiveSmallIntegerField(
        _("capacity"),
        null=True,
        blank=True,
        help_text=_("Leave empty for the window's bookings per slot; 0 closes the slot."),
    )

    class Meta:
        verbose_name = _("slot")
        verbose_name_plural = _("slots")
        ordering = ["window", "start"]
        constraints = [
            models.UniqueConstraint(fields=["window", "start"], name="slot_unique_start"),
            models.CheckConstraint(condition=Q(start__lt=F("end")), name="slot_ordered"),
        ]

    def __str__(self):
        return f"{self.window} {timezone.localtime(self.start):%Y-%m-%d %H:%M}"

    @property
    def effective_capacity(self) -> int:
        return self.window.capacity_per_slot if self.capacity is None else self.capacity


class AppointmentQuerySet(models.QuerySet):
    def in_register(self):
        """附录A: bookings the hall has accepted (online ones only after reconfirmation)."""
        return self.filter(accepted_at__isnull=False)


class Appointment(models.Model):
    """A booking: every field of 附录A plus channel, window, responsibility and status."""

    hall_lookup = "window__hall"

    reference = models.CharField(_("reference"), max_length=12, unique=True, editable=False)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    matter = models.ForeignKey(
        Matter, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("matter")
    )
    window = models.ForeignKey(
        Window, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("window")
    )
    start = models.DateTimeField(_("appointment time"), db_index=True)
    end = models.DateTimeField(_("end"))
    applicant_name = models.CharField(_("applicant name"), max_length=50)
    phone = PhoneNumberField(_("contact phone"), region="CN")
    content = models.TextField(_("matter / content"), blank=True)
    remarks = models.TextField(_("remarks"), blank=True)

    created_at = models.DateTimeField(_("created at"))
    accepted_at = models.DateTimeField(_("registration date"), null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("received by"),
    )
    window_head = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("window head (overall responsibility)"),
    )
    responsible_staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("receiving staff (direct responsibility)"),
    )
    contact_person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("contact person"),
    )
    handed_over_at = models.DateTimeField(_("handed over at"), null=True, blank=True)
    short_notice_reason = models.TextField(
        _("reason for accepting under 24 h"),
        blank=True,
        help_text=_(
            "DB1403/T 5.1.1: required when staff accept or move a booking to under 24 h ahead."
        ),
    )
    outside_phone_hours = models.BooleanField(
        _("registered outside phone-line hours"), default=False
    )
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    served_at = models.DateTimeField(_("served at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.TextField(_("cancellation reason"), blank=True)
    cancelled_by_hall = models.BooleanField(
        _("cancelled by the hall"),
        default=False,
        help_text=_("DB1403/T 6.2.2: not at the applicant's request; needs the agency's approval."),
    )
    cancel_emergency_reason = models.TextField(
        _("emergency (cancelled under 8 h)"),
        blank=True,
        help_text=_("DB1403/T 6.2.2: recorded by an agency approver; supervision lists these."),
    )

    # Personal data over time (PIPL): set when the retention sweep masked the name and replaced
    # the number (yuyue/retention.py); every count and figure stays as it was.
    anonymised_at = models.DateTimeField(_("personal data anonymised at"), null=True, blank=True)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["start", "pk"]
        indexes = [
            # Slots by window and time; and the supervisors' dashboard, which reads a year of
            # bookings of a hall from this index alone (no row look-ups): the columns after
            # status are the ones its counts and its confirmation-time histogram use.
            models.Index(
                fields=[
                    "window",
                    "start",
                    "status",
                    "channel",
                    "served_at",
                    "arrived_at",
                    "matter",
                    "created_at",
                    "accepted_at",
                ],
                name="appointment_window_start_idx",
            ),
            # The citizen limits (open bookings per number) and "My booking" look up by number.
            models.Index(fields=["phone", "start"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(start__lt=F("end")), name="appointment_ordered"),
            models.CheckConstraint(
                condition=Q(status=Status.CANCELLED, cancelled_at__isnull=False)
                | (~Q(status=Status.CANCELLED) & Q(cancelled_at__isnull=True)),
                name="appointment_cancelled_has_time",
            ),
            models.CheckConstraint(
                condition=Q(cancel_emergency_reason="") | Q(cancelled_by_hall=True),
                name="appointment_cancel_emergency_by_hall",
            ),
            models.CheckConstraint(
                condition=Q(status=Status.PENDING)
                | Q(accepted_at__isnull=False)
                | Q(status=Status.CANCELLED),
                name="appointment_accepted_has_time",
            ),
        ]
        permissions = [
            ("register_appointment", _("Can register on-site and phone bookings")),
            ("accept_short_notice", _("Can accept bookings under 24 h with a reason")),
            ("confirm_appointment", _("Can confirm online bookings")),
            ("hand_over_appointment", _("Can hand bookings over to windows")),
            ("reassign_appointment", _("Can reassign bookings")),
            ("serve_appointment", _("Can check in and serve applicants")),
            ("request_change", _("Can request a change or postponement")),
            ("approve_change", _("Can approve changes and record emergencies")),
            ("record_no_show", _("Can record no-show follow-ups")),
            ("cancel_appointment", _("Can cancel bookings with a reason")),
        ]

    def __str__(self):
        return f"{self.reference} {self.applicant_name}"

    @property
    def hall_id(self) -> int:
        """The hall of the booking's window: what a text message about the booking records as
        its hall (``sms.subjects``), so that the hall's staff see it."""
        return self.window.hall_id

    def clean(self):
        if self.start and self.end and self.start >= self.end:
            raise ValidationError({"end": _("The end must be after the start.")})
        if (self.status == Status.CANCELLED) != (self.cancelled_at is not None):
            raise ValidationError({"cancelled_at": _("A cancelled booking has a cancel time.")})
        if self.cancel_emergency_reason and not self.cancelled_by_hall:
            raise ValidationError(
                {"cancel_emergency_reason": _("Only a cancellation by the hall is an emergency.")}
            )

    @property
    def is_short_notice(self) -> bool:
        return bool(self.short_notice_reason)


class ParallelTask(models.Model):
    """DB1403/T 6.1.1 b: one task per department's window for a multi-department matter."""

    hall_lookup = "appointment__window__hall"

    appointment = models.ForeignKey(
        Appointment,
        on_delete=models.CASCADE,
        related_name="parallel_tasks",
        verbose_name=_("appointment"),
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="+", verbose_name=_("department")
    )
    window = models.ForeignKey(
        Window, on_delete=models.PROTECT, related_name="+", verbose_name=_("window")
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("confirmed by"),
    )

    class Meta:
        verbose_name = _("parallel task")
        verbose_name_plural = _("parallel tasks")
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "department"], name="parallel_task_one_per_department"
            ),
            models.CheckConstraint(
                condition=Q(confirmed_at__isnull=True, confirmed_by__isnull=True)
                | Q(confirmed_at__isnull=False, confirmed_by__isnull=False),
                name="parallel_task_confirmed_by_someone",
            ),
        ]

    def __str__(self):
        return f"{self.appointment.reference} {self.department}"


class ContactMethod(models.TextChoices):
    PHONE = "phone", _("phone call")
    SMS = "sms", _("SMS")
    IN_PERSON = "in_person", _("in person")


class ContactLog(models.Model):
    """Each time staff contact an applicant: confirmation, one-time notice, change, no-show."""

    class Purpose(models.TextChoices):
        CONFIRMATION = "confirmation", _("confirmation of an online booking (5.1.3 c)")
        ONE_TIME_NOTICE = "notice", _("one-time notice (6.1.3)")
        CHANGE_NOTICE = "change", _("notice of a change (6.2.2)")
        NO_SHOW = "no_show", _("no-show follow-up (6.2.3)")

    hall_lookup = "appointment__window__hall"

    appointment = models.ForeignKey(
        Appointment,
        on_delete=models.CASCADE,
        related_name="contacts",
        verbose_name=_("appointment"),
    )
    purpose = models.CharField(_("purpose"), max_length=15, choices=Purpose.choices)
    method = models.CharField(_("method"), max_length=10, choices=ContactMethod.choices)
    at = models.DateTimeField(_("at"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    text = models.TextField(_("what was said"), blank=True)
    time_reconfirmed = models.BooleanField(_("appointment time reconfirmed"), default=False)
    outcome = models.TextField(_("outcome"), blank=True)

    class Meta:
        verbose_name = _("contact with the applicant")
        verbose_name_plural = _("contacts with applicants")
        ordering = ["appointment", "at"]

    def __str__(self):
        return f"{self.get_purpose_display()} {timezone.localtime(self.at):%Y-%m-%d %H:%M}"


class ChangeRequest(models.Model):
    """DB1403/T 6.2.2: a change or postponement needs the agency's approval and 8 h notice."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("waiting for approval")
        APPROVED = "approved", _("approved, applicant not yet told")
        REJECTED = "rejected", _("rejected")
        APPLIED = "applied", _("applicant told, change applied")
        WITHDRAWN = "withdrawn", _("withdrawn: the booking was cancelled or closed")

    hall_lookup = "appointment__window__hall"

    appointment = models.ForeignKey(
        Appointment,
        on_delete=models.CASCADE,
        related_name="change_requests",
        verbose_name=_("appointment"),
    )
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.REQUESTED
    )
    original_start = models.DateTimeField(_("original time"))
    original_window = models.ForeignKey(
        Window, on_delete=models.PROTECT, related_name="+", verbose_name=_("original window")
    )
    new_start = models.DateTimeField(_("new time"))
    new_window = models.ForeignKey(
        Window, on_delete=models.PROTECT, related_name="+", verbose_name=_("new window")
    )
    reason = models.TextField(_("reason"))
    short_notice_reason = models.TextField(_("reason for a new time under 24 h"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    is_emergency = models.BooleanField(
        _("emergency"),
        default=False,
        help_text=_(
            "Recorded by an agency approver: the change may reach the applicant later "
            "than 8 h before the original time."
        ),
    )
    emergency_reason = models.TextField(_("emergency reason"), blank=True)
    notified_at = models.DateTimeField(_("applicant told at"), null=True, blank=True)
    notice_method = models.CharField(
        _("notice method"), max_length=10, choices=ContactMethod.choices, blank=True
    )

    class Meta:
        verbose_name = _("change request")
        verbose_name_plural = _("change requests")
        ordering = ["-requested_at"]
        # The dashboard's 8 h rule counts a period's changes by their original time.
        indexes = [models.Index(fields=["original_start"], name="change_original_start_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_emergency=False) | ~Q(emergency_reason=""),
                name="change_emergency_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(state="applied") | Q(notified_at__isnull=False),
                name="change_applied_was_notified",
            ),
        ]

    def __str__(self):
        old, new = timezone.localtime(self.original_start), timezone.localtime(self.new_start)
        return f"{self.appointment.reference}: {old:%m-%d %H:%M} → {new:%m-%d %H:%M}"

    def clean(self):
        if self.is_emergency and not self.emergency_reason:
            raise ValidationError({"emergency_reason": _("An emergency needs a reason.")})


class NoShowFollowUp(models.Model):
    """DB1403/T 6.2.3: 30 min after the start without arrival, the window contacts the applicant."""

    class Outcome(models.TextChoices):
        GAVE_UP = "gave_up", _("gives up the booking")
        RESCHEDULED = "rescheduled", _("rescheduled")
        ON_THE_WAY = "on_the_way", _("on the way")
        UNREACHABLE = "unreachable", _("could not be reached")

    hall_lookup = "appointment__window__hall"

    appointment = models.ForeignKey(
        Appointment,
        on_delete=models.CASCADE,
        related_name="follow_ups",
        verbose_name=_("appointment"),
    )
    slot_start = models.DateTimeField(_("booked time"))
    due_at = models.DateTimeField(_("due at"))
    opened_at = models.DateTimeField(_("opened at"))
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("no-show follow-up")
        verbose_name_plural = _("no-show follow-ups")
        ordering = ["due_at"]
        # The dashboard counts a period's follow-ups by their booked time.
        indexes = [models.Index(fields=["slot_start"], name="follow_up_slot_start_idx")]
        constraints = [
            # One follow-up per booked time: a sweep that runs twice opens it once.
            models.UniqueConstraint(
                fields=["appointment", "slot_start"], name="follow_up_once_per_booked_time"
            ),
            models.CheckConstraint(
                condition=Q(outcome="", recorded_at__isnull=True)
                | (~Q(outcome="") & Q(recorded_at__isnull=False)),
                name="follow_up_outcome_has_time",
            ),
        ]

    def __str__(self):
        return f"{self.appointment.reference} {timezone.localtime(self.due_at):%Y-%m-%d %H:%M}"


class AppointmentEvent(models.Model):
    """The booking's history: who did what, when, and which fields changed."""

    class Action(models.TextChoices):
        REGISTERED = "registered", _("registered by the desk")
        BOOKED = "booked", _("booked online")
        CONFIRMED = "confirmed", _("online booking confirmed")
        HANDED_OVER = "handed_over", _("handed over to the window")
        NOTICE_GIVEN = "notice_given", _("one-time notice given")
        REASSIGNED = "reassigned", _("reassigned")
        TASK_CONFIRMED = "task_confirmed", _("parallel task confirmed")
        ARRIVED = "arrived", _("applicant arrived")
        SERVED = "served", _("served")
        CHANGE_REQUESTED = "change_requested", _("change requested")
        CHANGE_APPROVED = "change_approved", _("change approved")
        CHANGE_REJECTED = "change_rejected", _("change rejected")
        CHANGE_APPLIED = "change_applied", _("change told and applied")
        FOLLOW_UP_OPENED = "follow_up_opened", _("no-show follow-up opened")
        FOLLOW_UP_RECORDED = "follow_up_recorded", _("no-show follow-up recorded")
        CANCELLED = "cancelled", _("cancelled")
        EDITED = "edited", _("details edited")

    hall_lookup = "appointment__window__hall"

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="events", verbose_name=_("appointment")
    )
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    action = models.CharField(_("action"), max_length=30, choices=Action.choices)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("history entry")
        verbose_name_plural = _("history")
        ordering = ["appointment", "at", "pk"]

    def __str__(self):
        return f"{timezone.localtime(self.at):%Y-%m-%d %H:%M} {self.get_action_display()}"


class RegisterExport(models.Model):
    """A register (DB1403/T 附录A) exported in the background: what it holds, how far it got,
    and the file. Only the person who asked downloads it, through a permission-checked view."""

    class State(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("being written")
        DONE = "done", _("ready")
        FAILED = "failed", _("failed")

    hall_lookup = "hall"

    hall = models.ForeignKey(
        Hall, on_delete=models.CASCADE, related_name="+", verbose_name=_("hall")
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested at"))
    params = models.JSONField(_("filter"), default=dict)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default="queued")
    rows_total = models.PositiveIntegerField(_("rows in total"), null=True, blank=True)
    rows_written = models.PositiveIntegerField(_("rows written"), default=0)
    file = models.FileField(_("file"), upload_to="registers/%Y/%m/", blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("register export")
        verbose_name_plural = _("register exports")
        ordering = ["-requested_at", "-pk"]

    def __str__(self):
        return f"{self.hall} {timezone.localtime(self.requested_at):%Y-%m-%d %H:%M}"

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(100, self.rows_written * 100 // self.rows_total)
