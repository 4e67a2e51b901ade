"""A basic, hall-scoped admin. Bookings are created and moved only through the services."""

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
from django.utils.html import format_html, format_html_join
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext_lazy as _

from duty.admin import HallScopedAdmin, HallScopedMixin, ScopedTabularInline
from duty.attendance import ATTENDANCE_LABELS, duty_attendance, staff_presence_at
from duty.calendar import day_info, local
from duty.names import staff_name
from duty.scoping import scope_to_user
from sms.admin import MessageAdmin
from sms.models import Message
from yuyue.console import ServiceAddAdminMixin, ServiceAddForm, StepAdminMixin
from yuyue.locks import BusyError, lock_waits_bounded

from . import console, services
from .models import (
    Appointment,
    AppointmentEvent,
    ChangeRequest,
    Channel,
    ContactLog,
    Matter,
    NoShowFollowUp,
    ParallelTask,
    RegisterExport,
    Slot,
    Status,
)
from .register import (
    RegisterFilter,
    register_download_name,
    register_export,
    register_export_allowed,
    register_export_request,
    register_queryset,
)
from .slots import slot_at
from .time_filters import ChangeNoticeFilter, HallCancellationFilter, TimeKindFilter

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
admin.site.index_template = "admin/console_index.html"


def _name_column(field: str, label):
    """A list/detail column showing a user by name (王敏), not by login."""

    @admin.display(description=label, ordering=f"{field}__first_name")
    def column(self, obj):
        return staff_name(getattr(obj, field)) or "—"

    column.__name__ = f"{field}_name"
    return column


@admin.register(Matter)
class MatterAdmin(HallScopedAdmin):
    list_display = ["name", "hall", "duration_minutes", "is_active"]
    list_filter = [
        ("hall", admin.RelatedOnlyFieldListFilter),
        "is_active",
        ("departments", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["name"]
    filter_horizontal = ["departments", "windows"]
    list_select_related = ["hall"]


class SlotForm(forms.ModelForm):
    """Set one slot's capacity ahead of time, e.g. 0 to close it for maintenance."""

    start = forms.SplitDateTimeField(label=_("start"), widget=admin.widgets.AdminSplitDateTime)

    class Meta:
        model = Slot
        fields = ["window", "start", "capacity"]

    def clean(self):
        data = super().clean()
        window, start = data.get("window"), data.get("start")
        if window is not None and start is not None:
            slot = slot_at(window=window, start=start)
            if slot is None:
                self.add_error(
                    "start",
                    _("Window %(window)s has no slot starting at this time.") % {"window": window},
                )
            else:
                self.instance.end = slot.end
        return data


@admin.register(Slot)
class SlotAdmin(HallScopedAdmin):
    list_display = ["window", "start", "end", "capacity"]
    list_filter = [("window", admin.RelatedOnlyFieldListFilter)]
    date_hierarchy = "start"
    list_select_related = ["window"]
    form = SlotForm

    def get_readonly_fields(self, request, obj=None):
        # A slot's place in the grid is fixed once it exists; only its capacity changes.
        return ["window", "start", "end"] if obj is not None else []

    def get_fields(self, request, obj=None):
        return ["window", "start", "end", "capacity"] if obj is not None else SlotForm.Meta.fields


class ReadOnlyInline(ScopedTabularInline):
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class EventInline(ReadOnlyInline):
    """The booking's history: who changed what, when."""

    model = AppointmentEvent
    fields = ["at", "actor_name", "action", "changes_display", "note"]
    readonly_fields = fields
    actor_name = _name_column("actor", _("by"))

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    @admin.display(description=_("changes"))
    def changes_display(self, obj):
        if not obj.changes:
            return "—"
        names = {f.name: f.verbose_name for f in Appointment._meta.fields}
        return format_html_join(
            "",
            "<div>{}: {} → {}</div>",
            (
                (names.get(field, field), _change_value(field, old), _change_value(field, new))
                for field, (old, new) in obj.changes.items()
            ),
        )


def _change_value(field: str, value) -> str:
    """A value kept in the history as people read it: labels, local times without seconds."""
    if value in (None, ""):
        return "—"
    choices = {"status": Status, "channel": Channel}
    if field in choices and value in choices[field].values:
        return str(choices[field](value).label)
    if isinstance(value, str) and len(value) >= 16 and value[4] == "-" and "T" in value:
        try:
            return local(dt.datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            pass
    return str(value)


class ContactInline(ReadOnlyInline):
    model = ContactLog
    fields = ["at", "by_name", "purpose", "method", "time_reconfirmed", "text", "outcome"]
    readonly_fields = fields
    by_name = _name_column("by", _("by"))

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by")


class ParallelTaskInline(ReadOnlyInline):
    model = ParallelTask
    fields = ["department", "window", "confirmed_at", "confirmed_by_name"]
    readonly_fields = fields
    confirmed_by_name = _name_column("confirmed_by", _("confirmed by"))


class ChangeRequestInline(ReadOnlyInline):
    model = ChangeRequest
    fk_name = "appointment"
    fields = ["state", "original_start", "new_start", "new_window", "reason", "is_emergency"]
    readonly_fields = fields


class FollowUpInline(ReadOnlyInline):
    model = NoShowFollowUp
    fields = ["slot_start", "due_at", "assigned_to_name", "outcome", "recorded_at", "note"]
    readonly_fields = fields
    assigned_to_name = _name_column("assigned_to", _("assigned to"))


MESSAGE_COLUMNS = [
    "created_at",
    "purpose",
    "status",
    "attempts",
    "sent_at",
    "delivered_at",
    "error",
]


def _local_time(moment) -> str:
    return formats.date_format(timezone.localtime(moment), "Y-m-d H:i") if moment else "-"


def _message_row(message: Message) -> list:
    return [
        _local_time(message.created_at),
        message.get_purpose_display(),
        message.get_status_display(),
        message.attempts,
        _local_time(message.sent_at),
        _local_time(message.delivered_at),
        message.error or "-",
    ]


def messages_table(appointment: Appointment):
    """The text messages about a booking with their delivery status (one query). A message
    refers to its booking generically (``sms.subjects``), so this is a table, not an inline."""
    rows = list(Message.objects.about(appointment).order_by("created_at", "pk"))
    if not rows:
        return "-"
    head = format_html_join(
        "", "<th>{}</th>", ((Message._meta.get_field(c).verbose_name,) for c in MESSAGE_COLUMNS)
    )
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((v,) for v in _message_row(m))),) for m in rows),
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


