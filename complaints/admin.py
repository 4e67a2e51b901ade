"""Complaints in the staff console (GB/T 36113, DB1403/T 7.3): hall-scoped; the complainant's
name and phone are masked for everybody without the permission, and every unmasked view is
logged."""

import datetime as dt
import io

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _

from duty.admin import HallScopedAdmin
from duty.calendar import local
from duty.scoping import user_hall_id, visible_halls
from yuyue.console import ServiceAddAdminMixin, ServiceAddForm, StepAdminMixin

from . import console
from .ledger import ledger_download_name, ledger_export
from .models import (
    Complaint,
    ComplaintAttachment,
    ComplaintStep,
    IdentityView,
)
from .services import (
    COMPLAINT_STEPS,
    attachment_may_see,
    complainant_shown,
    complaint_figures,
    complaint_register,
    complaint_running_deadline,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

IDENTITY_PERM = "complaints.view_complainant_identity"
REGISTER_FIELDS = [
    "channel",
    "category",
    "window",
    "staff",
    "department",
    "appointment",
    "complainant_name",
    "complainant_phone",
    "identity_withheld",
    "text",
    "is_complex",
]


class ComplaintRegisterForm(ServiceAddForm):
    """The add form: the complaint is registered by ``complaint_register``."""

    class Meta:
        model = Complaint
        fields = REGISTER_FIELDS

    def create(self, data, *, actor, now):
        return complaint_register(actor=actor, now=now, **{f: data.get(f) for f in REGISTER_FIELDS})


class ComplaintStepInline(admin.TabularInline):
    model = ComplaintStep
    extra = 0
    fields = ["at", "actor", "from_state", "to_state", "note"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _name_over_phone(shown: dict):
    """The name, and the number under it on one line (a narrow column must not break it)."""
    if not shown["phone"]:
        return shown["name"]
    return format_html(
        '{}<br><span style="white-space:nowrap">{}</span>', shown["name"], shown["phone"]
    )


@admin.register(Complaint)
class ComplaintAdmin(StepAdminMixin, ServiceAddAdminMixin, HallScopedAdmin):
    # Narrow columns: the list must fit a 1366 px screen with the sidebar open.
    list_display = [
        "tracking_number",
        "received",
        "channel",
        "category",
        "complainant",
        "window_number",
        "state",
        "overdue_flag",
    ]
    list_filter = [console.OverdueFilter, "state", "channel", "category"]
    actions = ["export_ledger"]
    list_select_related = ["window"]
    date_hierarchy = "received_at"
    # A search by reference: a <select> of every booking of the hall is thousands long.
    autocomplete_fields = ["appointment"]
    inlines = [ComplaintStepInline]
    add_form = ComplaintRegisterForm
    step_tables = (COMPLAINT_STEPS,)
    step_template = "admin/complaints/complaint/step.html"
    step_refused_text = _("“%(step)s” is not possible for this complaint now (%(state)s).")
    detail_fields = [
        "tracking_number",
        "hall",
        "channel",
        "category",
        "complainant",
        "identity_withheld",
        "text",
        "window",
        "staff",
        "department",
        "booking",
        "is_complex",
        "state",
        "received_at",
        "registered_by",
        "handler",
        "accept_due",
        "reply_due",
        "accepted_at",
        "refusal_reason",
        "referred_department",
        "findings",
        "substantiated",
        "measures",
        "reply_method",
        "reply_text",
        "replied_at",
        "satisfied",
        "archived_at",
    ]

    def get_queryset(self, request):
        return console.with_overdue(super().get_queryset(request), now=timezone.now())

    @admin.display(description=_("received at"), ordering="received_at")
    def received(self, obj):
        return format_html(
            '<span style="white-space:nowrap">{}</span><br>{}',
            f"{local(obj.received_at):%Y-%m-%d}",
            f"{local(obj.received_at):%H:%M}",
        )

    @admin.display(description=_("window"), ordering="window__number")
    def window_number(self, obj):
        if obj.window is None:
            return "—"
        return format_html('<span title="{}">{}</span>', obj.window.name, obj.window.number)

    @admin.display(description=_("deadline"), ordering="is_overdue")
    def overdue_flag(self, obj):
        """GB/T 36113 (local deadlines): the deadline running now — acceptance while registered,
        the reply while awaited — flagged on the row by the sweep's rule when it has passed."""
        running = complaint_running_deadline(complaint=obj)
        if running is None:
            return "—"
        step, due = running
        label = gettext_now("accept by") if step == "accept" else gettext_now("reply by")
        day = format_html('<span style="white-space:nowrap">{}</span>', f"{due:%Y-%m-%d}")
        if getattr(obj, "is_overdue", False):
            return format_html(
                '<strong class="overdue" style="color:#ba2121">⚠ {}</strong><br>{}<br>{}',
                gettext_now("overdue"),
                day,
                label,
            )
        return format_html("{}<br>{}", day, label)

    @admin.display(description=_("booking"))
    def booking(self, obj):
        # The reference only: the booking's own name is its applicant's — often the complainant.
        return obj.appointment.reference if obj.appointment_id else "—"

    def get_search_fields(self, request):
        # Without the permission, a search by name or phone would reveal who complained.
        if request.user.has_perm(IDENTITY_PERM):
            return ["tracking_number", "complainant_name", "complainant_phone"]
        return ["tracking_number"]

    def lookup_allowed(self, lookup, value, request=None):
        # A filter in the address would do what the search box refuses (see above).
        if lookup.startswith(("complainant_name", "complainant_phone")) and (
            request is None or not request.user.has_perm(IDENTITY_PERM)
        ):
            return False
        return super().lookup_allowed(lookup, value, request)

    @admin.display(description=_("complainant"))
    def complainant(self, obj):
        """Masked: the per-request column below replaces it for those who may see more."""
        return _name_over_phone(complainant_shown(obj, AnonymousUser()))

    def _complainant(self, request):
        """A column for this request: masked unless the user may see it; logged when not."""

        @admin.display(description=_("complainant"))
        def complainant(obj):
            shown = complainant_shown(obj, request.user, where="admin", now=timezone.now())
            return _name_over_phone(shown)

        return complainant

    def get_list_display(self, request):
        return [self._complainant(request) if f == "complainant" else f for f in self.list_display]

    def _detail_fields(self, request):
        return [self._complainant(request) if f == "complainant" else f for f in self.detail_fields]

    def get_fields(self, request, obj=None):
        return REGISTER_FIELDS if obj is None else self._detail_fields(request)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self._detail_fields(request)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def has_change_permission(self, request, obj=None):
        # The steps are taken through the services (the console), not by editing fields.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # --- the steps of the procedure (GB/T 36113) -------------------------------------------

    def change_context(self, request, complaint, steps) -> dict:
        context = {"is_overdue": getattr(complaint, "is_overdue", False)}
        if self._may_see_attachments(request, complaint):
            context["attachments"] = list(complaint.attachments.all())
        running = complaint_running_deadline(complaint=complaint)
        context["overdue_accept"] = running is not None and running[0] == "accept"
        return context

    def steps_allowed(self, request, record) -> bool:
        """Handlers of the complaint's own hall (the service refuses everybody else)."""
        user = request.user
        return user.is_superuser or user_hall_id(user) == record.hall_id

    def _may_see_attachments(self, request, complaint) -> bool:
        probe = ComplaintAttachment(complaint=complaint)
        return attachment_may_see(attachment=probe, user=request.user)

    def get_urls(self):
        view = self.admin_site.admin_view
        urls = [
            path(
                "attachments/<int:attachment_id>/",
                view(self.attachment_view),
                name="complaints_attachment",
            ),
            path("figures/", view(self.figures_view), name="complaints_figures"),
            path("ledger/", view(self.ledger_view), name="complaints_ledger"),
        ]
        return urls + super().get_urls()

    def attachment_view(self, request, attachment_id):
        """An investigation document, for the complaint's handlers only (not public media)."""
        attachment = (
            ComplaintAttachment.objects.select_related("complaint").filter(pk=attachment_id).first()
        )
        if attachment is None or self.get_object(request, str(attachment.complaint_id)) is None:
            raise Http404
        if not attachment_may_see(attachment=attachment, user=request.user):
            raise PermissionDenied
        try:
            handle = attachment.file.open("rb")
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(handle, content_type=attachment.content_type)
        response["Content-Disposition"] = content_disposition_header(
            attachment.content_type == "application/pdf", attachment.original_name
        )
        response["Content-Security-Policy"] = "sandbox"
        return response

    # --- results: figures and the ledger (DB1403/T 7.3, 7.4) ---------------------------------

    def changelist_view(self, request, extra_context=None):
        extra_context = dict(extra_context or {})
        extra_context["figures_url"] = reverse("admin:complaints_figures")
        extra_context["ledger_url"] = reverse("admin:complaints_ledger")
        return super().changelist_view(request, extra_context)

    def figures_view(self, request):
        """GB/T 36113 (metrics), DB1403/T 7.3, 7.4: a month's figures of a hall."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = FiguresForm(request.GET or None, user=request.user)
        if not request.GET:
            # The page opens on this month's figures of the user's hall, not on an empty form.
            form = FiguresForm(
                {
                    "hall": form.fields["hall"].initial or "",
                    "month": form.fields["month"].initial.strftime("%Y-%m"),
                },
                user=request.user,
            )
        figures = None
        if form.is_valid():
            hall = form.cleaned_data["hall"]
            figures = complaint_figures(
                hall_id=hall.pk if hall else None,
                month=form.cleaned_data["month"],
                now=timezone.now(),
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext_now("Monthly figures"),
            "form": form,
            "figures": figures,
        }
        return TemplateResponse(request, "admin/complaints/complaint/figures.html", context)

    def _ledger_response(self, request, *, hall_id, date_from, date_to, ids=()):
        buffer = io.BytesIO()
        ledger_export(
            hall_id=hall_id,
            date_from=date_from,
            date_to=date_to,
            out=buffer,
            user=request.user,
            ids=ids,
            now=timezone.now(),
        )
        response = HttpResponse(buffer.getvalue(), content_type=XLSX)
        response["Content-Disposition"] = content_disposition_header(
            True, ledger_download_name(hall_id=hall_id, date_from=date_from, date_to=date_to)
        )
        return response

    def ledger_view(self, request):
        """GB/T 36113, DB1403/T 7.3: the complaint ledger of a hall for a period (Excel)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = LedgerForm(request.GET or None, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            return self._ledger_response(
                request,
                hall_id=data["hall"].pk,
                date_from=data["date_from"],
                date_to=data["date_to"],
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext_now("Complaint ledger"),
            "form": form,
        }
        return TemplateResponse(request, "admin/complaints/complaint/ledger.html", context)

    @admin.action(description=_("Export the complaint ledger (Excel)"))
    def export_ledger(self, request, queryset):
        """GB/T 36113, DB1403/T 7.3: the selected complaints as a ledger (one hall)."""
        halls = set(queryset.order_by().values_list("hall_id", flat=True).distinct()[:2])
        if len(halls) != 1:
            messages.error(
                request, gettext_now("Choose complaints of one hall: a ledger is per hall.")
            )
            return None
        rows = list(queryset.order_by("received_at").values_list("pk", "received_at"))
        days = [local(received).date() for _pk, received in rows]
        return self._ledger_response(
            request,
            hall_id=halls.pop(),
            date_from=min(days),
            date_to=max(days),
            ids=tuple(pk for pk, _received in rows),
        )


class _HallForm(forms.Form):
    hall = forms.ModelChoiceField(label=_("hall"), queryset=None)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        halls = visible_halls(user).order_by("pk")
        self.fields["hall"].queryset = halls
        self.fields["hall"].initial = user_hall_id(user) or (halls.first().pk if halls else None)


class FiguresForm(_HallForm):
    month = forms.DateField(
        label=_("month"),
        input_formats=["%Y-%m"],
        widget=forms.DateInput(format="%Y-%m", attrs={"type": "month"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields["hall"].required = False
        self.fields["hall"].empty_label = _("all halls")
        self.fields["month"].initial = timezone.localdate().replace(day=1)
        if visible_halls(user).count() <= 1:
            self.fields["hall"].required = True
            self.fields["hall"].empty_label = None


class LedgerForm(_HallForm):
    # An <input type="date"> takes only YYYY-MM-DD: the locale's format (2026/11/01) would
    # leave the field empty.
    date_from = forms.DateField(
        label=_("from"), widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("to"), widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        today = timezone.localdate()
        self.fields["date_from"].initial = today.replace(day=1)
        self.fields["date_to"].initial = today

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            if start > end:
                self.add_error("date_to", _("“to” must not be before “from”."))
            elif (end - start) > dt.timedelta(days=366):
                self.add_error("date_to", _("At most a year at a time."))
        return data


@admin.register(IdentityView)
class IdentityViewAdmin(HallScopedAdmin):
    """Who saw which complainant's identity, and when."""

    list_display = ["at", "user", "complaint", "where"]
    list_select_related = ["user", "complaint"]
    search_fields = ["complaint__tracking_number"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
