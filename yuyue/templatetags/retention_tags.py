"""The console front page's link to the personal-data page, for administrators only."""

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from ..retention_views import user_sees_retention

register = template.Library()


@register.simple_tag(takes_context=True)
def retention_link(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user_sees_retention(user):
        return ""
    return format_html(
        '<div class="module" id="retention-link"><h2>{}</h2><table style="width:100%"><tr>'
        '<th scope="row"><a href="{}">{}</a></th></tr></table></div>',
        _("Personal data"),
        reverse("retention"),
        _("Personal data over time: what is anonymised next, and when"),
    )
