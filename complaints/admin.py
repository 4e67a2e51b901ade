"""Complaints in the staff console (GB/T 36113, DB1403/T 7.3): hall-scoped; the complainant's
name and phone are masked for everybody without the permission, and every unmasked view is
logged."""

from django import forms
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from duty.admin import HallScopedAdmin
from duty.scoping import user_hall_id

from .models import Complaint, ComplaintStep, IdentityView
from .services import complainant_shown, complaint_register, complaint_register_clean

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


class ComplaintRegisterForm(forms.ModelForm):
    """The add form: checked and saved by ``complaint_register``."""

    class Meta:
        model = Complaint
        fields = REGISTER_FIELDS

    def clean(self):
        data = super().clean()
        hall_id = user_hall_id(self.request_user)
        try:
            complaint_register_clean(
                hall_id=hall_id,
                **{
                    f: data.get(f)
                    for f in REGISTER_FIELDS
                    if f not in ("identity_withheld", "is_complex")
                },
            )
        except ValidationError as error:
            for field, errors in error.error_dict.items():
                for e in errors:
                    if field in self.fields and field not in self._errors:
                        self.add_error(field, e)
        return data

    def _post_clean(self):
        # The model is built by the service; its constraints are checked there.
        pass


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


@admin.register(Complaint)
class ComplaintAdmin(HallScopedAdmin):
    list_display = [
        "tracking_number",
        "received_at",
        "channel",
        "category",
        "complainant",
        "window",
        "state",
        "accept_due",
        "reply_due",
    ]
    list_filter = ["state", "channel", "category"]
    list_select_related = ["window"]
    date_hierarchy = "received_at"
    inlines = [ComplaintStepInline]
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
        "appointment",
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

    def get_search_fields(self, request):
        # Without the permission, a search by name or phone would reveal who complained.
        if request.user.has_perm(IDENTITY_PERM):
            return ["tracking_number", "complainant_name", "complainant_phone"]
        return ["tracking_number"]

    @admin.display(description=_("complainant"))
    def complainant(self, obj):
        """Masked: the per-request column below replaces it for those who may see more."""
        shown = complainant_shown(obj, AnonymousUser())
        return " ".join(part for part in (shown["name"], shown["phone"]) if part)

    def _complainant(self, request):
        """A column for this request: masked unless the user may see it; logged when not."""

        @admin.display(description=_("complainant"))
        def complainant(obj):
            shown = complainant_shown(obj, request.user, where="admin", now=timezone.now())
            return " ".join(part for part in (shown["name"], shown["phone"]) if part)

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

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ComplaintRegisterForm
        form = super().get_form(request, obj, change, **kwargs)
        form.request_user = request.user
        return form

    def has_change_permission(self, request, obj=None):
        # The steps are taken through the services (the console), not by editing fields.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        created = complaint_register(
            actor=request.user, now=timezone.now(), **{f: data.get(f) for f in REGISTER_FIELDS}
        )
        obj.__dict__.update(created.__dict__)

    def save_related(self, request, form, formsets, change):
        pass


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
