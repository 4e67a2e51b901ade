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
    """On the console's front page: the dashboard and the report pages that live outside the
    model lists (assessment, self-evaluation, complaint figures and ledger), each only for the
    users who may open it."""
    from complaints.models import Complaint
    from duty.models import Window
    from duty.scoping import scope_to_user

    from ..reporting.assessment_page import user_sees_assessment
    from ..reporting.dashboard_views import user_may_see_dashboard
    from ..selfeval import user_keeps_self_evaluation

    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"show": False}
    may_fill = any(
        user_keeps_self_evaluation(user, window)
        for window in scope_to_user(Window.objects.select_related("hall"), user)
    )
    links = {
        "dashboard": user_may_see_dashboard(user),
        "assessment": user_sees_assessment(user),
        "fill": may_fill,
        "complaints": user.has_perm("complaints.view_complaint"),
    }
    return {
        "show": any(links.values()),
        "links": links,
        "complaints_label": Complaint._meta.verbose_name_plural,
    }


@register.filter
def linked(text, url):
    """``text`` as a link to ``url`` (a console list), or as it is when there is no link."""
    from django.utils.html import format_html

    return format_html('<a href="{}">{}</a>', url, text) if url else text
