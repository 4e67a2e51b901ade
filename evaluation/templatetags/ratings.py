"""Rating pieces shown on other apps' pages: the citizen's "rate this service" button on "My
booking", and the QR code on the console's page of a served booking (DB1403/T 8.2)."""

import segno
from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Rating, RatingSource
from ..ratings import rating_link_url, rating_may_be_given, rating_open_until

register = template.Library()


@register.inclusion_tag("public/_rate_button.html")
def rating_button(appointment):
    now = timezone.now()
    return {
        "appointment": appointment,
        "may_rate": rating_may_be_given(appointment=appointment, now=now),
        "rated": Rating.objects.filter(appointment_id=appointment.pk).exists(),
        "days": settings.RATING_LINK_DAYS,
    }


@register.inclusion_tag("admin/evaluation/_rating_qr.html")
def rating_qr(appointment):
    """The signed rating link as a QR code for the applicant to scan at the window (source:
    QR code), while the booking can be rated; once rated, the rating."""
    now = timezone.now()
    rating = Rating.objects.filter(appointment_id=appointment.pk).first()
    if rating is not None or not rating_may_be_given(appointment=appointment, now=now):
        return {"rating": rating}
    url = rating_link_url(appointment=appointment, now=now, source=RatingSource.WINDOW_QR)
    qr = segno.make(url, error="m")
    return {
        "qr_svg": qr.svg_inline(omitsize=True, title=_("QR code to rate the service")),
        "url": url,
        "until": timezone.localtime(rating_open_until(appointment=appointment)),
    }
