"""Self-evaluation (DB1403/T 8.1) and improvement actions (8.3) in the staff console, and the
address of the assessment page (7.4, ``evaluation.reporting.assessment_page``). Every change goes
through ``evaluation.selfeval`` and ``evaluation.improvement``; the pages only collect input and
show the services' errors."""

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from duty.admin import HallScopedAdmin
from duty.calendar import local
from duty.models import Hall, Window
from duty.names import staff_name
from duty.scoping import scope_to_user, user_hall_id
from yuyue.console import ServiceAddAdminMixin, ServiceAddForm, StepAdminMixin, StepForm

from .improvement import ACTION_STEPS, OPEN_STATES, improvement_action_create, is_overdue
from .models import ImprovementAction, SelfEvaluation
from .months import month_clean, month_started_check, previous_month
from .reporting.assessment_page import AssessmentPageMixin, user_sees_assessment
from .selfeval import (
    self_evaluation_figures,
    self_evaluation_save,
    self_evaluation_submit,
    user_keeps_self_evaluation,
)

# --- improvement actions (8.3) -------------------------------------------------------------------


class OverdueFilter(admin.SimpleListFilter):
    """DB1403/T 8.3: actions still open after their due date."""

    title = gettext_lazy("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("1", gettext_lazy("overdue"))]

    def queryset(self, request, queryset):
        if self.value() == "1":
            return queryset.filter(state__in=OPEN_STATES, due__lt=timezone.localdate())
        return queryset


ADD_FIELDS = [
    "window",
    "title",
    "description",
    "owner",
    "due",
    "bad_reviews",
    "complaints",
    "findings",
    "self_evaluation",
]


class ImprovementActionForm(ServiceAddForm):
    """The add form: the action is set by ``improvement_action_create``."""

    class Meta:
        model = ImprovementAction
        fields = ADD_FIELDS

    def hall(self, window):
        if window is not None:
            return window.hall
        hall_id = user_hall_id(self.request.user)
        return Hall.objects.filter(pk=hall_id).first()

    def create(self, data, *, actor, now):
        hall = self.hall(data.get("window"))
        if hall is None:
            raise ValidationError(_("Choose the window: you are not staff of a hall."))
        return improvement_action_create(
            hall=hall, actor=actor, now=now, **{f: data.get(f) for f in ADD_FIELDS}
        )


class _TextForm(StepForm):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 60}))


