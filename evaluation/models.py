"""好差评 ratings, bad-review cases, self-evaluation and improvement (DB1403/T 7.4, 8.1–8.3)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Level(models.IntegerChoices):
    """The five 好差评 levels. 4 and 5 are good reviews, 1 and 2 bad ones."""

    VERY_SATISFIED = 5, _("very satisfied (非常满意)")
    SATISFIED = 4, _("satisfied (满意)")
    FAIRLY_SATISFIED = 3, _("fairly satisfied (基本满意)")
    DISSATISFIED = 2, _("dissatisfied (不满意)")
    VERY_DISSATISFIED = 1, _("very dissatisfied (非常不满意)")


GOOD_LEVELS = (Level.VERY_SATISFIED, Level.SATISFIED)
BAD_LEVELS = (Level.DISSATISFIED, Level.VERY_DISSATISFIED)


class RatingSource(models.TextChoices):
    SMS_LINK = "sms_link", _("link in a text message")
    WINDOW_QR = "window_qr", _("QR code at the window")
    MY_BOOKING = "my_booking", _("my booking")
    PAPER = "paper", _("paper form entered by staff")


class Rating(models.Model):
    """One applicant's rating of one served booking (一次一评): never a default, never deleted."""

    hall_lookup = "hall"

    appointment = models.OneToOneField(
        "appointments.Appointment",
        on_delete=models.PROTECT,
        related_name="rating",
        verbose_name=_("appointment"),
    )
    # Copied from the booking when rated, so that figures need no joins and stay as they were.
    hall = models.ForeignKey(
        "duty.Hall", on_delete=models.PROTECT, related_name="ratings", verbose_name=_("hall")
    )
    window = models.ForeignKey(
        "duty.Window", on_delete=models.PROTECT, related_name="ratings", verbose_name=_("window")
    )
    department = models.ForeignKey(
        "duty.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ratings",
        verbose_name=_("department"),
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ratings_received",
        verbose_name=_("staff member rated"),
    )
    overall = models.PositiveSmallIntegerField(_("overall satisfaction"), choices=Level.choices)
    efficiency = models.PositiveSmallIntegerField(_("efficiency"), choices=Level.choices)
    service_level = models.PositiveSmallIntegerField(_("service level"), choices=Level.choices)
    attitude = models.PositiveSmallIntegerField(_("attitude"), choices=Level.choices)
    comment = models.TextField(_("comment"), max_length=1000, blank=True)
    source = models.CharField(_("source"), max_length=12, choices=RatingSource.choices)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by"),
        help_text=_("Only for a paper form: the staff member who typed it in."),
    )
    rated_at = models.DateTimeField(_("rated at"), db_index=True)
    # 申诉复核: an upheld appeal marks the rating; it stays, but leaves the figures.
    excluded = models.BooleanField(_("excluded after appeal"), default=False)
    excluded_reason = models.CharField(_("why excluded"), max_length=200, blank=True)
    # Personal data over time (PIPL): set by the retention sweep (yuyue/retention.py).
    anonymised_at = models.DateTimeField(_("personal data anonymised at"), null=True, blank=True)

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        ordering = ["-rated_at", "-pk"]
        permissions = [
            ("review_rating_appeal", _("Can review rating appeals")),
            ("enter_paper_rating", _("Can enter paper rating forms")),
        ]
        indexes = [
            models.Index(fields=["hall", "rated_at"]),
            models.Index(fields=["window", "rated_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(overall__gte=1, overall__lte=5)
                & Q(efficiency__gte=1, efficiency__lte=5)
                & Q(service_level__gte=1, service_level__lte=5)
                & Q(attitude__gte=1, attitude__lte=5),
                name="rating_levels_in_range",
            ),
            models.CheckConstraint(
                condition=Q(source=RatingSource.PAPER, entered_by__isnull=False)
                | (~Q(source=RatingSource.PAPER) & Q(entered_by__isnull=True)),
                name="rating_paper_entered_by_staff",
            ),
        ]

    def __str__(self):
        # The booking reference is what staff and the applicant know the service by.
        return f"{self.appointment.reference}: {self.get_overall_display()}"

    @property
    def is_bad(self) -> bool:
        return self.overall in BAD_LEVELS

    @property
    def is_good(self) -> bool:
        return self.overall in GOOD_LEVELS

    def clean(self):
        errors = {}
        for field in ("overall", "efficiency", "service_level", "attitude"):
            value = getattr(self, field)
            if value is not None and not 1 <= value <= 5:
                errors[field] = _("Choose one of the five levels.")
        if self.source == RatingSource.PAPER and self.entered_by_id is None:
            errors["entered_by"] = _("A paper form is entered by a staff member.")
        if self.source != RatingSource.PAPER and self.entered_by_id is not None:
            errors["entered_by"] = _("Staff cannot rate for a citizen except from a paper form.")
        if errors:
            raise ValidationError(errors)


class BadReviewCase(models.Model):
    """What the hall does about a bad review: contact and verify, rectify, reply (好差评 rules)."""

    hall_lookup = "rating__hall"

    class State(models.TextChoices):
        OPEN = "open", _("open")
        CONTACTED = "contacted", _("contacted and verified")
        RECTIFIED = "rectified", _("rectified")
        REPLIED = "replied", _("replied to the rater")
        CLOSED = "closed", pgettext_lazy("bad review case", "closed")

    rating = models.OneToOneField(
        Rating, on_delete=models.PROTECT, related_name="case", verbose_name=_("rating")
    )
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.OPEN)
    opened_at = models.DateTimeField(_("opened at"))
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bad_review_cases",
        verbose_name=_("handler"),
    )
    contact_due = models.DateField(_("contact by"))
    rectify_due = models.DateField(_("rectify by"))
    contacted_at = models.DateTimeField(_("contacted at"), null=True, blank=True)
    verified = models.BooleanField(_("review verified"), null=True, blank=True)
    contact_note = models.TextField(_("what the rater said"), blank=True)
    rectified_at = models.DateTimeField(_("rectified at"), null=True, blank=True)
    rectification = models.TextField(_("rectification"), blank=True)
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    reply_text = models.TextField(_("reply"), blank=True)
    complaint = models.OneToOneField(
        "complaints.Complaint",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bad_review_case",
        verbose_name=_("complaint opened from it"),
    )

    class Meta:
        verbose_name = _("bad-review case")
        verbose_name_plural = _("bad-review cases")
        ordering = ["-opened_at", "-pk"]
        indexes = [models.Index(fields=["state", "rectify_due"])]

    def __str__(self):
        return f"{self.rating}"


