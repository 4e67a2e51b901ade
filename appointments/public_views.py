"""The citizen site: no account, phones first, works without JavaScript.

Path: home → matter (materials, windows, free slots) → details → SMS code → confirmation.
"My booking": reference + mobile → SMS code → status, calendar file, cancel.
A citizen who proved their number keeps access to that booking in their session for
CITIZEN_SESSION_MINUTES; nobody else sees anything of it.
"""

import datetime as dt
from collections import OrderedDict

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from duty.calendar import representable
from duty.models import Hall, PhoneLinePeriod
from sms.services import verification_code_send
from yuyue.locks import BusyError
from yuyue.ratelimit import client_address, request_rate_limited

from .citizen import (
    BookingNotFound,
    booking_ics,
    citizen_booking_by_code,
    citizen_booking_cancel,
    citizen_booking_create,
)
from .models import Appointment, Matter, Status, booking_qr_text
from .services import OPEN_STATUSES, SlotFullError, citizen_may_cancel
from .slots import windows_days

DAYS_SHOWN = 7
SESSION_REFS = "citizen_refs"
SESSION_DRAFT = "booking_draft"
SESSION_LOOKUP = "lookup_draft"


# --- forms ------------------------------------------------------------------------------------


class DetailsForm(forms.Form):
    applicant_name = forms.CharField(label=gettext_lazy("Name"), max_length=50)
    phone = forms.CharField(
        label=gettext_lazy("Mobile number"),
        max_length=40,
        help_text=gettext_lazy("The code and the confirmation are sent here by SMS."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    content = forms.CharField(
        label=gettext_lazy("What you want to do (optional)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code from the SMS"),
        max_length=10,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]*"}
        ),
    )


class LookupForm(forms.Form):
    reference = forms.CharField(
        label=gettext_lazy("Booking reference"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=gettext_lazy("Mobile number used for the booking"),
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )


def _add_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's errors next to the fields they name; the rest above the form."""
    for field, errors in error.error_dict.items() if hasattr(error, "error_dict") else []:
        for item in errors:
            form.add_error(field if field in form.fields else None, item)
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)


# --- session proof ----------------------------------------------------------------------------


def _remember(request, reference: str) -> None:
    until = timezone.now() + dt.timedelta(minutes=settings.CITIZEN_SESSION_MINUTES)
    refs = request.session.get(SESSION_REFS, {})
    refs[reference] = until.timestamp()
    request.session[SESSION_REFS] = refs


def _proven(request, reference: str) -> Appointment:
    expiry = request.session.get(SESSION_REFS, {}).get(reference)
    if expiry is None or expiry < timezone.now().timestamp():
        raise Http404
    return get_object_or_404(
        Appointment.objects.select_related("matter", "window__hall"), reference=reference
    )


def _code_sent(request, form: forms.Form) -> bool:
    """Send a code to the form's mobile number; on refusal the reason goes next to the field."""
    if request_rate_limited(request, scope="verification", limit=settings.RATE_LIMIT_VERIFICATION):
        form.add_error(None, _("Too many requests; try again in a few minutes."))
        return False
    try:
        verification_code_send(
            phone=form.cleaned_data["phone"],
            client_address=client_address(request),
            now=timezone.now(),
        )
    except ValidationError as error:
        _add_errors(form, error)
        return False
    return True


# --- pages ------------------------------------------------------------------------------------


def home(request):
    """What 预约+无休 is (DB1403/T 3, 4, 6.2.6), the phone line, and the matters to book."""
    halls = list(
        Hall.objects.prefetch_related(
            Prefetch("phone_line_periods", queryset=PhoneLinePeriod.objects.order_by("start"))
        )
    )
    query = request.GET.get("q", "").strip()[:50]
    matters = (
        Matter.objects.filter(is_active=True, windows__is_active=True)
        .distinct()
        .select_related("hall")
        .prefetch_related("departments")
        .order_by("name")
    )
    if query:
        matters = matters.filter(Q(name__icontains=query) | Q(departments__name__icontains=query))
    by_hall: OrderedDict = OrderedDict((hall, OrderedDict()) for hall in halls)
    for matter in matters:
        departments = by_hall.setdefault(matter.hall, OrderedDict())
        for department in matter.departments.all()[:1]:
            departments.setdefault(department.name, []).append(matter)
    return render(
        request,
        "public/home.html",
        {"halls": by_hall, "query": query, "found": any(d for d in by_hall.values())},
    )


def _date_param(request, name: str) -> dt.date | None:
    try:
        return parse_date(request.GET.get(name, "")[:10])
    except ValueError:  # e.g. 2026-02-30
        return None