class CompleteForm(_TextForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["text"].label = gettext_lazy("outcome")

    def service_arguments(self):
        return {"outcome": self.cleaned_data["text"]}


class CancelForm(_TextForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["text"].label = gettext_lazy("reason")

    def service_arguments(self):
        return {"reason": self.cleaned_data["text"]}


@admin.register(ImprovementAction)
class ImprovementActionAdmin(StepAdminMixin, ServiceAddAdminMixin, HallScopedAdmin):
    list_display = ["title", "window", "owner_name", "due", "state", "overdue", "hall"]
    list_filter = [OverdueFilter, "state", ("window", admin.RelatedOnlyFieldListFilter)]
    # The dashboard links here with the department filtered on (DB1403/T 8.3).
    dashboard_lookups = ("window__departments",)

    def lookup_allowed(self, lookup, value, request=None):
        return lookup in self.dashboard_lookups or super().lookup_allowed(lookup, value, request)

    list_select_related = ["window", "owner", "hall"]
    search_fields = ["title"]
    raw_id_fields = ["bad_reviews", "complaints", "findings", "self_evaluation"]
    form = add_form = ImprovementActionForm
    step_tables = (ACTION_STEPS,)
    step_template = "admin/evaluation/step.html"
    step_refused_text = gettext_lazy("“%(step)s” is not possible for this action now (%(state)s).")
    change_form_template = "admin/evaluation/improvementaction/change_form.html"
    detail_fields = [
        "title",
        "hall",
        "window",
        "description",
        "owner",
        "due",
        "state",
        "overdue",
        "created_by",
        "created_at",
        "completed_at",
        "outcome",
        "links",
    ]

    @admin.display(description=gettext_lazy("owner"), ordering="owner__first_name")
    def owner_name(self, obj):
        return staff_name(obj.owner)

    @admin.display(boolean=True, description=gettext_lazy("overdue"))
    def overdue(self, obj):
        return is_overdue(obj, now=timezone.now())

    @admin.display(description=gettext_lazy("caused by"))
    def links(self, obj):
        parts = [
            *(
                _("bad review: %(item)s") % {"item": c}
                for c in obj.bad_reviews.select_related("rating__appointment")
            ),
            *(_("complaint %(item)s") % {"item": c} for c in obj.complaints.all()),
            *(
                _("finding: %(item)s (%(inspection)s)") % {"item": f, "inspection": f.inspection}
                for f in obj.findings.all()
            ),
        ]
        if obj.self_evaluation_id:
            parts.append(_("self-evaluation %(item)s") % {"item": obj.self_evaluation})
        if not parts:
            return "—"
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((p,) for p in parts))
        )

    def get_fields(self, request, obj=None):
        return ADD_FIELDS if obj is None else self.detail_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.detail_fields

    def has_change_permission(self, request, obj=None):
        return False  # the steps (ACTION_STEPS) are buttons, each through its service

    def has_delete_permission(self, request, obj=None):
        return False  # cancelled, never deleted

    def step_context(self, request, action, transition):
        return {
            "submit_label": transition.label,
            "facts": [
                (_("action"), action.title),
                (_("owner"), staff_name(action.owner)),
                (_("due"), f"{action.due:%Y-%m-%d}"),
                (_("state"), action.get_state_display()),
            ],
            "clause": transition.clause,
        }


# --- self-evaluation (8.1) -----------------------------------------------------------------------


def _checklist_html(figures: dict, answers: dict):
    items = (figures or {}).get("items", {})
    if not items:
        return "—"
    rows = (
        (
            item.get("clause", ""),
            item.get("label", ""),
            item.get("display", ""),
            item.get("target_display", ""),
            {True: "✔", False: "✘"}.get(item.get("ok"), "—"),
            {True: _("yes"), False: _("no")}.get((answers.get(key) or {}).get("conforms"), "—"),
            (answers.get(key) or {}).get("note", ""),
        )
        for key, item in items.items()
    )
    return format_html(
        "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>"
        "<th>{}</th></tr></thead><tbody>{}</tbody></table>",
        _("clause"),
        _("item"),
        _("records show"),
        _("target"),
        _("met"),
        _("head's answer"),
        _("note"),
        format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            rows,
        ),
    )


