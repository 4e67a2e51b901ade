"""Organisation (halls, departments, windows, staff) and the service calendar (DB1403/T 4)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .names import staff_name


class Hall(models.Model):
    """A government service hall (政务服务中心): the city hall or a district hall."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    code = models.SlugField(_("code"), max_length=30, unique=True)
    is_city_hall = models.BooleanField(
        _("city hall"),
        default=False,
        help_text=_("Supervisors of the city hall may see every hall."),
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    phone = models.CharField(_("public phone"), max_length=40, blank=True)
    phone_line_on_holidays = models.BooleanField(
        _("phone line open on statutory holidays"),
        default=False,
        help_text=_("DB1403/T 5.1.3 b: the booking line is closed on statutory holidays."),
    )

    class Meta:
        verbose_name = _("hall")
        verbose_name_plural = _("halls")
        ordering = ["-is_city_hall", "name"]

    def __str__(self):
        return self.name


class DayType(models.TextChoices):
    WORKDAY = "workday", _("working day")
    WEEKEND = "weekend", _("weekend")
    HOLIDAY = "holiday", _("statutory holiday")


class ServicePeriod(models.Model):
    """A stretch of a hall's day in which windows serve (DB1403/T 4).

    On working days the regular office hours are REGULAR; the rest periods inside and after them
    (lunch, evening) are NO_REST. Weekends and holidays only have NO_REST periods; holidays are
    served by appointment only.
    """

    hall_lookup = "hall"

    class Kind(models.TextChoices):
        REGULAR = "regular", _("regular working hours")
        NO_REST = "no_rest", _("no-rest (off-hours) service")

    hall = models.ForeignKey(
        Hall, on_delete=models.CASCADE, related_name="service_periods", verbose_name=_("hall")
    )
    day_type = models.CharField(_("day type"), max_length=10, choices=DayType.choices)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    start = models.TimeField(_("start"))
    end = models.TimeField(_("end"))

    class Meta:
        verbose_name = _("service period")
        verbose_name_plural = _("service periods")
        ordering = ["hall", "day_type", "start"]
        constraints = [
            models.CheckConstraint(condition=Q(start__lt=F("end")), name="service_period_ordered"),
            models.CheckConstraint(
                condition=Q(day_type=DayType.WORKDAY) | Q(kind="no_rest"),
                name="service_period_rest_days_are_no_rest",
            ),
        ]

    def __str__(self):
        return f"{self.get_day_type_display()} {self.start:%H:%M}–{self.end:%H:%M}"

    def clean(self):
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValidationError({"end": _("The end must be after the start.")})
        if self.day_type != DayType.WORKDAY and self.kind != self.Kind.NO_REST:
            raise ValidationError(
                {"kind": _("Weekend and holiday periods are always no-rest service.")}
            )


class PhoneLinePeriod(models.Model):
    """Hours in which the consultation desk answers booking calls (DB1403/T 5.1.3 b)."""

    hall_lookup = "hall"

    hall = models.ForeignKey(
        Hall, on_delete=models.CASCADE, related_name="phone_line_periods", verbose_name=_("hall")
    )
    start = models.TimeField(_("start"))
    end = models.TimeField(_("end"))

    class Meta:
        verbose_name = _("phone line period")
        verbose_name_plural = _("phone line periods")
        ordering = ["hall", "start"]
        constraints = [
            models.CheckConstraint(condition=Q(start__lt=F("end")), name="phone_line_ordered"),
        ]

    def __str__(self):
        return f"{self.start:%H:%M}–{self.end:%H:%M}"

    def clean(self):
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValidationError({"end": _("The end must be after the start.")})


class HolidayYear(models.Model):
    """A year whose holiday arrangement is loaded; dates in other years fall back to weekends."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    source = models.CharField(_("source"), max_length=100, blank=True)
    loaded_at = models.DateTimeField(_("loaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("holiday year")
        verbose_name_plural = _("holiday years")
        ordering = ["-year"]
        constraints = [
            models.CheckConstraint(
                condition=Q(year__gte=2000, year__lte=2100), name="holiday_year_plausible"
            ),
        ]

    def __str__(self):
        return str(self.year)


class CalendarDay(models.Model):
    """A date that differs from the weekday rule: a statutory holiday or a make-up working day."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("statutory holiday")
        MAKEUP_WORKDAY = "makeup", _("make-up working day")

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("holiday or make-up day")
        verbose_name_plural = _("holidays and make-up days")
        ordering = ["date"]

    def __str__(self):
        return f"{self.date} {self.get_kind_display()} {self.name}".strip()


class Department(models.Model):
    """An administrative agency (行政机关) present in a hall."""

    hall_lookup = "hall"

    hall = models.ForeignKey(
        Hall, on_delete=models.PROTECT, related_name="departments", verbose_name=_("hall")
    )
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["hall", "name"]
        constraints = [
            models.UniqueConstraint(fields=["hall", "name"], name="department_unique_in_hall")
        ]

    def __str__(self):
        return self.name


class Window(models.Model):
    """A service window. No-rest windows also serve the off-hours periods (DB1403/T 5.2)."""

    hall_lookup = "hall"

    hall = models.ForeignKey(
        Hall, on_delete=models.PROTECT, related_name="windows", verbose_name=_("hall")
    )
    number = models.CharField(_("number"), max_length=20)
    name = models.CharField(_("name"), max_length=100)
    departments = models.ManyToManyField(
        Department, related_name="windows", verbose_name=_("departments")
    )
    is_no_rest = models.BooleanField(_("no-rest window"), default=False)
    head = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="headed_windows",
        verbose_name=_("window head"),
        help_text=_("DB1403/T 6.2.5: bears overall responsibility for the window's bookings."),
    )
    slot_minutes = models.PositiveSmallIntegerField(_("slot length (minutes)"), default=30)
    capacity_per_slot = models.PositiveSmallIntegerField(_("bookings per slot"), default=2)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("window")
        verbose_name_plural = _("windows")
        ordering = ["hall", "number"]
        constraints = [
            models.UniqueConstraint(fields=["hall", "number"], name="window_number_unique_in_hall"),
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=5, slot_minutes__lte=240),
                name="window_slot_minutes_range",
            ),
        ]

    def __str__(self):
        return f"{self.number} {self.name}"

    def clean(self):
        if self.slot_minutes is not None and not 5 <= self.slot_minutes <= 240:
            raise ValidationError({"slot_minutes": _("A slot lasts 5 to 240 minutes.")})