def _days_with_slots(windows, start_day, end_day, not_before) -> OrderedDict:
    """Per day: its kind (a provisional holiday says so), free places, its slots grouped by
    window, and, when off-hours slots still wait for someone on the roster (DB1403/T 5.2), the
    day they open by at the latest: the hall's rosters are complete ROSTER_CHECK_DAYS ahead."""
    names = {w.pk: w for w in windows}
    today = timezone.localdate()
    days: OrderedDict = OrderedDict()
    for day, offer in windows_days(
        windows=windows, start_date=start_day, end_date=end_day, not_before=not_before
    ).items():
        opens_by = day - dt.timedelta(days=settings.ROSTER_CHECK_DAYS)
        days[day] = info = {
            "free": 0,
            "windows": OrderedDict(),
            "day_type": offer.info.day_type,
            "holiday_name": offer.info.holiday_name,
            "provisional": offer.info.provisional,
            "off_hours_waiting": offer.off_hours_waiting,
            "opens_by": opens_by if opens_by > today else None,
        }
        for available in offer.available:
            slot = available.slot
            info["free"] += available.remaining
            info["windows"].setdefault(names[slot.window_id], []).append(
                {
                    "start": slot.start,
                    "end": slot.end,
                    "remaining": available.remaining,
                    "kind": slot.time_kind,
                }
            )
    return days


def matter_detail(request, matter_id: int):
    """The one-time notice (DB1403/T 6.1.3), the windows, and free slots from 24 h ahead
    (DB1403/T 5.1.1), a week at a time, one day shown."""
    matter = get_object_or_404(
        Matter.objects.select_related("hall").prefetch_related("departments"),
        pk=matter_id,
        is_active=True,
    )
    windows = list(matter.windows.filter(is_active=True).order_by("number"))
    now = timezone.now()
    first_bookable = now + dt.timedelta(hours=settings.BOOKING_MIN_LEAD_HOURS)
    first_day = timezone.localdate(first_bookable)
    last_day = timezone.localdate(now) + dt.timedelta(days=settings.BOOKING_HORIZON_DAYS)
    start_day = _date_param(request, "from") or first_day
    start_day = min(max(start_day, first_day), last_day)
    end_day = min(start_day + dt.timedelta(days=DAYS_SHOWN - 1), last_day)
    days = _days_with_slots(windows, start_day, end_day, first_bookable)
    chosen = _date_param(request, "day")
    if chosen not in days:
        chosen = next((d for d, info in days.items() if info["free"]), start_day)
    previous_day = max(start_day - dt.timedelta(days=DAYS_SHOWN), first_day)
    return render(
        request,
        "public/matter.html",
        {
            "matter": matter,
            "windows": windows,
            "days": days,
            "chosen": chosen,
            "chosen_info": days[chosen],
            "start_day": start_day,
            "previous_day": previous_day if start_day > first_day else None,
            "next_day": end_day + dt.timedelta(days=1) if end_day < last_day else None,
            "lead_hours": settings.BOOKING_MIN_LEAD_HOURS,
        },
    )


def _chosen_slot(matter: Matter, window_id, start_text):
    window = (
        matter.windows.filter(pk=window_id, is_active=True).select_related("hall").first()
        if str(window_id).isdigit()
        else None
    )
    try:
        start = parse_datetime(start_text or "") if isinstance(start_text, str) else None
    except ValueError:
        start = None
    if window is None or start is None or timezone.is_naive(start) or not representable(start):
        return None, None
    return window, start


def book(request, matter_id: int):
    """Step 2: who is coming; sends the SMS code to prove the mobile number."""
    matter = get_object_or_404(Matter, pk=matter_id, is_active=True)
    window, start = _chosen_slot(
        matter,
        request.GET.get("window") or request.POST.get("window"),
        request.GET.get("start") or request.POST.get("start"),
    )
    if window is None:
        messages.error(request, _("Choose a time first."))
        return redirect("public:matter", matter_id=matter.pk)
    form = DetailsForm(request.POST or None, initial=request.session.get(SESSION_DRAFT))
    if request.method == "POST" and form.is_valid() and _code_sent(request, form):
        request.session[SESSION_DRAFT] = {
            **form.cleaned_data,
            "matter": matter.pk,
            "window": window.pk,
            "start": start.isoformat(),
        }
        return redirect("public:book_verify")
    return render(
        request,
        "public/book.html",
        {"matter": matter, "window": window, "start": start, "form": form},
    )


def book_verify(request):
    """Step 3: the SMS code; the booking is made when it is right."""
    draft = request.session.get(SESSION_DRAFT)
    if not draft or "matter" not in draft:
        return redirect("public:home")
    matter = get_object_or_404(Matter, pk=draft["matter"], is_active=True)
    window, start = _chosen_slot(matter, draft["window"], draft["start"])
    if window is None:
        return redirect("public:matter", matter_id=matter.pk)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if request_rate_limited(request, scope="booking", limit=settings.RATE_LIMIT_BOOKING):
            form.add_error(None, _("Too many requests; try again in a few minutes."))
        else:
            try:
                appointment = citizen_booking_create(
                    matter=matter,
                    window=window,
                    start=start,
                    applicant_name=draft["applicant_name"],
                    phone=draft["phone"],
                    content=draft.get("content", ""),
                    code=form.cleaned_data["code"],
                    now=timezone.now(),
                )
            except SlotFullError:
                messages.error(request, _("That time has just been taken; choose another."))
                return redirect("public:matter", matter_id=matter.pk)
            except BusyError as error:
                # Nothing was booked and the code is still valid: the same form, sent again.
                _add_errors(form, error)
            except ValidationError as error:
                if set(getattr(error, "error_dict", {})) - {"code"}:
                    # Not the code: the details or the time must change.
                    for text in error.messages:
                        messages.error(request, text)
                    return redirect(
                        f"{reverse('public:book', args=[matter.pk])}"
                        f"?window={window.pk}&start={start.isoformat()}".replace("+", "%2B")
                    )
                _add_errors(form, error)
            else:
                del request.session[SESSION_DRAFT]
                _remember(request, appointment.reference)
                return redirect("public:booking", reference=appointment.reference)
    return render(
        request,
        "public/verify.html",
        {
            "matter": matter,
            "window": window,
            "start": start,
            "phone": draft["phone"],
            "form": form,
            "minutes": settings.VERIFICATION_CODE_MINUTES,
            "back": f"{reverse('public:book', args=[matter.pk])}?window={window.pk}"
            f"&start={start.isoformat()}".replace("+", "%2B"),
        },
    )


