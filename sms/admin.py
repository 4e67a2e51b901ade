import datetime as dt

from django.apps import apps
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from yuyue.stored_texts import shown_text

from .billing import message_counts
from .models import Alert, Message, MessageTemplate
from .registry import message_purposes
from .templates import default_text, placeholders


class ReadOnlyMixin:
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MessageAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """The SMS log, read-only: what went to whom about what, and whether it went.

    Not registered here: which staff see which messages is a matter of halls, which ``sms``
    does not know. ``appointments.admin`` registers it with its hall scoping and booking filter.
    """

    list_display = [
        "created_at",
        "purpose",
        "phone",
        "subject_reference",
        "status",
        "attempts",
        "sent_at",
        "delivered_at",
        "error_code",
        "segments",
        "error_shown",
    ]
    list_filter = ["status", "purpose", "backend"]
    search_fields = ["subject_reference"]
    date_hierarchy = "created_at"
    # The record page: every column; the error in the reader's language, what the message is
    # about by its kind's name, and the machine values (the dedupe key, the template's
    # placeholders, as in the wording) marked as not to be translated.
    fields = [
        {
            "error": "error_shown",
            "dedupe_key": "dedupe_key_shown",
            "subject_type": "subject_type_shown",
            "context": "context_shown",
        }.get(f.name, f.name)
        for f in Message._meta.fields
        if f.name != "id"
    ]
    readonly_fields = fields

    @admin.display(description=_("error"), ordering="error")
    def error_shown(self, obj):
        # Why a message was not sent is stored as a msgid (yuyue.stored_texts).
        return shown_text(obj.error) or "-"

    @admin.display(description=_("dedupe key"))
    def dedupe_key_shown(self, obj):
        return _untranslatable(obj.dedupe_key)

    @admin.display(description=Message._meta.get_field("subject_type").verbose_name)
    def subject_type_shown(self, obj):
        try:
            return apps.get_model(obj.subject_type)._meta.verbose_name
        except (LookupError, ValueError):
            return obj.subject_type or "-"

    @admin.display(description=Message._meta.get_field("context").verbose_name)
    def context_shown(self, obj):
        lines = [f"{{{name}}} = {value}" for name, value in sorted(obj.context.items())]
        return _untranslatable("\n".join(lines))


def _untranslatable(value: str):
    """A machine value (a key, a placeholder, a link): shown as code, marked translate="no"."""
    if not value:
        return "-"
    return format_html('<code translate="no" style="white-space: pre-wrap">{}</code>', value)


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """Each staff member's own alerts, unread first; marking them read is the only change."""

    # The text names the booking, complaint or duty the alert is about.
    list_display = ["created_at", "kind", "text", "read_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter)]
    actions = ["mark_read"]
    fields = ["kind", "text", "about", "created_at", "read_at"]
    readonly_fields = fields

    @admin.display(description=_("concerning"))
    def about(self, obj):
        return str(obj.subject) if obj.subject is not None else "-"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(recipient=request.user)
            .order_by(F("read_at").desc(nulls_first=True), "-created_at")
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_mark_read_permission(self, request):
        # Marking one's own alerts read is not a change of the hall's data: supervisors, who
        # only read, may do it too.
        return self.has_view_permission(request)

    @admin.action(description=_("Mark as read"), permissions=["mark_read"])
    def mark_read(self, request, queryset):
        count = queryset.filter(read_at__isnull=True).update(read_at=timezone.now())
        self.message_user(
            request,
            ngettext("%(count)d alert marked read.", "%(count)d alerts marked read.", count)
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    """Administrators word the messages; placeholders are checked when a template is saved.
    Beside the wording, the template each SMS provider approved for the purpose, with the
    parameters it is sent (README: registering the templates). The usage page counts the
    messages and the parts billed per month."""

    list_display = [
        "purpose",
        "text",
        "aliyun_template_code",
        "tencent_template_id",
        "updated_at",
        "updated_by",
    ]
    fields = [
        "purpose",
        "text",
        "placeholders",
        "default_text",
        "aliyun_template_code",
        "tencent_template_id",
        "provider_parameters",
    ]
    readonly_fields = ["placeholders", "default_text", "provider_parameters"]
    change_list_template = "admin/sms/messagetemplate/change_list.html"

    @admin.display(description=_("parameters sent to the provider"))
    def provider_parameters(self, obj):
        purpose = getattr(obj, "purpose", None)
        if not purpose:
            return _("Choose the purpose and save to see them.")
        names = message_purposes.templates[purpose].provider_params
        aliyun = ", ".join(f"${{{name}}}" for name in names)
        tencent = ", ".join(f"{{{index}}} = {name}" for index, name in enumerate(names, 1))
        return _("Alibaba Cloud: %(aliyun)s. Tencent Cloud: %(tencent)s.") % {
            "aliyun": aliyun,
            "tencent": tencent,
        }

    def get_urls(self):
        return [
            path(
                "usage/",
                self.admin_site.admin_view(self.usage_view),
                name="sms_messagetemplate_usage",
            ),
            *super().get_urls(),
        ]

    def usage_view(self, request):
        """What the hall's SMS cost: messages and billed parts per month and purpose, the last
        twelve months (sms.billing)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        now = timezone.now()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Text messages sent and parts billed"),
            "rows": message_counts(since=now - dt.timedelta(days=366), until=now),
        }
        return TemplateResponse(request, "admin/sms/usage.html", context)

    @admin.display(description=_("placeholders you may use"))
    def placeholders(self, obj):
        purpose = getattr(obj, "purpose", None)
        if not purpose:
            return _("Choose the purpose and save to see them.")
        return ", ".join(f"{{{p}}}" for p in sorted(placeholders(purpose)))

    @admin.display(description=_("default text"))
    def default_text(self, obj):
        purpose = getattr(obj, "purpose", None)
        return default_text(purpose) if purpose else "-"

    def save_model(self, request, obj, form, change):
        obj.updated_at, obj.updated_by = timezone.now(), request.user
        super().save_model(request, obj, form, change)