class StaffProfile(models.Model):
    """What the system knows of a staff user: the one hall they belong to, their window."""

    hall_lookup = "hall"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="staff_profile",
        verbose_name=_("user"),
    )
    hall = models.ForeignKey(
        Hall, on_delete=models.PROTECT, related_name="staff", verbose_name=_("hall")
    )
    window = models.ForeignKey(
        Window,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("window"),
    )
    department = models.ForeignKey(
        Department,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("department"),
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self):
        return f"{staff_name(self.user)} ({self.hall})"

    def clean(self):
        errors = {}
        if self.window_id and self.hall_id and self.window.hall_id != self.hall_id:
            errors["window"] = _("The window belongs to another hall.")
        if self.department_id and self.hall_id and self.department.hall_id != self.hall_id:
            errors["department"] = _("The department belongs to another hall.")
        if errors:
            raise ValidationError(errors)


# --- rosters, leave, check-ins and inspections (DB1403/T 4, 5.2, 6.2.1, 6.2.4, 6.2.5, 7.2) ------


class Duty(models.Model):
    """One no-rest window's duty in one off-hours period of one day (DB1403/T 4, 5.2).

    The people on duty are its assignments. A holiday period gets a duty only when someone books
    it: the booking opens the duty with nobody on it, and the window head must fill it.
    """

    hall_lookup = "window__hall"

    window = models.ForeignKey(
        Window, on_delete=models.CASCADE, related_name="duties", verbose_name=_("window")
    )
    date = models.DateField(_("date"))
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    head = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("window head (overall responsibility)"),
        help_text=_("DB1403/T 6.2.5: the window head bears overall responsibility."),
    )
    opened_by_booking = models.BooleanField(
        _("opened by a holiday booking"),
        default=False,
        help_text=_("DB1403/T 4: holidays are served by appointment; the head must fill it."),
    )
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="DutyAssignment",
        related_name="duties",
        verbose_name=_("staff on duty"),
    )

    class Meta:
        verbose_name = _("duty")
        verbose_name_plural = _("duties (roster)")
        ordering = ["start", "window"]
        indexes = [models.Index(fields=["window", "date"])]
        constraints = [
            models.UniqueConstraint(fields=["window", "start"], name="duty_unique_period"),
            models.CheckConstraint(condition=Q(start__lt=F("end")), name="duty_ordered"),
        ]

    def __str__(self):
        start, end = timezone.localtime(self.start), timezone.localtime(self.end)
        return f"{self.window.number} {start:%Y-%m-%d %H:%M}–{end:%H:%M}"

    def clean(self):
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValidationError({"end": _("The end must be after the start.")})
        if self.window_id and self.date and self.start and self.end:
            from .rosters.periods import duty_period_clean

            duty_period_clean(window=self.window, date=self.date, start=self.start, end=self.end)


