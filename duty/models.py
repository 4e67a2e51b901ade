"""Organisation (halls, departments, windows, staff) and the service calendar (DB1403/T 4)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


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
        return f"{self.user.get_full_name() or self.user.get_username()} ({self.hall})"

    def clean(self):
        errors = {}
        if self.window_id and self.hall_id and self.window.hall_id != self.hall_id:
            errors["window"] = _("The window belongs to another hall.")
        if self.department_id and self.hall_id and self.department.hall_id != self.hall_id:
            errors["department"] = _("The department belongs to another hall.")
        if errors:
            raise ValidationError(errors)
