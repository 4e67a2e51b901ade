from django import template
from django.utils import timezone

from ..console import desk_summary

register = template.Library()


@register.inclusion_tag("admin/appointments/desk_summary.html", takes_context=True)
def desk_front_page(context):
    """The desk's front page above the admin's list of models (DB1403/T 5.1.3, 6.1.3, 6.2.3)."""
    request = context["request"]
    return {
        "summary": desk_summary(user=request.user, now=timezone.now()),
        "can_register": request.user.has_perm("appointments.register_appointment"),
        "can_check_in": request.user.has_perm("appointments.check_in_appointment"),
    }