class StandingRotation(models.Model):
    """A window head's standing rotation (DB1403/T 5.2): the roster of ``weeks`` weeks from
    ``source_start`` repeats by itself, a sweep carrying it forward day by day to the booking
    horizon, until the head sets another or stops it. ``extended_until`` is the last day it has
    written: later runs start after it, so a day the head changed by hand is never rewritten."""

    hall_lookup = "window__hall"

    window = models.OneToOneField(
        Window,
        on_delete=models.CASCADE,
        related_name="standing_rotation",
        verbose_name=_("window"),
    )
    source_start = models.DateField(_("rotation starts"))
    weeks = models.PositiveSmallIntegerField(_("weeks"))
    extended_until = models.DateField(_("repeated until"))
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("set by"),
    )
    set_at = models.DateTimeField(_("set at"))

    class Meta:
        verbose_name = _("standing rotation")
        verbose_name_plural = _("standing rotations")
        constraints = [
            models.CheckConstraint(
                condition=Q(weeks__gte=1, weeks__lte=8), name="standing_rotation_weeks"
            ),
        ]

    def __str__(self):
        return f"{self.window.number} {self.source_start:%Y-%m-%d} ×{self.weeks}"


class LeaveRequest(models.Model):
    """Time off in lieu (调休) with the colleague who covers (顶岗) (DB1403/T 6.2.4)."""

    hall_lookup = "window__hall"

    class State(models.TextChoices):
        REQUESTED = "requested", _("waiting for the window head")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")
        WITHDRAWN = "withdrawn", _("withdrawn")

    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="leave_requests",
        verbose_name=_("staff member"),
    )
    window = models.ForeignKey(
        Window, on_delete=models.PROTECT, related_name="leave_requests", verbose_name=_("window")
    )
    start = models.DateTimeField(_("from"))
    end = models.DateTimeField(_("until"))
    cover = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="covers",
        verbose_name=_("cover (顶岗)"),
        help_text=_("DB1403/T 6.2.4: who takes the duties during the leave."),
    )
    reason = models.TextField(_("reason"), blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.REQUESTED
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

    class Meta:
        verbose_name = _("leave (调休)")
        verbose_name_plural = _("leave (调休)")
        ordering = ["-start"]
        constraints = [
            models.CheckConstraint(condition=Q(start__lt=F("end")), name="leave_ordered"),
            models.CheckConstraint(
                condition=Q(cover__isnull=True) | ~Q(cover=F("staff")),
                name="leave_cover_is_someone_else",
            ),
        ]
        permissions = [("approve_leaverequest", _("Can approve leave and its cover"))]

    def __str__(self):
        return f"{staff_name(self.staff)} {timezone.localtime(self.start):%Y-%m-%d %H:%M}"

    def clean(self):
        errors = {}
        if self.start is not None and self.end is not None and self.start >= self.end:
            errors["end"] = _("The end must be after the start.")
        if self.cover_id is not None and self.cover_id == self.staff_id:
            errors["cover"] = _("The cover must be someone other than the person taking leave.")
        if errors:
            raise ValidationError(errors)


class DutyAssignment(models.Model):
    """A staff member on a duty, with their check-in and check-out (DB1403/T 5.2, 6.2.1)."""

    hall_lookup = "duty__window__hall"

    duty = models.ForeignKey(
        Duty, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("duty")
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="duty_assignments",
        verbose_name=_("staff member"),
    )
    is_receiving = models.BooleanField(
        _("receiving staff (direct responsibility)"),
        default=False,
        help_text=_("DB1403/T 6.2.5: the receiving staff member is directly responsible."),
    )
    on_leave = models.ForeignKey(
        LeaveRequest,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="released_assignments",
        verbose_name=_("on leave"),
    )
    covers = models.ForeignKey(
        LeaveRequest,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cover_assignments",
        verbose_name=_("covers for (顶岗)"),
    )
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    checked_out_at = models.DateTimeField(_("checked out at"), null=True, blank=True)
    is_late = models.BooleanField(_("late"), default=False)
    left_early = models.BooleanField(_("left early"), default=False)
    absence_recorded_at = models.DateTimeField(_("absence recorded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("duty assignment")
        verbose_name_plural = _("duty assignments (check-in)")
        ordering = ["duty__start", "duty__window", "-is_receiving", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["duty", "staff"], name="assignment_unique_staff"),
            models.UniqueConstraint(
                fields=["duty"],
                condition=Q(is_receiving=True),
                name="assignment_one_receiving",
            ),
            models.CheckConstraint(
                condition=Q(is_receiving=False) | Q(on_leave__isnull=True),
                name="assignment_receiving_not_on_leave",
            ),
            models.CheckConstraint(
                condition=Q(checked_out_at__isnull=True)
                | Q(checked_in_at__isnull=False, checked_out_at__gte=F("checked_in_at")),
                name="assignment_out_after_in",
            ),
        ]
        permissions = [("check_in_dutyassignment", _("Can check in and out of own duties"))]

    def __str__(self):
        return f"{self.duty} {staff_name(self.staff)}"

    def clean(self):
        if self.is_receiving and self.on_leave_id is not None:
            raise ValidationError(
                {"is_receiving": _("A staff member on leave cannot be the receiving staff.")}
            )
        if self.checked_out_at is not None and (
            self.checked_in_at is None or self.checked_out_at < self.checked_in_at
        ):
            raise ValidationError({"checked_out_at": _("Check-out comes after check-in.")})


class Inspection(models.Model):
    """A supervisor's inspection of a window (督查巡查, DB1403/T 7.2), kept for 7.4."""

    hall_lookup = "window__hall"

    window = models.ForeignKey(
        Window, on_delete=models.PROTECT, related_name="inspections", verbose_name=_("window")
    )
    at = models.DateTimeField(_("time of inspection"))
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("inspector"),
    )
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="inspections",
        verbose_name=_("staff concerned"),
    )
    notes = models.TextField(_("notes"), blank=True)
    photo = models.FileField(
        _("photo"),
        upload_to="inspections/%Y/%m/",
        blank=True,
        validators=[FileExtensionValidator(["jpg", "jpeg", "png", "webp"])],
    )
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["-at"]

    def __str__(self):
        return f"{self.window.number} {timezone.localtime(self.at):%Y-%m-%d %H:%M}"


