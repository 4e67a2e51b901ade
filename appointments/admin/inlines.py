"""A booking's read-only records on its page: its history, contacts, parallel tasks, changes,
no-show follow-ups and the messages sent about it."""

import datetime as dt

from django.contrib import admin
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from duty.admin import ScopedTabularInline
from duty.calendar import local
from sms.models import Message
from yuyue.stored_texts import shown_text

from ..models import (
    Appointment,
    AppointmentEvent,
    ChangeRequest,
    Channel,
    ContactLog,
    NoShowFollowUp,
    ParallelTask,
    Status,
)
from ._common import _name_column


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
    value = shown_text(value)  # a stored text (a cancellation reason) in the reader's language
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
        shown_text(message.error) or "-",
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
