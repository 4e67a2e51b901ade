"""Bookings in the console (DB1403/T 5.1, 6.1, 6.2): registering through the service, the list
and its filters, the lifecycle steps (services.BOOKING_STEPS, CHANGE_STEPS), the register's
export and the desk's front page."""

import datetime as dt
import io

import phonenumbers
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
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
from duty.calendar import day_info, local
from duty.scoping import scope_to_user
from yuyue.console import ServiceAddAdminMixin, ServiceAddForm, StepAdminMixin
from yuyue.locks import BusyError, lock_waits_bounded

from .. import console, services
from ..models import (
    Appointment,
    Channel,
    Matter,
    RegisterExport,
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
    """The desk's registration form: it books through ``appointment_register``."""

    channel = forms.ChoiceField(
        label=_("channel"), choices=[(c.value, c.label) for c in (Channel.ONSITE, Channel.PHONE)]
    )
    start = forms.SplitDateTimeField(
        label=_("appointment time"), widget=admin.widgets.AdminSplitDateTime
    )

    class Meta:
        model = Appointment
        fields = [
            "channel",
            "matter",
            "window",
            "start",
            "applicant_name",
            "phone",
            "content",
            "remarks",
            "short_notice_reason",
        ]

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
            actor=actor,
            now=now,
        )


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
        """The slot chosen on the registration screen fills the window and the time."""
        initial = super().get_changeform_initial_data(request)
        start = request.GET.get("start")
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
        """DB1403/T 5.1.3 a/b: choose the matter, see its windows with their free slots, fill in
        the applicant and save."""
        extra_context = dict(extra_context or {})
        matter_id = request.GET.get("matter") or request.POST.get("matter")
        matters = scope_to_user(Matter.objects.filter(is_active=True), request.user)
        matter = matters.filter(pk=matter_id).first() if str(matter_id).isdigit() else None
        if matter is not None:
            extra_context["matter"] = matter
            extra_context["free_slots"] = console.free_slots(matter=matter, now=timezone.now())
            extra_context["chosen"] = (request.GET.get("window"), request.GET.get("start"))
        return super().add_view(request, form_url, extra_context)

    def get_fields(self, request, obj=None):
        if obj is None:
            return AppointmentRegisterForm.Meta.fields
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
        in a year whose holidays nobody has loaded yet (DB1403/T 4)."""
        day = timezone.localtime(obj.start).date()
        if not day_info(day).year_loaded:
            messages.warning(
                request,
                _(
                    "%(day)s lies in a year whose holidays are not loaded: make sure it is not a "
                    "statutory holiday or a make-up working day."
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

    def get_urls(self):
        urls = [
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
