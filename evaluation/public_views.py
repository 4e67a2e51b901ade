"""The citizen's rating pages (DB1403/T 8.2; 国办发〔2019〕51号): phones first, no JavaScript.

The SMS link and the QR code at the window open ``rate`` with a signed token; "My booking"
opens ``rate_booking`` for a booking whose number the citizen proved in this session. Both show
the same form: the five levels for the four items, nothing chosen in advance, and a comment.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appointments.public_views import _proven

from .models import Level, RatingSource
from .ratings import (
    COMMENT_MAX,
    LEVEL_FIELDS,
    rating_link_source,
    rating_may_be_given,
    rating_submit,
    rating_token_check,
)

SESSION_RATED = "rated"
# How a refused link is answered: gone for good, never existed, or fine after all.
LINK_STATUS = {
    "link_invalid": 404,
    "link_unknown": 404,
    "link_expired": 410,
    "not_served": 409,
    "already_rated": 200,
}
NO_DEFAULT = gettext_lazy("Choose one of the five levels: there is no default rating.")


def _level_field(label):
    return forms.TypedChoiceField(
        label=label,
        choices=Level.choices,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": NO_DEFAULT, "invalid_choice": NO_DEFAULT},
    )


class RatingForm(forms.Form):
    overall = _level_field(gettext_lazy("Overall, how satisfied are you?"))
    efficiency = _level_field(gettext_lazy("Efficiency"))
    service_level = _level_field(gettext_lazy("Service level"))
    attitude = _level_field(gettext_lazy("Attitude"))
    comment = forms.CharField(
        label=gettext_lazy("Comment (optional)"),
        max_length=COMMENT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


def _rate(request, appointment, source: str, action: str):
    form = RatingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rating = rating_submit(
                appointment=appointment,
                source=source,
                now=timezone.now(),
                **form.cleaned_data,
            )
        except ValidationError as error:
            for field, errors in error.error_dict.items():
                for item in errors:
                    form.add_error(field if field in form.fields else None, item)
        else:
            request.session[SESSION_RATED] = {"bad": rating.is_bad}
            return redirect("rate:thanks")
    return render(
        request,
        "public/rate.html",
        {
            "appointment": appointment,
            "hall": appointment.window.hall,
            "form": form,
            "level_fields": [form[f] for f in LEVEL_FIELDS],
            "action": action,
            "days": settings.RATING_LINK_DAYS,
        },
    )


def rate(request, token: str):
    """The page an SMS link or the window's QR code opens (DB1403/T 8.2, 一次一评)."""
    try:
        appointment = rating_token_check(token=token, now=timezone.now())
        source = rating_link_source(token=token)
    except ValidationError as error:
        code = error.error_dict["token"][0].code
        return render(
            request,
            "public/rate_refused.html",
            {"message": error.error_dict["token"][0].messages[0], "code": code},
            status=LINK_STATUS.get(code, 400),
        )
    return _rate(request, appointment, source, request.path)


def rate_booking(request, reference: str):
    """ "My booking" → rate this service; the session holds the proof of the number."""
    appointment = _proven(request, reference)
    if not rating_may_be_given(appointment=appointment, now=timezone.now()):
        messages.error(
            request,
            _(
                "This booking cannot be rated: it is not served, already rated, or over %(days)s "
                "days old."
            )
            % {"days": settings.RATING_LINK_DAYS},
        )
        return redirect("public:booking", reference=appointment.reference)
    return _rate(request, appointment, RatingSource.MY_BOOKING, request.path)


def thanks(request):
    rated = request.session.pop(SESSION_RATED, None)
    if rated is None:
        return redirect("public:home")
    return render(
        request,
        "public/rate_thanks.html",
        {"bad": rated.get("bad"), "contact_days": settings.BAD_REVIEW_CONTACT_WORKING_DAYS},
    )
