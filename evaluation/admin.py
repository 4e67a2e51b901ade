"""好差评 in the staff console (DB1403/T 8.2): ratings are read-only and never deleted (a paper
form is the only thing staff type in); bad-review cases move through their steps by buttons;
appeals are filed by the rated window and decided by a supervisor. Every action calls a service
of ``evaluation.ratings``; its errors are shown next to the field they concern."""

from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appointments.models import Appointment
from complaints.models import ComplaintCategory
from duty.admin import HallScopedAdmin
from duty.calendar import local
from duty.names import staff_name
from duty.scoping import scope_to_user

from . import ratings
from .models import BadReviewCase, BadReviewStep, Rating, RatingAppeal, RatingSource

LEVELS = ["overall", "efficiency", "service_level", "attitude"]
CaseState = BadReviewCase.State


def _show_errors(form: forms.Form, error: ValidationError, fields=None) -> None:
    for field, errors in error.message_dict.items():
        target = (fields or {}).get(field, field)
        form.add_error(target if target in form.fields else None, errors)


# --- ratings ------------------------------------------------------------------------------------


class PaperRatingForm(forms.ModelForm):
    """A paper form typed in by the desk: recorded as source "paper", entered by them."""

    reference = forms.CharField(
        label=_("booking reference"),
        max_length=12,
        help_text=_("The reference of the served booking the paper form is about."),
    )

    class Meta:
        model = Rating
        fields = ["reference", *LEVELS, "comment"]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        reference = data["reference"].strip().upper()
        appointment = (
            scope_to_user(Appointment.objects.all(), self.request_user)
            .select_related("window__hall", "matter")
            .filter(reference=reference)
            .first()
        )
        if appointment is None:
            self.add_error("reference", _("No booking of your hall has this reference."))
            return data
        try:
            self.created = ratings.rating_submit(
                appointment=appointment,
                source=RatingSource.PAPER,
                entered_by=self.request_user,
                now=timezone.now(),
                **{f: data.get(f) for f in [*LEVELS, "comment"]},
            )
        except ValidationError as error:
            _show_errors(self, error, {"appointment": "reference"})
        except PermissionDenied as error:
            self.add_error(None, str(error))
        return data

    def _post_clean(self):
        # The rating is made by the service in clean().
        pass


@admin.register(Rating)
class RatingAdmin(HallScopedAdmin):
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

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = PaperRatingForm
        form = super().get_form(request, obj, change, **kwargs)
        form.request_user = request.user
        return form

    def has_add_permission(self, request):
        # Staff never rate for a citizen; they only type in a paper form the citizen filled in.
        return request.user.has_perm("evaluation.enter_paper_rating")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # 一次一评 and 申诉复核: a rating is marked after an upheld appeal, never deleted.
        return False

    def save_model(self, request, obj, form, change):
        obj.__dict__.update(form.created.__dict__)

    def save_related(self, request, form, formsets, change):
        pass

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


