"""The desk console's pieces that are not plain admin: the front page's summary, the forms of
a booking's lifecycle steps, the registration screen's free slots and the register export form.

Nothing here decides a rule: which steps a booking offers, and the service each calls, are the
tables of ``appointments.services`` (BOOKING_STEPS, CHANGE_STEPS); the step page is
``yuyue.console.StepAdminMixin``.
"""

import datetime as dt
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from duty.calendar import local, phone_line_is_open
from duty.models import Department, Hall, Window
from duty.names import staff_name
from duty.scoping import scope_to_user, user_hall_id, visible_halls
from sms.models import Message
from yuyue import console

from . import services
from .models import (
    Appointment,
    ChangeRequest,
    Channel,
    ContactMethod,
    NoShowFollowUp,
    Status,
)
from .register import By, RegisterFilter
from .slots import window_availability

User = get_user_model()
LIST_URL = "admin:appointments_appointment_changelist"


# --- querysets shared by the front page and the list filters ----------------------------------


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_default_timezone()
    start = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    return start, start + dt.timedelta(days=1)


def follow_up_due(queryset, *, now: dt.datetime):
    """DB1403/T 6.2.3: bookings whose no-show follow-up is open, or due and not yet opened
    (the sweep has not run since)."""
    cutoff = now - dt.timedelta(minutes=settings.NO_SHOW_FOLLOW_UP_MINUTES)
    open_follow_up = NoShowFollowUp.objects.filter(appointment=OuterRef("pk"), outcome="")
    return queryset.filter(
        Exists(open_follow_up) | Q(status__in=services.AWAITING_ARRIVAL, start__lte=cutoff)
    )


def emergencies(queryset):
    """DB1403/T 6.2.2: cancellations and changes let through under 8 h as emergencies."""
    emergency_change = ChangeRequest.objects.filter(appointment=OuterRef("pk"), is_emergency=True)
    hall_emergency = Q(cancelled_by_hall=True) & ~Q(cancel_emergency_reason="")
    return queryset.filter(hall_emergency | Exists(emergency_change))


ATTENTION = {
    # key: (label, filter(queryset, now))
    "pending": (
        _("online, waiting for confirmation"),
        lambda qs, now: qs.filter(status=Status.PENDING),
    ),
    "not_handed_over": (
        _("not yet handed over to the window"),
        lambda qs, now: qs.filter(status=Status.ACCEPTED),
    ),
    "notice_overdue": (
        _("one-time notice not given in time (6.1.3)"),
        lambda qs, now: services.one_time_notice_overdue(qs, now=now),
    ),
    "follow_up": (_("no-show follow-up due"), lambda qs, now: follow_up_due(qs, now=now)),
    "emergency": (_("emergencies (under 8 h)"), lambda qs, now: emergencies(qs)),
    "short_notice": (
        _("registered under 24 h ahead"),
        lambda qs, now: qs.exclude(short_notice_reason=""),
    ),
    "outside_phone_hours": (
        _("phone bookings taken outside phone-line hours"),
        lambda qs, now: qs.filter(outside_phone_hours=True),
    ),
}


class AttentionFilter(admin.SimpleListFilter):
    """The front page's counts, as a list filter: each count links to its list."""

    title = _("needs attention")
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _fn) in ATTENTION.items()]

    def queryset(self, request, queryset):
        entry = ATTENTION.get(self.value())
        return entry[1](queryset, timezone.now()) if entry else queryset


WHEN = {
    "today": (_("today"), 0, 1),
    "tomorrow": (_("tomorrow"), 1, 2),
    "next_7_days": (_("today and the next 7 days"), 0, 8),
    "from_today": (_("from today on"), 0, None),
    "last_7_days": (_("the last 7 days"), -7, 0),
}


class AppointmentDayFilter(admin.SimpleListFilter):
    """Appointment time by local day (today, tomorrow, …) in Asia/Shanghai."""

    title = _("appointment date")
    parameter_name = "when"

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _a, _b) in WHEN.items()]

    def queryset(self, request, queryset):
        if self.value() not in WHEN:
            return queryset
        _label, first, last = WHEN[self.value()]
        today = timezone.localdate()
        queryset = queryset.filter(start__gte=day_bounds(today + dt.timedelta(first))[0])
        if last is not None:
            queryset = queryset.filter(start__lt=day_bounds(today + dt.timedelta(last))[0])
        return queryset


def list_url(**params) -> str:
    return f"{reverse(LIST_URL)}?{urlencode(params)}"


# --- the desk front page ----------------------------------------------------------------------


@dataclass
class Tally:
    label: str
    count: int
    url: str


@dataclass
class DeskSummary:
    hall: Hall | None
    phone_line_open: bool | None
    counts: list[Tally]
    days: list[tuple[str, dt.date, list[tuple[Window, list[Appointment]]], str]]