class InspectionFinding(models.Model):
    """What an inspection found (DB1403/T 7.2): each finding counts in the assessment (7.4)."""

    hall_lookup = "inspection__window__hall"

    class Kind(models.TextChoices):
        ABSENT = "absent", _("absent from post")
        SHIRKING = "shirking", _("shirking (推诿扯皮)")
        DELAY = "delay", _("delay")
        FEE = "fee", _("fee charged")
        OTHER = "other", _("other")

    inspection = models.ForeignKey(
        Inspection,
        on_delete=models.CASCADE,
        related_name="findings",
        verbose_name=_("inspection"),
    )
    kind = models.CharField(_("finding"), max_length=10, choices=Kind.choices)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("staff member"),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    # DB1403/T 7.2 及时进行处理: each finding is dealt with by a handler within a number of
    # working days (``duty.supervision``), and its outcome counts in the assessment (7.4).
    class State(models.TextChoices):
        OPEN = "open", pgettext_lazy("inspection finding", "open")
        DISPOSED = "disposed", _("dealt with")

    class Outcome(models.TextChoices):
        CORRECTED = "corrected", _("substantiated: criticised and corrected")
        ACCOUNTABLE = "accountable", _("substantiated: held accountable")
        UNFOUNDED = "unfounded", _("not substantiated on checking")

    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.OPEN, db_index=True
    )
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("handler"),
    )
    due = models.DateField(_("to be dealt with by"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, blank=True)
    measures = models.TextField(_("what was done"), blank=True)
    disposed_at = models.DateTimeField(_("dealt with at"), null=True, blank=True)
    disposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("dealt with by"),
    )

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering = ["inspection", "pk"]
        constraints = [
            models.CheckConstraint(
                name="finding_disposed_has_outcome",
                condition=Q(state="open", outcome="", disposed_at__isnull=True)
                | (Q(state="disposed", disposed_at__isnull=False) & ~Q(outcome="")),
            )
        ]

    def __str__(self):
        return self.get_kind_display()

    def clean(self):
        # Mirrors the CheckConstraint finding_disposed_has_outcome.
        disposed = self.state == self.State.DISPOSED
        if disposed != bool(self.outcome) or disposed != (self.disposed_at is not None):
            raise ValidationError(
                {"outcome": _("A finding dealt with has an outcome; an open one has none.")}
            )