@admin.register(SelfEvaluation)
class SelfEvaluationAdmin(AssessmentPageMixin, HallScopedAdmin):
    list_display = ["window", "month_label", "submitted_at", "submitted_by_name"]
    list_filter = [("window", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["window", "submitted_by"]
    change_list_template = "admin/evaluation/selfevaluation/change_list.html"
    fields = ["window", "month_label", "checklist", "remarks", "submitted_by", "submitted_at"]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("month"), ordering="month")
    def month_label(self, obj):
        return obj.month.strftime("%Y-%m")

    @admin.display(description=gettext_lazy("submitted by"))
    def submitted_by_name(self, obj):
        return staff_name(obj.submitted_by) or "—"

    @admin.display(description=gettext_lazy("checklist"))
    def checklist(self, obj):
        return _checklist_html(obj.figures, obj.answers)

    def has_add_permission(self, request):
        return False  # filled in on the self-evaluation page

    def changelist_view(self, request, extra_context=None):
        # Offer only the pages this user may open: a supervisor gets no fill-in link.
        extra_context = dict(extra_context or {})
        extra_context["may_fill"] = bool(self._kept_windows(request))
        extra_context["may_assess"] = user_sees_assessment(request.user)
        return super().changelist_view(request, extra_context)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("fill/", wrap(self.fill_view), name="evaluation_selfevaluation_fill"),
            path("assessment/", wrap(self.assessment_view), name="evaluation_assessment"),
            *super().get_urls(),
        ]

    def _kept_windows(self, request):
        windows = scope_to_user(
            Window.objects.select_related("hall").order_by("hall", "number"), request.user
        )
        return [w for w in windows if user_keeps_self_evaluation(request.user, w)]

    def fill_view(self, request):
        """DB1403/T 8.1: the window head's page: the checklist prefilled from the records, an
        answer and a note per item, remarks; save as often as needed, then submit."""
        windows = self._kept_windows(request)
        if not windows:
            raise PermissionDenied
        now = timezone.now()
        chosen = request.GET.get("window", "")
        window = next((w for w in windows if str(w.pk) == chosen), windows[0])
        month_text = request.GET.get("month") or previous_month(local(now).date()).strftime("%Y-%m")
        url = (
            reverse("admin:evaluation_selfevaluation_fill")
            + "?"
            + urlencode({"window": window.pk, "month": month_text})
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Monthly self-evaluation (DB1403/T 8.1)"),
            "windows": windows,
            "window": window,
            "month_text": month_text,
            "errors": [],
        }
        try:
            month = month_clean(month_text)
            month_started_check(month=month, now=now)
        except ValidationError as error:
            context["errors"] = error.messages
            return TemplateResponse(request, "admin/evaluation/selfevaluation/fill.html", context)
        evaluation = SelfEvaluation.objects.filter(window=window, month=month).first()
        if request.method == "POST" and (evaluation is None or evaluation.submitted_at is None):
            items = self_evaluation_figures(window=window, month=month, now=now)
            answers = {}
            for item in items:
                conforms = {"yes": True, "no": False}.get(
                    request.POST.get(f"conforms-{item['key']}")
                )
                answers[item["key"]] = {
                    "conforms": conforms,
                    "note": request.POST.get(f"note-{item['key']}", ""),
                }
            try:
                evaluation = self_evaluation_save(
                    window=window,
                    month=month,
                    answers=answers,
                    remarks=request.POST.get("remarks", ""),
                    actor=request.user,
                    now=now,
                )
                if "submit" in request.POST:
                    self_evaluation_submit(evaluation=evaluation, actor=request.user, now=now)
                    messages.success(request, _("The self-evaluation is submitted."))
                else:
                    messages.success(request, _("The self-evaluation is saved."))
                return HttpResponseRedirect(url)
            except ValidationError as error:
                context["errors"] = error.messages
            except PermissionDenied as error:
                context["errors"] = [str(error)]
        if evaluation is not None and evaluation.submitted_at is not None:
            items = list(evaluation.figures.get("items", {}).values())
        else:
            items = self_evaluation_figures(window=window, month=month, now=now)
        answers = evaluation.answers if evaluation is not None else {}
        for item in items:
            answer = answers.get(item["key"]) or {}
            if request.method == "POST" and context["errors"]:
                item["conforms"] = {"yes": True, "no": False}.get(
                    request.POST.get(f"conforms-{item['key']}")
                )
                item["note"] = request.POST.get(f"note-{item['key']}", "")
            else:
                item["conforms"] = answer.get("conforms", item["ok"]) if answer else item["ok"]
                item["note"] = answer.get("note", "")
        context.update(
            month=month,
            items=items,
            evaluation=evaluation,
            remarks=request.POST.get("remarks", "")
            if context["errors"]
            else (evaluation.remarks if evaluation else ""),
            submitted=evaluation is not None and evaluation.submitted_at is not None,
            month_over=local(now).date() >= (month + dt.timedelta(days=32)).replace(day=1),
        )
        return TemplateResponse(request, "admin/evaluation/selfevaluation/fill.html", context)