def desk_summary(*, user, now: dt.datetime) -> DeskSummary | None:
    """The desk's front page: today's and tomorrow's bookings by window and time, whether the
    phone line is open (DB1403/T 5.1.3 b), and what needs attention (5.1.3 c, 6.1.3, 6.2.3,
    6.2.2, 5.1.1), each count linking to its list."""
    if not user.has_perm("appointments.view_appointment"):
        return None
    bookings = scope_to_user(Appointment.objects.all(), user)
    hall_id = user_hall_id(user)
    hall = Hall.objects.filter(pk=hall_id).first() if hall_id else None
    counts = []
    for key, (label, fn) in ATTENTION.items():
        params = {"attention": key}
        queryset = fn(bookings, now)
        if key in ("short_notice", "outside_phone_hours"):
            params["when"] = "from_today"
            queryset = queryset.filter(start__gte=day_bounds(local(now).date())[0])
        counts.append(Tally(str(label), queryset.count(), list_url(**params)))
    if user.has_perm("sms.view_message"):
        failed = scope_to_user(
            Message.objects.filter(status=Message.Status.FAILED).about_any(
                Appointment.objects.filter(start__gte=now)
            ),
            user,
        )
        counts.append(
            Tally(
                str(_("text messages that failed: call the applicant")),
                failed.count(),
                reverse("admin:sms_message_changelist") + "?status__exact=failed&booking=upcoming",
            )
        )
    days = []
    today = local(now).date()
    for offset, key, label in ((0, "today", _("Today")), (1, "tomorrow", _("Tomorrow"))):
        day = today + dt.timedelta(days=offset)
        first, last = day_bounds(day)
        rows = (
            bookings.filter(start__gte=first, start__lt=last)
            .exclude(status=Status.CANCELLED)
            .select_related("window", "matter")
            .order_by("window__number", "start", "pk")
        )
        by_window: dict[int, tuple[Window, list[Appointment]]] = {}
        for appointment in rows:
            by_window.setdefault(appointment.window_id, (appointment.window, []))[1].append(
                appointment
            )
        days.append((str(label), day, list(by_window.values()), list_url(when=key)))
    return DeskSummary(
        hall=hall,
        phone_line_open=phone_line_is_open(hall=hall, now=now) if hall else None,
        counts=counts,
        days=days,
    )


# --- choosing people by their names -----------------------------------------------------------


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return staff_name(obj)


def hall_staff(hall_id: int, perm: str | None = None):
    users = User.objects.filter(is_active=True, is_staff=True, staff_profile__hall_id=hall_id)
    if perm:
        app_label, codename = perm.split(".")
        users = users.filter(
            Q(
                groups__permissions__codename=codename,
                groups__permissions__content_type__app_label=app_label,
            )
            | Q(is_superuser=True)
        ).distinct()
    return users.order_by("first_name", "username")


# --- lifecycle steps --------------------------------------------------------------------------

METHODS = [(m.value, m.label) for m in ContactMethod]
REMOTE_METHODS = [(m.value, m.label) for m in (ContactMethod.PHONE, ContactMethod.SMS)]


class StepForm(console.StepForm):
    """A booking step's form (the steps are ``services.BOOKING_STEPS`` and ``CHANGE_STEPS``)."""

    @property
    def appointment(self) -> Appointment:
        return self.record


