"""Complaints on the citizen site (GB/T 36113 投诉渠道, DB1403/T 7.3): no account, phones first,
no JavaScript needed — like the booking pages.

File: details → SMS code → the tracking number. Follow: tracking number + mobile → SMS code →
the state, the date of each step, the reply. A citizen who proved their number keeps access to
that complaint in their session for CITIZEN_SESSION_MINUTES; nobody else sees anything of it.
"""

import datetime as dt

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appointments.public_views import CodeForm, _add_errors, _code_sent
from duty.models import Hall, Window
from yuyue.ratelimit import request_rate_limited

from .citizen import (
    ComplaintNotFound,
    citizen_complaint_by_code,
    citizen_complaint_create,
    complaint_progress,
)
from .models import Complaint, ComplaintCategory
from .services import TEXT_MAX

SESSION_DRAFT = "complaint_draft"
SESSION_LOOKUP = "complaint_lookup"
SESSION_REFS = "complaint_refs"


class WindowChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.hall.name} · {obj}" if self.several_halls else str(obj)


class ComplaintForm(forms.Form):
    hall = forms.ModelChoiceField(
        label=gettext_lazy("Hall"),
        queryset=Hall.objects.none(),
        empty_label=gettext_lazy("Choose…"),
    )
    # No category is chosen for the citizen: the blank first entry makes them pick one.
    category = forms.ChoiceField(
        label=gettext_lazy("What is the complaint about?"),
        choices=[("", gettext_lazy("Choose…")), *ComplaintCategory.choices],
    )
    text = forms.CharField(
        label=gettext_lazy("What happened"),
        max_length=TEXT_MAX,
        help_text=gettext_lazy("When, where, who, and what you would like the hall to do."),
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    window = WindowChoiceField(
        label=gettext_lazy("Window (if you know it)"),
        queryset=Window.objects.none(),
        required=False,
        empty_label=gettext_lazy("I don't know"),
    )
    booking_reference = forms.CharField(
        label=gettext_lazy("Booking reference (optional)"),
        max_length=12,
        required=False,
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off"}),
    )
    complainant_name = forms.CharField(label=gettext_lazy("Your name"), max_length=50)
    phone = forms.CharField(
        label=gettext_lazy("Mobile number"),
        max_length=40,
        help_text=gettext_lazy("A code goes to this number now; the reply comes to it later."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    identity_withheld = forms.BooleanField(
        label=gettext_lazy("Keep my name and number from the staff I complain about"),
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        halls = Hall.objects.order_by("pk")
        self.fields["hall"].queryset = halls
        several = halls.count() > 1
        if not several:
            del self.fields["hall"]  # one hall: nothing to choose
        window = self.fields["window"]
        window.queryset = (
            Window.objects.filter(is_active=True)
            .select_related("hall")
            .order_by("hall_id", "number")
        )
        window.several_halls = several

    def clean(self):
        data = super().clean()
        if "hall" not in self.fields:
            data["hall"] = Hall.objects.order_by("pk").first()
            if data["hall"] is None:
                raise ValidationError(_("Choose the hall."))
        hall, window = data.get("hall"), data.get("window")
        if hall is not None and window is not None and window.hall_id != hall.pk:
            self.add_error("window", _("Choose one of this hall's windows."))
        for field in ("text", "complainant_name"):
            if field in data and not data[field].strip():
                self.add_error(field, _("This field cannot be empty."))
        return data

    def draft(self) -> dict:
        data = self.cleaned_data
        return {
            "hall": data["hall"].pk,
            "category": data["category"],
            "text": data["text"],
            "window": data["window"].pk if data.get("window") else None,
            "booking_reference": data.get("booking_reference", ""),
            "complainant_name": data["complainant_name"],
            "phone": data["phone"],
            "identity_withheld": bool(data.get("identity_withheld")),
        }


class ProgressForm(forms.Form):
    tracking_number = forms.CharField(
        label=gettext_lazy("Tracking number"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=gettext_lazy("Mobile number used for the complaint"),
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )


# --- session proof ----------------------------------------------------------------------------


def _remember(request, tracking_number: str) -> None:
    until = timezone.now() + dt.timedelta(minutes=settings.CITIZEN_SESSION_MINUTES)
    refs = request.session.get(SESSION_REFS, {})
    refs[tracking_number] = until.timestamp()
    request.session[SESSION_REFS] = refs


def _proven(request, tracking_number: str) -> Complaint:
    expiry = request.session.get(SESSION_REFS, {}).get(tracking_number)
    if expiry is None or expiry < timezone.now().timestamp():
        raise Http404
    return get_object_or_404(
        Complaint.objects.select_related("hall"), tracking_number=tracking_number
    )


def _too_many(request, form, scope: str, limit) -> bool:
    if request_rate_limited(request, scope=scope, limit=limit):
        form.add_error(None, _("Too many requests; try again in a few minutes."))
        return True
    return False


# --- pages ------------------------------------------------------------------------------------


def complaint_new(request):
    """GB/T 36113 投诉渠道, DB1403/T 7.3: step 1, the complaint; a code goes to the mobile."""
    form = ComplaintForm(request.POST or None, initial=request.session.get(SESSION_DRAFT))
    if request.method == "POST" and form.is_valid() and _code_sent(request, form):
        request.session[SESSION_DRAFT] = form.draft()
        return redirect("complaints_public:verify")
    return render(request, "public/complaint_form.html", {"form": form})


def complaint_verify(request):
    """Step 2: the SMS code; the complaint is filed when it is right."""
    draft = request.session.get(SESSION_DRAFT)
    if not draft or "hall" not in draft:
        return redirect("complaints_public:new")
    form = CodeForm(request.POST or None)
    if (
        request.method == "POST"
        and form.is_valid()
        and not _too_many(request, form, "complaint", settings.RATE_LIMIT_COMPLAINT)
    ):
        try:
            complaint = citizen_complaint_create(
                hall_id=draft["hall"],
                category=draft["category"],
                text=draft["text"],
                complainant_name=draft["complainant_name"],
                phone=draft["phone"],
                code=form.cleaned_data["code"],
                window_id=draft.get("window"),
                booking_reference=draft.get("booking_reference", ""),
                identity_withheld=draft.get("identity_withheld", False),
                now=timezone.now(),
            )
        except ValidationError as error:
            if set(getattr(error, "error_dict", {})) - {"code"}:
                # Not the code: a detail must change; the code stays usable.
                for text in error.messages:
                    messages.error(request, text)
                return redirect("complaints_public:new")
            _add_errors(form, error)
        else:
            del request.session[SESSION_DRAFT]
            _remember(request, complaint.tracking_number)
            messages.success(
                request,
                _("Your complaint has been received. Keep the tracking number to follow it."),
            )
            return redirect("complaints_public:detail", tracking_number=complaint.tracking_number)
    return render(
        request,
        "public/complaint_verify.html",
        {
            "form": form,
            "phone": draft["phone"],
            "minutes": settings.VERIFICATION_CODE_MINUTES,
            "back": reverse("complaints_public:new"),
            "submit": _("File the complaint"),
        },
    )


def complaint_lookup(request):
    """Follow a complaint, step 1: tracking number and mobile; a code goes to that number."""
    form = ProgressForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and _code_sent(request, form):
        request.session[SESSION_LOOKUP] = {
            "tracking_number": form.cleaned_data["tracking_number"].strip().upper(),
            "phone": form.cleaned_data["phone"],
        }
        return redirect("complaints_public:lookup_verify")
    return render(request, "public/complaint_lookup.html", {"form": form})


def complaint_lookup_verify(request):
    """Follow a complaint, step 2: the code. Any mismatch gets the same answer."""
    draft = request.session.get(SESSION_LOOKUP)
    if not draft:
        return redirect("complaints_public:lookup")
    form = CodeForm(request.POST or None)
    if (
        request.method == "POST"
        and form.is_valid()
        and not _too_many(request, form, "complaint_lookup", settings.RATE_LIMIT_LOOKUP)
    ):
        try:
            complaint = citizen_complaint_by_code(
                tracking_number=draft["tracking_number"],
                phone=draft["phone"],
                code=form.cleaned_data["code"],
                now=timezone.now(),
            )
        except ComplaintNotFound:
            del request.session[SESSION_LOOKUP]
            messages.error(
                request,
                _("No complaint matches this tracking number and mobile number. Check both."),
            )
            return redirect("complaints_public:lookup")
        except ValidationError as error:
            _add_errors(form, error)
        else:
            del request.session[SESSION_LOOKUP]
            _remember(request, complaint.tracking_number)
            return redirect("complaints_public:detail", tracking_number=complaint.tracking_number)
    return render(
        request,
        "public/complaint_verify.html",
        {
            "form": form,
            "phone": draft["phone"],
            "minutes": settings.VERIFICATION_CODE_MINUTES,
            "back": reverse("complaints_public:lookup"),
            "submit": _("Show the progress"),
        },
    )


def complaint_detail(request, tracking_number: str):
    """GB/T 36113, DB1403/T 7.3: the progress of a complaint, for the citizen who proved the
    mobile number it was filed with."""
    complaint = _proven(request, tracking_number)
    return render(
        request,
        "public/complaint_detail.html",
        {"progress": complaint_progress(complaint=complaint)},
    )