class RatingAppeal(models.Model):
    """申诉复核: the window appeals a mistaken or malicious rating; a supervisor decides."""

    hall_lookup = "rating__hall"

    class State(models.TextChoices):
        PENDING = "pending", _("waiting for review")
        UPHELD = "upheld", _("upheld: rating marked")
        REJECTED = "rejected", _("rejected: rating stands")

    rating = models.ForeignKey(
        Rating, on_delete=models.PROTECT, related_name="appeals", verbose_name=_("rating")
    )
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING
    )
    reason = models.TextField(_("reason"), max_length=2000)
    appealed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("appealed by"),
    )
    appealed_at = models.DateTimeField(_("appealed at"))
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_note = models.TextField(_("review note"), blank=True)

    class Meta:
        verbose_name = _("rating appeal")
        verbose_name_plural = _("rating appeals")
        ordering = ["-appealed_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="rating_appeal_has_reason"),
            # One appeal at a time per rating.
            models.UniqueConstraint(
                fields=["rating"],
                condition=Q(state="pending"),
                name="rating_appeal_one_pending",
            ),
        ]

    def __str__(self):
        return f"{self.rating} ({self.get_state_display()})"

    def clean(self):
        if not (self.reason or "").strip():
            raise ValidationError({"reason": _("Say why the rating is mistaken or malicious.")})