class ConfirmForm(StepForm):
    method = forms.ChoiceField(label=_("how the applicant was contacted"), choices=REMOTE_METHODS)
    note = forms.CharField(
        label=_("note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class HandOverForm(StepForm):
    contact_person = StaffChoiceField(label=_("contact person at the window"), queryset=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        appointment = self.appointment
        staff = hall_staff(appointment.window.hall_id, "appointments.hand_over_appointment")
        self.fields["contact_person"].queryset = staff
        if appointment.window.head_id:
            self.fields["contact_person"].initial = appointment.window.head_id


class NoticeForm(StepForm):
    method = forms.ChoiceField(label=_("how the applicant was contacted"), choices=METHODS)
    time_reconfirmed = forms.BooleanField(label=_("appointment time reconfirmed"), required=False)
    outcome = forms.CharField(
        label=_("outcome"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReassignForm(StepForm):
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 2}))
    window = forms.ModelChoiceField(label=_("another window"), queryset=None, required=False)
    responsible_staff = StaffChoiceField(
        label=_("other staff member"), queryset=None, required=False
    )
    reported_to = StaffChoiceField(
        label=_("agency approver reported to"),
        queryset=None,
        required=False,
        help_text=_("Leave empty if you are the agency's approver yourself."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        appointment = self.appointment
        hall_id = appointment.window.hall_id
        self.fields["window"].queryset = appointment.matter.windows.filter(is_active=True)
        self.fields["responsible_staff"].queryset = hall_staff(hall_id)
        self.fields["reported_to"].queryset = hall_staff(hall_id, "appointments.approve_change")


class ChangeRequestForm(StepForm):
    new_start = forms.SplitDateTimeField(
        label=_("new time"), widget=admin.widgets.AdminSplitDateTime
    )
    new_window = forms.ModelChoiceField(
        label=_("new window"),
        queryset=None,
        required=False,
        help_text=_("Leave empty to stay at the same window."),
    )
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 2}))
    short_notice_reason = forms.CharField(
        label=_("reason for a new time under 24 h"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        appointment = self.appointment
        self.fields["new_window"].queryset = appointment.matter.windows.filter(is_active=True)


class ApproveChangeForm(StepForm):
    note = forms.CharField(label=_("note"), required=False)
    emergency_reason = forms.CharField(
        label=_("emergency reason"),
        required=False,
        help_text=_("Only when the applicant can no longer be told 8 h before the original time."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class RejectChangeForm(StepForm):
    decision_note = forms.CharField(
        label=_("why the change is refused"), widget=forms.Textarea(attrs={"rows": 2})
    )

    def service_arguments(self) -> dict:
        return {"note": self.cleaned_data["decision_note"]}


class ApplyChangeForm(StepForm):
    method = forms.ChoiceField(label=_("how the applicant was told"), choices=METHODS)


class FollowUpForm(StepForm):
    outcome = forms.ChoiceField(label=_("outcome"), choices=NoShowFollowUp.Outcome.choices)
    method = forms.ChoiceField(label=_("how the applicant was contacted"), choices=METHODS)
    note = forms.CharField(label=_("note"), required=False)
    new_start = forms.SplitDateTimeField(
        label=_("new time"),
        required=False,
        widget=admin.widgets.AdminSplitDateTime,
        help_text=_("Only when the applicant reschedules."),
    )
    short_notice_reason = forms.CharField(
        label=_("reason for a new time under 24 h"), required=False
    )


class CancelForm(StepForm):
    cancel_reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 2}))
    at_applicants_request = forms.TypedChoiceField(
        label=_("who wants the cancellation"),
        choices=[
            ("1", _("the applicant asked for it")),
            ("0", _("the hall cancels (agency approver only)")),
        ],
        coerce=lambda v: v == "1",
        initial="1",
        widget=forms.RadioSelect,
    )
    emergency_reason = forms.CharField(
        label=_("emergency (cancelled under 8 h)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def service_arguments(self) -> dict:
        data = dict(self.cleaned_data)
        return {"reason": data.pop("cancel_reason"), **data}


# --- the registration screen: the matter's windows and their free slots ----------------------


def free_slots(*, matter, now: dt.datetime, days: int = 7):
    """DB1403/T 5.1.2: for each window handling ``matter``, its slots of the next ``days`` days
    with places left (the one availability function, ``window_availability``)."""
    today = local(now).date()
    result = []
    for window in matter.windows.filter(is_active=True).order_by("number"):
        by_day: dict[dt.date, list] = {}
        for available in window_availability(
            window=window,
            start_date=today,
            end_date=today + dt.timedelta(days=days - 1),
            not_before=now,
        ):
            by_day.setdefault(local(available.slot.start).date(), []).append(available)
        result.append((window, sorted(by_day.items())))
    return result


# --- the register export form -----------------------------------------------------------------


class RegisterExportForm(forms.Form):
    """DB1403/T 附录A: which register to export."""

    hall = forms.ModelChoiceField(label=_("hall"), queryset=Hall.objects.none())
    date_from = forms.DateField(label=_("from"), widget=admin.widgets.AdminDateWidget)
    date_to = forms.DateField(label=_("to"), widget=admin.widgets.AdminDateWidget)
    by = forms.ChoiceField(
        label=_("period counted by"),
        choices=[
            (By.APPOINTMENT, _("appointment time")),
            (By.REGISTRATION, pgettext_lazy("register period", "registration date")),
        ],
        initial=By.APPOINTMENT,
    )
    window = forms.ModelChoiceField(
        label=_("window"), queryset=Window.objects.none(), required=False
    )
    department = forms.ModelChoiceField(
        label=_("department"), queryset=Department.objects.none(), required=False
    )
    channel = forms.ChoiceField(
        label=_("channel"), choices=[("", "---------"), *Channel.choices], required=False
    )
    status = forms.ChoiceField(
        label=_("status"), choices=[("", "---------"), *Status.choices], required=False
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hall"].queryset = visible_halls(user)
        self.fields["hall"].initial = user_hall_id(user)
        self.fields["window"].queryset = scope_to_user(Window.objects.all(), user).select_related(
            "hall"
        )
        self.fields["department"].queryset = scope_to_user(Department.objects.all(), user)

    def clean(self):
        data = super().clean()
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", _("The end of the period is before its start."))
        hall = data.get("hall")
        for name in ("window", "department"):
            if hall and data.get(name) and data[name].hall_id != hall.pk:
                self.add_error(name, _("This belongs to another hall."))
        return data

    def register(self) -> RegisterFilter:
        data = self.cleaned_data
        return RegisterFilter(
            hall_id=data["hall"].pk,
            date_from=data["date_from"],
            date_to=data["date_to"],
            by=data["by"],
            window_id=data["window"].pk if data["window"] else None,
            department_id=data["department"].pk if data["department"] else None,
            channel=data["channel"],
            status=data["status"],
        )