class BookingFilter(admin.SimpleListFilter):
    title = _("booking")
    parameter_name = "booking"

    def lookups(self, request, model_admin):
        return [("upcoming", _("not yet past"))]

    def queryset(self, request, queryset):
        if self.value() == "upcoming":
            return queryset.about_any(Appointment.objects.filter(start__gte=timezone.now()))
        return queryset


@admin.register(Message)
class BookingMessageAdmin(HallScopedMixin, MessageAdmin):
    """The SMS log, read-only: what went to which booking's applicant, and whether it went.

    Hall staff see the messages of their hall's bookings; verification codes (masked) and
    complaint messages belong to no booking and are seen only by those who see every hall.
    Filter “failed” and “not yet past” for the messages somebody must follow up by phone (the
    desk's front page links there). Registered here, not in ``sms``: the hall scoping and the
    booking filter are this app's and ``duty``'s knowledge.
    """

    list_filter = ["status", BookingFilter, "purpose", "backend"]


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


class RecordAdmin(HallScopedAdmin):
    """Lifecycle records are written by the services; the console lists them read-only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ChangeRequest)
class ChangeRequestAdmin(RecordAdmin):
    list_display = [
        "appointment",
        "state",
        "original_start",
        "new_start",
        "is_emergency",
        "requested_at",
        "decided_by",
    ]
    list_filter = ["state", "is_emergency", ChangeNoticeFilter]
    list_select_related = ["appointment", "decided_by"]
    # The assessment (DB1403/T 7.4) links here with the staff member the change counts against.
    assessment_lookups = ("appointment__responsible_staff",)

    def lookup_allowed(self, lookup, value, request=None):
        return lookup in self.assessment_lookups or super().lookup_allowed(lookup, value, request)


@admin.register(NoShowFollowUp)
class NoShowFollowUpAdmin(RecordAdmin):
    list_display = ["appointment", "due_at", "assigned_to", "outcome", "recorded_at"]
    list_filter = ["outcome", ("appointment__window", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["appointment", "assigned_to"]


@admin.register(ContactLog)
class ContactLogAdmin(RecordAdmin):
    list_display = ["appointment", "at", "purpose", "method", "by", "time_reconfirmed"]
    list_filter = ["purpose", "method"]
    list_select_related = ["appointment", "by"]
    search_fields = ["appointment__reference"]


@admin.register(ParallelTask)
class ParallelTaskAdmin(RecordAdmin):
    list_display = ["appointment", "department", "window", "confirmed_at", "confirmed_by"]
    list_filter = [("department", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["appointment", "department", "window", "confirmed_by"]


@admin.register(AppointmentEvent)
class AppointmentEventAdmin(RecordAdmin):
    """The history of every booking; filtered by action it lists e.g. all reassignments."""

    list_display = ["at", "appointment", "action", "actor", "note"]
    list_filter = ["action"]
    list_select_related = ["appointment", "actor"]
    search_fields = ["appointment__reference"]
    date_hierarchy = "at"
