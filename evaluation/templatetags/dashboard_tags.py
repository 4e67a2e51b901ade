"""Small filters for the dashboard and the public 好评率 page."""

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


@register.filter
def percent(value):
    """0.5 → "50.0%"; None (nothing to divide by) → "–", which is not 0 %."""
    if value is None:
        return "–"
    return f"{value * 100:.1f}%"


@register.filter
def minutes(value):
    """125 → "2 h 5 min"."""
    if value is None:
        return "–"
    hours, rest = divmod(int(value), 60)
    if not hours:
        return _("%(m)s min") % {"m": rest}
    return _("%(h)s h %(m)s min") % {"h": hours, "m": rest}


@register.inclusion_tag("evaluation/_console_link.html", takes_context=True)
def dashboard_link(context):
    """On the console's front page, for the users who may see the dashboard."""
    from ..dashboard_views import user_may_see_dashboard

    request = context.get("request")
    return {"show": request is not None and user_may_see_dashboard(request.user)}
