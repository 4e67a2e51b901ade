"""好差评 in the staff console (DB1403/T 8.2): ratings are read-only and never deleted (a paper
form is the only thing staff type in); bad-review cases move through their steps by buttons;
appeals are filed by the rated window and decided by a supervisor. Every action calls a service
of ``evaluation.ratings`` (the steps are its CASE_STEPS and APPEAL_STEPS) through
``yuyue.console``; its errors are shown next to the field they concern."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appointments.models import Appointment
from complaints.models import ComplaintCategory
from duty.admin import HallScopedAdmin
from duty.calendar import local
from duty.names import staff_name
from duty.scoping import scope_to_user
from yuyue.console import ServiceAddAdminMixin, ServiceAddForm, StepAdminMixin, StepForm

from . import ratings
from .models import BadReviewCase, BadReviewStep, Rating, RatingAppeal, RatingSource

LEVELS = ["overall", "efficiency", "service_level", "attitude"]
CaseState = BadReviewCase.State


# --- ratings ------------------------------------------------------------------------------------


class PaperRatingForm(ServiceAddForm):
    """A paper form typed in by the desk: recorded as source "paper", entered by them."""

    reference = forms.CharField(
        label=_("booking reference"),
        max_length=12,
        help_text=_("The reference of the served booking the paper form is about."),
    )
    error_fields = {"appointment": "reference"}

    class Meta:
        model = Rating
        fields = ["reference", *LEVELS, "comment"]

    def create(self, data, *, actor, now):
        reference = data["reference"].strip().upper()
        appointment = (
            scope_to_user(Appointment.objects.all(), actor)
            .select_related("window__hall", "matter")
            .filter(reference=reference)
            .first()
        )
        if appointment is None:
            raise ValidationError({"reference": _("No booking of your hall has this reference.")})
        return ratings.rating_submit(
            appointment=appointment,
            source=RatingSource.PAPER,
            entered_by=actor,
            now=now,
            **{f: data.get(f) for f in [*LEVELS, "comment"]},
        )


@admin.register(Rating)
class RatingAdmin(ServiceAddAdminMixin, HallScopedAdmin):
    list_display = [
        "rated_at",
        "reference",
        "window",
        "staff_display",
        "overall",
        "efficiency",
        "service_level",
        "attitude",
        "source",
        "excluded",
    ]
    list_filter = [
        "overall",
        "source",
        "excluded",
        ("window", admin.RelatedOnlyFieldListFilter),
        ("department", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["appointment", "window", "staff"]
    search_fields = ["appointment__reference"]
    date_hierarchy = "rated_at"
    # The dashboard links here with the period of the bookings rated (DB1403/T 8.2).
    dashboard_lookups = ("appointment__start__date__gte", "appointment__start__date__lte")
    # The assessment (DB1403/T 7.4) links here with the month the bookings were served in and the
    # staff member they count against.
    assessment_lookups = (
        "appointment__served_at__date__gte",
        "appointment__served_at__date__lt",
        "appointment__responsible_staff",
    )

    def lookup_allowed(self, lookup, value, request=None):
        return (
            lookup in self.dashboard_lookups
            or lookup in self.assessment_lookups
            or super().lookup_allowed(lookup, value, request)
        )

    radio_fields = {f: admin.VERTICAL for f in LEVELS}
    add_form = PaperRatingForm
    detail_fields = [
        "reference",
        "hall",
        "window",
        "department",
        "staff_display",
        *LEVELS,
        "comment",
        "source",
        "entered_by_display",
        "rated_at",
        "excluded",
        "excluded_reason",
    ]

    @admin.display(description=_("booking"), ordering="appointment__reference")
    def reference(self, obj):
        return obj.appointment.reference

    @admin.display(description=_("staff member rated"), ordering="staff__first_name")
    def staff_display(self, obj):
        return staff_name(obj.staff) or "—"

    @admin.display(description=_("entered by"))
    def entered_by_display(self, obj):
        return staff_name(obj.entered_by) or "—"

    def get_fields(self, request, obj=None):
        return PaperRatingForm.Meta.fields if obj is None else self.detail_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.detail_fields

    def has_add_permission(self, request):
        # Staff never rate for a citizen; they only type in a paper form the citizen filled in.
        return request.user.has_perm("evaluation.enter_paper_rating")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # 一次一评 and 申诉复核: a rating is marked after an upheld appeal, never deleted.
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        rating = self.get_object(request, object_id)
        if rating is not None and request.user.has_perm("evaluation.add_ratingappeal"):
            extra_context["appeal_url"] = (
                reverse("admin:evaluation_ratingappeal_add") + f"?rating={rating.pk}"
            )
        return super().change_view(request, object_id, form_url, extra_context)


# --- bad-review cases ---------------------------------------------------------------------------


def _overdue_q(today):
    return Q(rating__excluded=False) & (
        Q(state=CaseState.OPEN, contact_due__lt=today)
        | Q(state__in=(CaseState.OPEN, CaseState.CONTACTED), rectify_due__lt=today)
    )


class OverdueFilter(admin.SimpleListFilter):
    """好差评 deadlines: cases whose contact or rectification is late today."""

    title = _("deadline")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("overdue")), ("open", _("still being handled"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(_overdue_q(local(timezone.now()).date()))
        if self.value() == "open":
            return queryset.exclude(state=CaseState.CLOSED)
        return queryset


class ContactForm(StepForm):
    verified = forms.TypedChoiceField(
        label=_("Is the review borne out?"),
        choices=[("yes", _("yes: verified")), ("no", _("no: not borne out"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("what the rater said"), widget=forms.Textarea, max_length=2000)


class RectifyForm(StepForm):
    rectification = forms.CharField(
        label=_("rectification"), widget=forms.Textarea, max_length=2000
    )


class ReplyForm(StepForm):
    reply_text = forms.CharField(
        label=_("reply to the rater (sent by SMS)"), widget=forms.Textarea, max_length=300
    )


class CloseForm(StepForm):
    note = forms.CharField(label=_("note"), widget=forms.Textarea, max_length=2000, required=False)


class ComplaintForm(StepForm):
    category = forms.ChoiceField(label=_("category"), choices=ComplaintCategory.choices)


class BadReviewStepInline(admin.TabularInline):
    model = BadReviewStep
    extra = 0
    fields = ["at", "actor_display", "from_state", "to_state", "note"]
    readonly_fields = fields
    can_delete = False

    @admin.display(description=_("by"))
    def actor_display(self, obj):
        return staff_name(obj.actor) or _("system")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("evaluation.view_badreviewcase")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(BadReviewCase)
class BadReviewCaseAdmin(StepAdminMixin, HallScopedAdmin):
    list_display = [
        "opened_at",
        "reference",
        "window",
        "overall",
        "state",
        "handler_display",
        "contact_due",
        "rectify_due",
        "is_overdue",
        "complaint",
    ]
    list_filter = [OverdueFilter, "state"]
    # The dashboard links here with the hall and window rated (DB1403/T 8.2).
    dashboard_lookups = ("rating__hall", "rating__window", "rating__department")

    def lookup_allowed(self, lookup, value, request=None):
        return lookup in self.dashboard_lookups or super().lookup_allowed(lookup, value, request)

    list_select_related = ["rating__appointment", "rating__window", "handler", "complaint"]
    search_fields = ["rating__appointment__reference"]
    inlines = [BadReviewStepInline]
    step_tables = (ratings.CASE_STEPS,)
    step_template = "admin/evaluation/step.html"
    step_refused_text = _("“%(step)s” is not possible for this case now (%(state)s).")
    detail_fields = [
        "reference",
        "rater",
        "window",
        "overall",
        "levels",
        "comment",
        "state",
        "opened_at",
        "handler_display",
        "contact_due",
        "rectify_due",
        "contacted_at",
        "verified",
        "contact_note",
        "rectified_at",
        "rectification",
        "replied_at",
        "reply_text",
        "complaint",
    ]

    @admin.display(description=_("booking"), ordering="rating__appointment__reference")
    def reference(self, obj):
        return obj.rating.appointment.reference

    @admin.display(description=_("window"))
    def window(self, obj):
        return obj.rating.window

    @admin.display(description=_("overall satisfaction"), ordering="rating__overall")
    def overall(self, obj):
        return obj.rating.get_overall_display()

    @admin.display(description=_("items"))
    def levels(self, obj):
        return "; ".join(
            f"{Rating._meta.get_field(f).verbose_name}: {getattr(obj.rating, f'get_{f}_display')()}"
            for f in LEVELS
        )

    @admin.display(description=_("comment"))
    def comment(self, obj):
        return obj.rating.comment or "—"

    @admin.display(description=_("rater (to contact)"))
    def rater(self, obj):
        """Masked: the per-request field below shows more to those who contact the rater."""
        return ratings.rater_shown(case=obj, user=None)

    def _rater(self, request):
        @admin.display(description=_("rater (to contact)"))
        def rater(obj):
            return ratings.rater_shown(case=obj, user=request.user)

        return rater

    @admin.display(description=_("handler"), ordering="handler__first_name")
    def handler_display(self, obj):
        return staff_name(obj.handler) or "—"

    @admin.display(boolean=True, description=_("overdue"))
    def is_overdue(self, obj):
        return bool(ratings.bad_review_late_steps(obj, timezone.now())) and not obj.rating.excluded

    def _detail_fields(self, request):
        return [self._rater(request) if f == "rater" else f for f in self.detail_fields]

    def get_fields(self, request, obj=None):
        return self._detail_fields(request)

    def get_readonly_fields(self, request, obj=None):
        return self._detail_fields(request)

    def has_add_permission(self, request):
        return False  # a bad rating opens its case

    def has_change_permission(self, request, obj=None):
        return False  # its steps (CASE_STEPS) move it

    def has_delete_permission(self, request, obj=None):
        return False

    def step_may_open(self, request, record) -> bool:
        # The page shows the rater and the review: only to those who may read the case.
        return self.has_view_permission(request, record)

    def step_context(self, request, case, transition):
        return {
            "submit_label": transition.label,
            "facts": [
                (_("booking"), case.rating.appointment.reference),
                (_("rater (to contact)"), ratings.rater_shown(case=case, user=request.user)),
                (_("items"), self.levels(case)),
                (_("comment"), self.comment(case)),
                (_("contact by"), case.contact_due),
                (_("rectify by"), case.rectify_due),
            ],
        }


# --- appeals (申诉复核) -------------------------------------------------------------------------


class AppealFileForm(ServiceAddForm):
    class Meta:
        model = RatingAppeal
        fields = ["rating", "reason"]

    def create(self, data, *, actor, now):
        return ratings.rating_appeal_file(
            rating=data["rating"], actor=actor, reason=data.get("reason"), now=now
        )


class AppealReviewForm(StepForm):
    upheld = forms.TypedChoiceField(
        label=_("decision"),
        choices=[
            ("yes", _("uphold: the rating is marked and leaves the figures")),
            ("no", _("reject: the rating stands")),
        ],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("review note"), widget=forms.Textarea, max_length=2000)


@admin.register(RatingAppeal)
class RatingAppealAdmin(StepAdminMixin, ServiceAddAdminMixin, HallScopedAdmin):
    list_display = ["appealed_at", "rating", "state", "appealed_by", "reviewed_by", "reviewed_at"]
    list_filter = ["state"]
    list_select_related = ["rating__appointment", "appealed_by", "reviewed_by"]
    search_fields = ["rating__appointment__reference"]
    raw_id_fields = ["rating"]
    add_form = AppealFileForm
    step_tables = (ratings.APPEAL_STEPS,)
    step_template = "admin/evaluation/step.html"
    step_refused_text = _("“%(step)s” is not possible for this appeal now (%(state)s).")
    detail_fields = [
        "rating",
        "state",
        "reason",
        "appealed_by",
        "appealed_at",
        "reviewed_by",
        "reviewed_at",
        "review_note",
    ]

    def get_fields(self, request, obj=None):
        return AppealFileForm.Meta.fields if obj is None else self.detail_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.detail_fields

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # --- the review (APPEAL_STEPS) ------------------------------------------------------------

    def change_context(self, request, appeal, steps) -> dict:
        if not any(step.name == "review" for step in steps):
            return {}
        return {"review_url": reverse("admin:evaluation_ratingappeal_review", args=[appeal.pk])}

    def step_urls(self):
        return [
            path(
                "<path:object_id>/review/",
                self.admin_site.admin_view(self.review_view),
                name="evaluation_ratingappeal_review",
            )
        ]

    def review_view(self, request, object_id):
        return self.step_view(request, object_id, "review")

    def step_context(self, request, appeal, transition):
        rating = appeal.rating
        return {
            "title": _("Review the appeal"),
            "submit_label": _("Decide"),
            "facts": [
                (_("booking"), rating.appointment.reference),
                (_("window"), rating.window),
                (_("overall satisfaction"), rating.get_overall_display()),
                (_("comment"), rating.comment or "—"),
                (_("reason"), appeal.reason),
                (_("appealed by"), staff_name(appeal.appealed_by)),
            ],
        }


# The console pages of self-evaluation, improvement actions and the assessment live in their
# own module (DB1403/T 7.4, 8.1, 8.3).
from . import admin_improvement  # noqa: E402, F401
