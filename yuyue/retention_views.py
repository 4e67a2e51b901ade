"""The administrators' page of personal data over time (``/admin/retention/``): each kind's
retention period, what the next run of the ``anonymise`` sweep anonymises, what is held by an
open complaint or appeal, and the next records to come due with when (``yuyue.retention``)."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from duty.roles import Role, user_has_role
from duty.scoping import hall_lookup_for, scope_to_user

from .retention import retention_preview


def user_sees_retention(user) -> bool:
    """Administrators (and superusers) answer for the hall's personal data."""
    return user.is_active and (user.is_superuser or user_has_role(user, Role.ADMINISTRATOR))


def record_label(record) -> str:
    """What the page names a record by: its reference or number, never a name or phone."""
    for attribute in ("reference", "tracking_number", "subject_reference"):
        value = getattr(record, attribute, "")
        if value:
            return value
    appointment = getattr(record, "appointment", None)
    return getattr(appointment, "reference", "") or f"#{record.pk}"


def retention_view(request):
    if not user_sees_retention(request.user):
        raise PermissionDenied(_("This page is for administrators."))

    def scope(queryset):
        # Kinds without a hall (verification codes) are the same for every administrator.
        if hall_lookup_for(queryset.model) is None:
            return queryset
        return scope_to_user(queryset, request.user)

    now = timezone.now()
    previews = retention_preview(now=now, scope=scope)
    rows = [
        {
            "label": preview.kind.label,
            "days": preview.days,
            "due_now": preview.due_now,
            "held": preview.held,
            "upcoming": [(record_label(r), when) for r, when in preview.upcoming],
        }
        for preview in previews
    ]
    context = {
        **admin.site.each_context(request),
        "title": _("Personal data over time"),
        "rows": rows,
        "now": now,
    }
    return TemplateResponse(request, "admin/retention.html", context)