class SelfEvaluation(models.Model):
    """A window's monthly self-evaluation (DB1403/T 8.1): figures from the data, head's remarks."""

    hall_lookup = "window__hall"

    window = models.ForeignKey(
        "duty.Window",
        on_delete=models.PROTECT,
        related_name="self_evaluations",
        verbose_name=_("window"),
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    # The checklist as computed when submitted: {"computed_at", "items": {key: {clause, label,
    # value, target, ok}}}; kept as evidence.
    figures = models.JSONField(_("figures"), default=dict)
    answers = models.JSONField(_("checklist answers"), default=dict)
    remarks = models.TextField(_("window head's remarks"), blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("self-evaluation")
        verbose_name_plural = _("self-evaluations")
        ordering = ["-month", "window"]
        constraints = [
            models.UniqueConstraint(
                fields=["window", "month"], name="self_evaluation_one_per_window_month"
            ),
            models.CheckConstraint(
                condition=Q(month__day=1), name="self_evaluation_month_first_day"
            ),
        ]

    def __str__(self):
        return f"{self.window} {self.month:%Y-%m}"

    def clean(self):
        if self.month and self.month.day != 1:
            raise ValidationError({"month": _("A month starts on its first day.")})


class ImprovementAction(models.Model):
    """An improvement action (DB1403/T 8.3) and what caused it."""

    hall_lookup = "hall"

    class State(models.TextChoices):
        OPEN = "open", pgettext_lazy("improvement action", "open")
        IN_PROGRESS = "in_progress", _("in progress")
        DONE = "done", _("done")
        CANCELLED = "cancelled", _("cancelled")

    hall = models.ForeignKey(
        "duty.Hall",
        on_delete=models.PROTECT,
        related_name="improvement_actions",
        verbose_name=_("hall"),
    )
    window = models.ForeignKey(
        "duty.Window",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="improvement_actions",
        verbose_name=_("window"),
    )
    title = models.CharField(_("action"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="improvement_actions",
        verbose_name=_("owner"),
    )
    due = models.DateField(_("due"))
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"))
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    outcome = models.TextField(_("outcome"), blank=True)
    bad_reviews = models.ManyToManyField(
        BadReviewCase, blank=True, related_name="actions", verbose_name=_("bad reviews")
    )
    complaints = models.ManyToManyField(
        "complaints.Complaint", blank=True, related_name="actions", verbose_name=_("complaints")
    )
    findings = models.ManyToManyField(
        "duty.InspectionFinding",
        blank=True,
        related_name="actions",
        verbose_name=_("inspection findings"),
    )
    self_evaluation = models.ForeignKey(
        SelfEvaluation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="actions",
        verbose_name=_("self-evaluation"),
    )

    class Meta:
        verbose_name = _("improvement action")
        verbose_name_plural = _("improvement actions")
        ordering = ["due", "pk"]
        indexes = [models.Index(fields=["hall", "state", "due"])]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="improvement_action_titled"),
            models.CheckConstraint(
                condition=~Q(state="done") | Q(completed_at__isnull=False),
                name="improvement_action_done_has_date",
            ),
        ]

    def __str__(self):
        return self.title

    def clean(self):
        errors = {}
        if not (self.title or "").strip():
            errors["title"] = _("Say what is to be done.")
        if self.state == self.State.DONE and self.completed_at is None:
            errors["completed_at"] = _("A finished action has a completion date.")
        if errors:
            raise ValidationError(errors)


class BadReviewStep(models.Model):
    """The history of a bad-review case: who took which step, when, from which state to which."""

    hall_lookup = "case__rating__hall"

    case = models.ForeignKey(
        BadReviewCase, on_delete=models.CASCADE, related_name="steps", verbose_name=_("case")
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
    from_state = models.CharField(_("from"), max_length=12, blank=True)
    to_state = models.CharField(_("to"), max_length=12)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("bad-review case step")
        verbose_name_plural = _("bad-review case steps")
        ordering = ["case", "at", "pk"]

    def __str__(self):
        return f"{self.from_state or '—'} → {self.to_state}"


# --- the dashboard's per-day summary (evaluation/reporting/summary.py) ---------------------------
# Not user-facing: no admin, no permissions, names not translated.

_SUMMARY_STATUSES = (
    "pending",
    "accepted",
    "handed_over",
    "arrived",
    "served",
    "no_show",
    "cancelled",
)
_SUMMARY_CHANNELS = ("onsite", "phone", "online")
_SUMMARY_RATINGS = ("served", "rated", "good", "bad", "voluntary", "voluntary_good", "unrated")
# The counted columns, in the order the summary reads and writes them (a test checks they match
# appointments.models.Status / Channel and evaluation.figures.RATING_AGGREGATES).
SUMMARY_COUNTS = (
    "total",
    "live",
    "live_outside_regular",
    "on_time",
    *(f"status_{s}" for s in _SUMMARY_STATUSES),
    *(f"channel_{c}" for c in _SUMMARY_CHANNELS),
    *(f"r_{k}" for k in _SUMMARY_RATINGS),
)
# The period's no-show follow-ups (DB1403/T 6.2.3) by their booking's window and matter and their
# booked time's day: all, recorded on time, not recorded yet.
FOLLOW_UP_COUNTS = ("fu_total", "fu_on_time", "fu_open")
# Per holiday no-rest period of the hall (by start), the live bookings in it; a hall with more
# such periods is not summarised (counted from the records).
MAX_HOLIDAY_PERIODS = 4
SUMMARY_HOLIDAYS = tuple(f"holiday_{i}" for i in range(MAX_HOLIDAY_PERIODS))


class DashboardDay(models.Model):
    """The dashboard's booking counts of one window, local day and matter (DB1403/T 7.4, 8.2), as
    ``evaluation.reporting.dashboard`` counts them from the bookings; kept exact by
    ``evaluation.reporting.summary`` (stale days are counted from the records instead)."""

    window = models.ForeignKey("duty.Window", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    matter = models.ForeignKey("appointments.Matter", on_delete=models.CASCADE, related_name="+")
    locals().update(
        {
            name: models.PositiveIntegerField(default=0)
            for name in SUMMARY_COUNTS + FOLLOW_UP_COUNTS + SUMMARY_HOLIDAYS
        }
    )

    class Meta:
        default_permissions = ()
        indexes = [models.Index(fields=["window", "day"], name="dashboard_day_window_day_idx")]

    def __str__(self):
        return f"{self.window_id} {self.day} {self.matter_id}"


class DashboardMinutes(models.Model):
    """The confirmation-time histogram of ``DashboardDay`` (DB1403/T 5.1.3 c): of one window,
    local day and matter, ``count`` online bookings accepted ``minutes`` whole minutes after they
    were made. Added up by the database, so a year is read as its distinct minutes."""

    window = models.ForeignKey("duty.Window", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    matter = models.ForeignKey("appointments.Matter", on_delete=models.CASCADE, related_name="+")
    minutes = models.IntegerField()
    count = models.PositiveIntegerField()

    class Meta:
        default_permissions = ()
        indexes = [models.Index(fields=["window", "day"], name="dashboard_minutes_idx")]

    def __str__(self):
        return f"{self.window_id} {self.day} {self.minutes}: {self.count}"


class DashboardStaleDay(models.Model):
    """A (window, local day) whose records changed after its summary was made: counted from the
    records until the sweep makes it again. One row per change (no uniqueness): the sweep deletes
    exactly the rows it saw, so a mark written while it counts survives it."""

    window_id = models.IntegerField()
    day = models.DateField()

    class Meta:
        default_permissions = ()
        indexes = [models.Index(fields=["window_id", "day"], name="dashboard_stale_idx")]

    def __str__(self):
        return f"{self.window_id} {self.day}"


class DashboardSummaryState(models.Model):
    """How far a hall's summary goes (every day up to ``through``) and what it was counted with
    (``fingerprint``: the settings, service periods and windows the counts depend on)."""

    hall = models.OneToOneField("duty.Hall", on_delete=models.CASCADE, related_name="+")
    fingerprint = models.CharField(max_length=64)
    through = models.DateField()
    refreshed_at = models.DateTimeField()

    class Meta:
        default_permissions = ()

    def __str__(self):
        return f"{self.hall_id} {self.through}"