def _may_cancel(appointment: Appointment, *, now: dt.datetime) -> bool:
    return appointment.status in OPEN_STATUSES and citizen_may_cancel(
        start=appointment.start, now=now
    )


def booking_detail(request, reference: str):
    """The confirmation and "my booking" page (DB1403/T 5.1.3 c: waiting to be confirmed)."""
    appointment = _proven(request, reference)
    now = timezone.now()
    qr = segno.make(booking_qr_text(appointment.reference), error="m")
    return render(
        request,
        "public/booking.html",
        {
            "appointment": appointment,
            "hall": appointment.window.hall,
            "materials": appointment.matter.material_list,
            "qr_svg": qr.svg_inline(omitsize=True, title=_("QR code of the booking reference")),
            "may_cancel": _may_cancel(appointment, now=now),
            "is_open": appointment.status in OPEN_STATUSES,
            "cancel_hours": settings.CITIZEN_CANCEL_MIN_HOURS,
            "waiting": appointment.status == Status.PENDING,
        },
    )


def booking_calendar(request, reference: str):
    """An .ics file for the phone's calendar."""
    appointment = _proven(request, reference)
    response = HttpResponse(
        booking_ics(appointment=appointment, now=timezone.now()),
        content_type="text/calendar; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="booking-{reference}.ics"'
    return response


def booking_cancel(request, reference: str):
    """Cancelling in two steps: GET asks "cancel this booking?" with its facts, POST cancels.

    A page of its own rather than a script's confirm(), so it works without JavaScript and a
    mistaken tap on the red button on the booking page cancels nothing (DB1403/T 5.1.3).
    """
    appointment = _proven(request, reference)
    if request.method != "POST":
        if not _may_cancel(appointment, now=timezone.now()):
            return redirect("public:booking", reference=reference)
        return render(
            request,
            "public/booking_cancel.html",
            {"appointment": appointment, "hall": appointment.window.hall},
        )
    try:
        citizen_booking_cancel(appointment=appointment, now=timezone.now())
    except ValidationError as error:
        for text in error.messages:
            messages.error(request, text)
    else:
        messages.success(request, _("Your booking is cancelled. The time is free for others."))
    return redirect("public:booking", reference=reference)


def lookup(request):
    """ "My booking", step 1: reference and mobile number; a code goes to that number.
    ``?reference=`` (the link in the text message of a booking the desk made) fills it in."""
    form = LookupForm(
        request.POST or None, initial={"reference": request.GET.get("reference", "")[:12]}
    )
    if request.method == "POST" and form.is_valid() and _code_sent(request, form):
        request.session[SESSION_LOOKUP] = {
            "reference": form.cleaned_data["reference"].strip().upper(),
            "phone": form.cleaned_data["phone"],
        }
        return redirect("public:lookup_verify")
    return render(request, "public/lookup.html", {"form": form})


def lookup_verify(request):
    """ "My booking", step 2: the code. Any mismatch gets the same answer."""
    draft = request.session.get(SESSION_LOOKUP)
    if not draft:
        return redirect("public:lookup")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if request_rate_limited(request, scope="lookup", limit=settings.RATE_LIMIT_LOOKUP):
            form.add_error(None, _("Too many requests; try again in a few minutes."))
        else:
            try:
                appointment = citizen_booking_by_code(
                    reference=draft["reference"],
                    phone=draft["phone"],
                    code=form.cleaned_data["code"],
                    now=timezone.now(),
                )
            except BookingNotFound:
                del request.session[SESSION_LOOKUP]
                messages.error(
                    request,
                    _("No booking matches this reference and mobile number. Check both."),
                )
                return redirect("public:lookup")
            except ValidationError as error:
                _add_errors(form, error)
            else:
                del request.session[SESSION_LOOKUP]
                _remember(request, appointment.reference)
                return redirect("public:booking", reference=appointment.reference)
    return render(
        request,
        "public/verify.html",
        {
            "form": form,
            "phone": draft["phone"],
            "minutes": settings.VERIFICATION_CODE_MINUTES,
            "back": reverse("public:lookup"),
        },
    )
