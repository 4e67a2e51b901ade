"""Bookings in the console (DB1403/T 5.1, 6.1, 6.2): registering through the service, the list
and its filters, the lifecycle steps (services.BOOKING_STEPS, CHANGE_STEPS), the register's
export and the desk's front page."""

import datetime as dt
import io
from dataclasses import dataclass

import phonenumbers
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext_lazy as _

from duty.admin import HallScopedAdmin
from duty.attendance import ATTENDANCE_LABELS, duty_attendance, staff_presence_at
from duty.calendar import day_info, days_info, local
from duty.models import Window
from duty.scoping import scope_to_user
from yuyue.console import ServiceAddAdminMixin, ServiceAddForm, StepAdminMixin
from yuyue.locks import BusyError, lock_waits_bounded

from .. import console, services
from ..models import (
    Appointment,
    Channel,
    Matter,
    RegisterExport,
    reference_from_scan,
)
from ..register import (
    RegisterFilter,
    register_download_name,
    register_export,
    register_export_allowed,
    register_export_request,
    register_queryset,
)
from ..time_filters import HallCancellationFilter, TimeKindFilter
from ._common import _name_column
from .inlines import (
    ChangeRequestInline,
    ContactInline,
    EventInline,
    FollowUpInline,
    ParallelTaskInline,
    messages_table,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class AppointmentRegisterForm(ServiceAddForm):
    """The desk's registration form: it books through ``appointment_register``.

    The free slot the desk picks (``slot``: "<window id>|<ISO start>", a radio button of the
    registration screen) fills ``window`` and ``start``; the window list holds only the
    windows of the hall that serve the chosen matter."""

    channel = forms.ChoiceField(
        label=_("channel"),
        choices=[(c.value, c.label) for c in (Channel.ONSITE, Channel.PHONE)],
        initial=Channel.ONSITE,
        widget=forms.RadioSelect,
    )
    # Plain inputs, not the admin's calendar links: a picked slot fills them, and the keyboard
    # path from the name to Save has no stops it does not need.
    start = forms.SplitDateTimeField(
        label=_("appointment time"),
        widget=forms.SplitDateTimeWidget(
            date_attrs={"size": 10, "placeholder": "2026-12-10", "autocomplete": "off"},
            time_attrs={"size": 8, "placeholder": "12:00", "autocomplete": "off"},
        ),
    )
    slot = forms.CharField(required=False, widget=forms.HiddenInput)
    allow_duplicate = forms.BooleanField(
        label=_("register anyway: it is another booking, not the same one twice"), required=False
    )

    class Meta:
        model = Appointment
        fields = [
            "channel",
            "applicant_name",
            "phone",
            "matter",
            "window",
            "start",
            "content",
            "remarks",
            "short_notice_reason",
        ]
        widgets = {
            "content": forms.TextInput,
            "remarks": forms.TextInput,
            "short_notice_reason": forms.TextInput,
        }

    def __init__(self, data=None, *args, **kwargs):
        if data is not None and data.get("slot"):
            data = slot_into_fields(data)
        super().__init__(data, *args, **kwargs)
        # The caller's first words are their name: the screen opens there.
        self.fields["applicant_name"].widget.attrs["autofocus"] = True
        matter_id = self.data.get("matter") if self.is_bound else self.initial.get("matter")
        if matter_id and str(matter_id).isdigit():
            windows = self.fields["window"].queryset
            self.fields["window"].queryset = windows.filter(matters__pk=matter_id, is_active=True)

    def create(self, data, *, actor, now):
        return services.appointment_register(
            matter=data["matter"],
            window=data["window"],
            start=data["start"],
            applicant_name=data["applicant_name"],
            phone=data["phone"],
            channel=data["channel"],
            content=data.get("content", ""),
            remarks=data.get("remarks", ""),
            short_notice_reason=data.get("short_notice_reason", ""),
            allow_duplicate=data.get("allow_duplicate", False),
            actor=actor,
            now=now,
        )


@dataclass
class SlotChoice:
    value: str  # "<window id>|<ISO start>", the radio button's value
    start: dt.datetime
    remaining: int
    checked: bool


def slot_choices(free_slots, *, chosen: str):
    """``console.free_slots`` as the registration screen's radio buttons: per window, per day
    (with the day's kind, so the clerk sees a weekend or a holiday — provisional or not — before
    picking: DB1403/T 4), the slots with places left; ``chosen`` is the picked one's value."""
    dates = [day for _window, days in free_slots for day, _slots in days]
    kinds = days_info(min(dates), max(dates)) if dates else {}
    groups = []
    for window, days in free_slots:
        rows = []
        for day, slots in days:
            row = []
            for available in slots:
                if not available.remaining:
                    continue
                value = f"{window.pk}|{local(available.slot.start).isoformat()}"
                row.append(
                    SlotChoice(value, available.slot.start, available.remaining, value == chosen)
                )
            if row:
                rows.append((day, kinds[day], row))
        groups.append((window, rows))
    return groups


def slot_into_fields(data):
    """A picked slot ("<window id>|<ISO start>") as the form's window and start fields."""
    window_id, _bar, start = data["slot"].partition("|")
    try:
        moment = local(dt.datetime.fromisoformat(start))
    except ValueError:
        return data
    data = data.copy()
    data["window"] = window_id
    data["start_0"] = moment.strftime("%Y-%m-%d")
    data["start_1"] = moment.strftime("%H:%M:%S")
    return data


@admin.register(Appointment)
class AppointmentAdmin(StepAdminMixin, ServiceAddAdminMixin, HallScopedAdmin):
    # What the desk scans first stays at the left: the admin scrolls wide tables sideways.
    list_display = [
        "reference",
        "start",
        "status",
        "window_number",
        "applicant_name",
        "phone_display",
        "matter",
        "channel",
        "is_short_notice",
        "received_by_name",
    ]
    list_filter = [
        console.AppointmentDayFilter,
        console.AttentionFilter,
        "status",
        "channel",
        ("window", admin.RelatedOnlyFieldListFilter),
        ("matter__departments", admin.RelatedOnlyFieldListFilter),
        "outside_phone_hours",
        # The supervisors' dashboard links here (evaluation.reporting.dashboard_views).
        TimeKindFilter,
        ("window__hall", admin.RelatedOnlyFieldListFilter),
        # The assessment (evaluation.reporting.assessment_links) links here too.
        HallCancellationFilter,
    ]
    search_fields = ["reference", "applicant_name", "phone"]
    search_help_text = _("Name, reference, or phone number in any format (138 0013 8000).")
    date_hierarchy = "start"
    list_select_related = ["matter", "window", "received_by"]
    inlines = [
        ParallelTaskInline,
        ContactInline,
        ChangeRequestInline,
        FollowUpInline,
        EventInline,
    ]
    actions = ["export_register"]
    add_form = AppointmentRegisterForm
    step_tables = (services.BOOKING_STEPS, services.CHANGE_STEPS)
    step_template = "admin/appointments/appointment/step.html"
    step_refused_text = _("“%(step)s” is not possible for this booking now (%(status)s).")
    # Staff on the record page are shown by name; the rest of the record as it is stored.
    STAFF_FIELDS = ["received_by", "window_head", "responsible_staff", "contact_person"]
    received_by_name = _name_column("received_by", _("received by"))
    window_head_name = _name_column("window_head", _("window head (overall responsibility)"))
    responsible_staff_name = _name_column(
        "responsible_staff", _("receiving staff (direct responsibility)")
    )
    contact_person_name = _name_column("contact_person", _("contact person"))

    @admin.display(description=_("contact phone"), ordering="phone")
    def phone_display(self, obj):
        # Keep "138 0013 8000" on one line so the status column stays in view.
        return format_html('<span style="white-space:nowrap">{}</span>', obj.phone)

    @admin.display(description=_("window"), ordering="window__number")
    def window_number(self, obj):
        return obj.window.number

    @admin.display(boolean=True, description=_("under 24 h"))
    def is_short_notice(self, obj):
        return obj.is_short_notice

    def get_search_results(self, request, queryset, search_term):
        """A phone number matches in any format: "138 0013 8000", "+86 13800138000" and
        "13800138000" are all the stored +8613800138000."""
        term = search_term.strip()
        if term and set(term) <= set("0123456789 +-()") and sum(c.isdigit() for c in term) >= 7:
            try:
                number = phonenumbers.parse(term, "CN")
            except phonenumbers.NumberParseException:
                number = None
            if number is not None and phonenumbers.is_possible_number(number):
                e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                return queryset.filter(Q(phone=e164) | Q(reference=term)), False
        return super().get_search_results(request, queryset, search_term)

    # --- registration (the add page) ---------------------------------------------------------

    def get_changeform_initial_data(self, request):
        """What the screen was given (the fields of a refreshed form, or a slot chosen in the
        link of an older screen) fills the form: "start" and a picked slot as times."""
        initial = super().get_changeform_initial_data(request)
        params = request.GET
        if params.get("slot"):
            params = slot_into_fields(params)
            initial["window"] = params.get("window")
        if params.get("start_0") and params.get("start_1"):
            initial["start"] = f"{params['start_0']} {params['start_1']}"
        start = params.get("start")
        if start:
            try:
                moment = local(dt.datetime.fromisoformat(start))
            except ValueError:
                moment = None
            if moment is not None:
                initial["start"] = moment.replace(tzinfo=None)
        return initial

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """The admin runs a form's POST in a transaction of its own, around the registration.

        On SQLite that transaction's BEGIN takes the database's write lock (IMMEDIATE) before
        ``appointment_register`` can bound its wait: bound it here too, and answer a database
        that stays busy with the message and the form again instead of an error page. (On
        PostgreSQL the service's own lock wait runs out first, and its error stands in the form
        with everything that was typed.)
        """
        if object_id is not None or request.method != "POST":
            return super().changeform_view(request, object_id, form_url, extra_context)
        try:
            with lock_waits_bounded():
                return super().changeform_view(request, object_id, form_url, extra_context)
        except BusyError as error:
            for text in error.messages:
                messages.error(request, text)
            return HttpResponseRedirect(request.get_full_path())

    def add_view(self, request, form_url="", extra_context=None):
        """DB1403/T 5.1.3 a/b: the registration screen. The desk types the caller's name and
        number, finds the matter, picks a free slot of a window serving it and saves, on one
        screen and by keyboard.

        Nothing typed is lost: with JavaScript the matter's windows and slots are fetched
        into the page (``?matter=…&_slots=1`` answers that part alone); without it, "Show
        free slots" posts the form (``_refresh``) and the screen comes back filled in, unsaved.
        """
        if request.method == "POST" and "_refresh" in request.POST:
            # Render the posted fields as the form's initial values instead of saving them.
            request.GET = request.POST.copy()
            request.method = "GET"
        context = self._registration_context(request)
        if request.GET.get("_slots"):
            if not self.has_add_permission(request):
                raise PermissionDenied
            return TemplateResponse(request, "admin/appointments/appointment/_slots.html", context)
        return super().add_view(request, form_url, {**(extra_context or {}), **context})

    def _registration_context(self, request) -> dict:
        """The chosen matter, its windows (else the hall's) and their free slots as radio
        buttons, with the window and slot already picked."""
        matter = self._registration_matter(request)
        # A form posted back with an error keeps its window and slot.
        params = request.POST if request.method == "POST" else request.GET
        chosen = params.get("slot", "")
        if not chosen and params.get("window") and params.get("start"):
            chosen = f"{params['window']}|{params['start']}"
        free_slots = console.free_slots(matter=matter, now=timezone.now()) if matter else []
        windows = (
            [window for window, _days in free_slots]
            if matter
            else scope_to_user(Window.objects.filter(is_active=True), request.user)
        )
        chosen_window = params.get("window") or chosen.partition("|")[0]
        if matter and free_slots and chosen_window not in {str(w.pk) for w in windows}:
            chosen_window = str(windows[0].pk)
        return {
            "matter": matter,
            **({"free_slots": free_slots} if matter else {}),
            "slot_groups": slot_choices(free_slots, chosen=chosen),
            "windows": windows,
            "chosen_window": chosen_window,
        }

    def _registration_matter(self, request) -> Matter | None:
        matter_id = request.GET.get("matter") or request.POST.get("matter")
        if not str(matter_id).isdigit():
            return None
        matters = scope_to_user(Matter.objects.filter(is_active=True), request.user)
        return matters.filter(pk=matter_id).first()

    def get_fields(self, request, obj=None):
        if obj is None:
            return [*AppointmentRegisterForm.Meta.fields, "slot", "allow_duplicate"]
        fields = [
            f"{f.name}_name" if f.name in self.STAFF_FIELDS else f.name
            for f in Appointment._meta.fields
            if f.name != "id"
        ]
        extra = ["staff_on_duty"]
        if request.user.has_perm("sms.view_message"):
            extra.append("text_messages")
        return fields + extra

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # Lifecycle fields change only through the services; an edit here would skip their rules.
        return self.get_fields(request, obj)

    @admin.display(description=_("receiving staff on duty then"))
    def staff_on_duty(self, obj):
        """DB1403/T 6.2.1: was the responsible staff member at the window at the booking's time?"""
        if obj.responsible_staff is None:
            return "—"
        assignment = staff_presence_at(
            staff=obj.responsible_staff, window=obj.window, moment=obj.start
        )
        if assignment is None:
            return _("not on the duty roster at that time")
        status = ATTENDANCE_LABELS[duty_attendance(assignment=assignment, now=timezone.now())]
        if assignment.checked_in_at is None:
            return status
        return _("%(status)s (checked in %(time)s)") % {
            "status": status,
            "time": formats.date_format(timezone.localtime(assignment.checked_in_at), "H:i"),
        }

    @admin.display(description=_("text messages"))
    def text_messages(self, obj):
        return messages_table(obj)

    def get_inlines(self, request, obj):
        # The history and contacts exist only once the booking does.
        return self.inlines if obj is not None else []

    def has_add_permission(self, request):
        # Adding a booking here *is* the desk's registration (DB1403/T 5.1.3 a/b).
        return request.user.has_perm("appointments.register_appointment")

    def has_delete_permission(self, request, obj=None):
        # Nothing is lost: a booking is cancelled with a reason, never deleted.
        return False

    def has_change_permission(self, request, obj=None):
        # Lifecycle steps go through the services (the step pages of StepAdminMixin); the change
        # page is a read-only record.
        return False

    def after_create(self, request, obj):
        """AppointmentRegisterForm registered the booking through appointment_register (and
        existing bookings are read-only here). What is left is to warn when the booked day lies
        in a year whose official holiday arrangement is not entered yet (DB1403/T 4)."""
        day = timezone.localtime(obj.start).date()
        if not day_info(day).year_loaded:
            messages.warning(
                request,
                _(
                    "%(day)s lies in a year whose official holiday arrangement is not entered: "
                    "its statutory holidays are provisional, and a bridging rest day may still "
                    "fall on it (the desk is alerted if it does)."
                )
                % {"day": day.isoformat()},
            )

    # --- lifecycle steps (services.BOOKING_STEPS, CHANGE_STEPS) --------------------------------

    def step_subject(self, record, table):
        return services.change_request_open(record) if table is services.CHANGE_STEPS else record

    def step_context(self, request, record, transition):
        if transition.name == "notice":
            return {"notice_text": services.one_time_notice_text(appointment=record)}
        if transition.name == "check_in":
            # DB1403/T 6.1.3: the applicant may lack what the notice would have told them.
            return {"notice_never_given": not services.one_time_notice_given(record)}
        if transition.name in services.CHANGE_STEPS.transitions:
            return {"change": services.change_request_open(record)}
        return {}

    # --- check-in from the QR code of the booking (DB1403/T 6.2.1) ---------------------------

    def check_in_view(self, request):
        """DB1403/T 6.2.1: the applicant arrives and shows the QR code of their booking; the
        desk scans it (a USB scanner types the reference and Enter into the field, or the
        camera reads it), sees the booking and checks them in with one button."""
        if not request.user.has_perm("appointments.view_appointment"):
            raise PermissionDenied
        scanned = request.POST.get("reference") or request.GET.get("reference") or ""
        reference = reference_from_scan(scanned)
        bookings = scope_to_user(
            Appointment.objects.select_related("matter", "window"), request.user
        )
        appointment = bookings.filter(reference=reference).first() if reference else None
        now = timezone.now()
        error = ""
        if request.method == "POST" and appointment is not None:
            try:
                services.BOOKING_STEPS.take("check_in", appointment, actor=request.user, now=now)
            except (ValidationError, PermissionDenied) as refusal:
                error = " ".join(getattr(refusal, "messages", None) or [str(refusal)])
            else:
                messages.success(
                    request,
                    _("%(name)s (%(reference)s) checked in: %(time)s, window %(window)s.")
                    % {
                        "name": appointment.applicant_name,
                        "reference": appointment.reference,
                        "time": formats.date_format(timezone.localtime(appointment.start), "H:i"),
                        "window": appointment.window.number,
                    },
                )
                return HttpResponseRedirect(reverse("admin:appointments_check_in"))
            appointment.refresh_from_db()
        steps = services.BOOKING_STEPS
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Check in by QR code"),
            "scanned": scanned,
            "appointment": appointment,
            "not_found": bool(scanned) and appointment is None,
            "error": error,
            "may_check_in": appointment is not None
            and steps.actor_permitted("check_in", appointment, request.user)
            and steps.possible("check_in", appointment, now=now),
            # DB1403/T 6.1.3: the applicant may lack what the notice would have told them.
            "notice_never_given": appointment is not None
            and not services.one_time_notice_given(appointment),
            "refused": appointment is not None
            and not steps.possible("check_in", appointment, now=now)
            and str(steps["check_in"].refused),
        }
        return TemplateResponse(request, "admin/appointments/check_in.html", context)

    def get_urls(self):
        urls = [
            path(
                "check-in/",
                self.admin_site.admin_view(self.check_in_view),
                name="appointments_check_in",
            ),
            path(
                "register/",
                self.admin_site.admin_view(self.register_view),
                name="appointments_register",
            ),
            path(
                "register/<int:export_id>/",
                self.admin_site.admin_view(self.export_status_view),
                name="appointments_register_status",
            ),
            path(
                "register/<int:export_id>/download/",
                self.admin_site.admin_view(self.export_download_view),
                name="appointments_register_download",
            ),
        ]
        return urls + super().get_urls()

    # --- the register (附录A) ----------------------------------------------------------------

    def _register_response(self, request, register: RegisterFilter, count: int):
        """Write a small register at once; queue a large one and show its progress."""
        if count <= settings.REGISTER_EXPORT_SYNC_MAX_ROWS:
            buffer = io.BytesIO()
            register_export(register=register, out=buffer, user=request.user)
            response = HttpResponse(buffer.getvalue(), content_type=XLSX)
            response["Content-Disposition"] = content_disposition_header(
                True, register_download_name(register=register)
            )
            return response
        job = register_export_request(register=register, actor=request.user, now=timezone.now())
        return HttpResponseRedirect(reverse("admin:appointments_register_status", args=[job.pk]))

    @admin.action(description=_("Export the register (Excel)"))
    def export_register(self, request, queryset):
        """DB1403/T 附录A: the selected bookings (or, with “select all”, everything the list's
        filters show) as a register."""
        halls = set(queryset.order_by().values_list("window__hall_id", flat=True).distinct()[:2])
        if len(halls) != 1:
            messages.error(request, _("Choose bookings of one hall: a register is per hall."))
            return None
        if queryset.count() > settings.REGISTER_ACTION_MAX_ROWS:
            # The job keeps the chosen bookings' ids; a whole month goes by its filter instead.
            messages.error(
                request,
                _(
                    "More than %(max)s bookings: export them from the register page by period "
                    "and filters."
                )
                % {"max": settings.REGISTER_ACTION_MAX_ROWS},
            )
            return HttpResponseRedirect(reverse("admin:appointments_register"))
        hall_id = halls.pop()
        if not register_export_allowed(user=request.user, hall_id=hall_id):
            raise PermissionDenied
        rows = list(queryset.order_by("start", "pk").values_list("pk", "start"))
        days = [local(start).date() for _pk, start in rows]
        register = RegisterFilter(
            hall_id=hall_id,
            date_from=min(days),
            date_to=max(days),
            ids=tuple(pk for pk, _start in rows),
        )
        count = register_queryset(register=register, user=request.user).count()
        if count < len(rows):
            messages.warning(
                request,
                _(
                    "%(n)s selected bookings are not in the register yet (online bookings "
                    "waiting for confirmation)."
                )
                % {"n": len(rows) - count},
            )
        return self._register_response(request, register, count)

    # The list's filters that the register form understands, for "Export the register" links.
    LIST_TO_REGISTER = {
        "status__exact": "status",
        "channel__exact": "channel",
        "window__id__exact": "window",
        "matter__departments__id__exact": "department",
    }

    def register_view(self, request):
        """DB1403/T 附录A: choose the hall, period and filters of a register and export it."""
        if not request.user.has_perm("appointments.view_appointment"):
            raise PermissionDenied
        initial = {
            register_key: request.GET[list_key]
            for list_key, register_key in self.LIST_TO_REGISTER.items()
            if request.GET.get(list_key)
        }
        today = timezone.localdate()
        initial.setdefault("date_from", today.replace(day=1))
        initial.setdefault("date_to", today)
        form = console.RegisterExportForm(request.POST or None, user=request.user, initial=initial)
        if request.method == "POST" and form.is_valid():
            register = form.register()
            if not register_export_allowed(user=request.user, hall_id=register.hall_id):
                raise PermissionDenied
            count = register_queryset(register=register, user=request.user).count()
            return self._register_response(request, register, count)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Export the register (附录A)"),
            "form": form,
            "media": self.media + form.media,
            "exports": RegisterExport.objects.filter(requested_by=request.user).select_related(
                "hall"
            )[:10],
            "sync_max": settings.REGISTER_EXPORT_SYNC_MAX_ROWS,
        }
        return TemplateResponse(request, "admin/appointments/register_export.html", context)

    def _own_export(self, request, export_id) -> RegisterExport:
        # Only the person who asked sees an export (and only while they may see the hall).
        exports = scope_to_user(RegisterExport.objects.select_related("hall"), request.user)
        job = get_object_or_404(exports, pk=export_id, requested_by=request.user)
        if not register_export_allowed(user=request.user, hall_id=job.hall_id):
            raise PermissionDenied
        return job

    def export_status_view(self, request, export_id):
        job = self._own_export(request, export_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Register export"),
            "job": job,
            "register": RegisterFilter.from_json(job.params),
            "refresh": job.state in (RegisterExport.State.QUEUED, RegisterExport.State.RUNNING),
        }
        return TemplateResponse(request, "admin/appointments/register_status.html", context)

    def export_download_view(self, request, export_id):
        job = self._own_export(request, export_id)
        if job.state != RegisterExport.State.DONE or not job.file:
            raise Http404
        register = RegisterFilter.from_json(job.params)
        return FileResponse(
            job.file.open("rb"),
            as_attachment=True,
            filename=register_download_name(register=register),
            content_type=XLSX,
        )

    def changelist_view(self, request, extra_context=None):
        extra_context = dict(extra_context or {})
        params = {key: value for key, value in request.GET.items() if key in self.LIST_TO_REGISTER}
        extra_context["register_url"] = reverse("admin:appointments_register") + (
            f"?{urlencode(params)}" if params else ""
        )
        return super().changelist_view(request, extra_context)