class ContactForm(forms.Form):
    verified = forms.TypedChoiceField(
        label=_("Is the review borne out?"),
        choices=[("yes", _("yes: verified")), ("no", _("no: not borne out"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("what the rater said"), widget=forms.Textarea, max_length=2000)


class RectifyForm(forms.Form):
    rectification = forms.CharField(
        label=_("rectification"), widget=forms.Textarea, max_length=2000
    )


class ReplyForm(forms.Form):
    reply_text = forms.CharField(
        label=_("reply to the rater (sent by SMS)"), widget=forms.Textarea, max_length=300
    )


class CloseForm(forms.Form):
    note = forms.CharField(label=_("note"), widget=forms.Textarea, max_length=2000, required=False)


class ComplaintForm(forms.Form):
    category = forms.ChoiceField(label=_("category"), choices=ComplaintCategory.choices)


@dataclass(frozen=True)
class CaseStep:
    name: str
    label: str
    form: type
    perm: str
    offered: object  # (case) -> bool
    run: object  # (case, data, actor, now) -> object


CASE_STEPS = [
    CaseStep(
        "contact",
        _("Contacted and verified"),
        ContactForm,
        "evaluation.change_badreviewcase",
        lambda c: c.state == CaseState.OPEN,
        lambda c, d, a, n: ratings.bad_review_contact(
            case=c, actor=a, verified=d["verified"], note=d["note"], now=n
        ),
    ),
    CaseStep(
        "rectify",
        _("Rectified"),
        RectifyForm,
        "evaluation.change_badreviewcase",
        lambda c: c.state == CaseState.CONTACTED and c.verified is True,
        lambda c, d, a, n: ratings.bad_review_rectify(
            case=c, actor=a, rectification=d["rectification"], now=n
        ),
    ),
    CaseStep(
        "reply",
        _("Reply to the rater"),
        ReplyForm,
        "evaluation.change_badreviewcase",
        lambda c: (
            c.state == CaseState.RECTIFIED
            or (c.state == CaseState.CONTACTED and c.verified is False)
        ),
        lambda c, d, a, n: ratings.bad_review_reply(
            case=c, actor=a, reply_text=d["reply_text"], now=n
        ),
    ),
    CaseStep(
        "close",
        _("Close the case"),
        CloseForm,
        "evaluation.change_badreviewcase",
        lambda c: c.state == CaseState.REPLIED,
        lambda c, d, a, n: ratings.bad_review_close(case=c, actor=a, note=d["note"], now=n),
    ),
    CaseStep(
        "complaint",
        _("Turn into a complaint"),
        ComplaintForm,
        "complaints.add_complaint",
        lambda c: c.verified is True and c.complaint_id is None,
        lambda c, d, a, n: ratings.bad_review_to_complaint(
            case=c, actor=a, category=d["category"], now=n
        ),
    ),
]
CASE_STEPS_BY_NAME = {step.name: step for step in CASE_STEPS}


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
class BadReviewCaseAdmin(HallScopedAdmin):
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
    dashboard_lookups = ("rating__hall", "rating__window")

    def lookup_allowed(self, lookup, value, request=None):
        return lookup in self.dashboard_lookups or super().lookup_allowed(lookup, value, request)

    list_select_related = ["rating__appointment", "rating__window", "handler", "complaint"]
    search_fields = ["rating__appointment__reference"]
    inlines = [BadReviewStepInline]
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
        return False  # the steps below move it

    def has_delete_permission(self, request, obj=None):
        return False

    def _steps_offered(self, case, user):
        return [s for s in CASE_STEPS if user.has_perm(s.perm) and s.offered(case)]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        case = self.get_object(request, object_id)
        if case is not None:
            extra_context["steps"] = self._steps_offered(case, request.user)
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/step/<str:step>/",
                self.admin_site.admin_view(self.step_view),
                name="evaluation_badreviewcase_step",
            )
        ] + super().get_urls()

    def step_view(self, request, object_id, step):
        spec = CASE_STEPS_BY_NAME.get(step)
        case = self.get_object(request, object_id)  # hall-scoped: None if not visible
        if spec is None or case is None:
            raise Http404
        # The page shows the rater and the review: only to those who may read the case.
        if not self.has_view_permission(request, case) or not request.user.has_perm(spec.perm):
            raise PermissionDenied
        record_url = reverse("admin:evaluation_badreviewcase_change", args=[case.pk])
        if not spec.offered(case):
            messages.error(
                request,
                _("“%(step)s” is not possible for this case now (%(state)s).")
                % {"step": spec.label, "state": case.get_state_display()},
            )
            return HttpResponseRedirect(record_url)
        form = spec.form(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                spec.run(case, form.cleaned_data, request.user, timezone.now())
            except ValidationError as error:
                _show_errors(form, error, {"contact_note": "note", "review_note": "note"})
            except PermissionDenied as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("%(step)s: done.") % {"step": spec.label})
                return HttpResponseRedirect(record_url)
        return TemplateResponse(
            request,
            "admin/evaluation/step.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": case,
                "title": spec.label,
                "subtitle": str(case),
                "form": form,
                "media": self.media + form.media,
                "record_url": record_url,
                "submit_label": spec.label,
                "facts": [
                    (_("booking"), case.rating.appointment.reference),
                    (_("rater (to contact)"), ratings.rater_shown(case=case, user=request.user)),
                    (_("items"), self.levels(case)),
                    (_("comment"), self.comment(case)),
                    (_("contact by"), case.contact_due),
                    (_("rectify by"), case.rectify_due),
                ],
            },
        )


# --- appeals (申诉复核) -------------------------------------------------------------------------


class AppealFileForm(forms.ModelForm):
    class Meta:
        model = RatingAppeal
        fields = ["rating", "reason"]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.created = ratings.rating_appeal_file(
                rating=data["rating"],
                actor=self.request_user,
                reason=data.get("reason"),
                now=timezone.now(),
            )
        except ValidationError as error:
            _show_errors(self, error)
        except PermissionDenied as error:
            self.add_error(None, str(error))
        return data

    def _post_clean(self):
        pass


class AppealReviewForm(forms.Form):
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
class RatingAppealAdmin(HallScopedAdmin):
    list_display = ["appealed_at", "rating", "state", "appealed_by", "reviewed_by", "reviewed_at"]
    list_filter = ["state"]
    list_select_related = ["rating__appointment", "appealed_by", "reviewed_by"]
    search_fields = ["rating__appointment__reference"]
    raw_id_fields = ["rating"]
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

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = AppealFileForm
        form = super().get_form(request, obj, change, **kwargs)
        form.request_user = request.user
        return form

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.__dict__.update(form.created.__dict__)

    def save_related(self, request, form, formsets, change):
        pass

    def _may_review(self, appeal, user) -> bool:
        return (
            appeal.state == RatingAppeal.State.PENDING
            and user.has_perm("evaluation.review_rating_appeal")
            and user.pk != appeal.appealed_by_id
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        appeal = self.get_object(request, object_id)
        if appeal is not None and self._may_review(appeal, request.user):
            extra_context["review_url"] = reverse(
                "admin:evaluation_ratingappeal_review", args=[appeal.pk]
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/review/",
                self.admin_site.admin_view(self.review_view),
                name="evaluation_ratingappeal_review",
            )
        ] + super().get_urls()

    def review_view(self, request, object_id):
        appeal = self.get_object(request, object_id)
        if appeal is None:
            raise Http404
        if not request.user.has_perm("evaluation.review_rating_appeal"):
            raise PermissionDenied
        record_url = reverse("admin:evaluation_ratingappeal_change", args=[appeal.pk])
        form = AppealReviewForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                ratings.rating_appeal_review(
                    appeal=appeal,
                    actor=request.user,
                    upheld=form.cleaned_data["upheld"],
                    note=form.cleaned_data["note"],
                    now=timezone.now(),
                )
            except ValidationError as error:
                _show_errors(form, error, {"review_note": "note"})
            except PermissionDenied as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("The appeal is decided."))
                return HttpResponseRedirect(record_url)
        rating = appeal.rating
        return TemplateResponse(
            request,
            "admin/evaluation/step.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": appeal,
                "title": _("Review the appeal"),
                "subtitle": str(appeal),
                "form": form,
                "media": self.media + form.media,
                "record_url": record_url,
                "submit_label": _("Decide"),
                "facts": [
                    (_("booking"), rating.appointment.reference),
                    (_("window"), rating.window),
                    (_("overall satisfaction"), rating.get_overall_display()),
                    (_("comment"), rating.comment or "—"),
                    (_("reason"), appeal.reason),
                    (_("appealed by"), staff_name(appeal.appealed_by)),
                ],
            },
        )


# The console pages of self-evaluation, improvement actions and the assessment live in their
# own module (DB1403/T 7.4, 8.1, 8.3).
from . import admin_improvement  # noqa: E402, F401
