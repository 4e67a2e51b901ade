"""The supervisors' dashboard page (DB1403/T 7.1–7.4, 8.1–8.3); the public 好评率 page (8.2)
is ``public_ratings``.

The dashboard is a staff page beside the console, not an admin list: supervisors and
administrators see their hall (the city hall's supervisors every hall); a window head sees only
the windows they head. Every number links to the console list of the records behind it. Bad
filters (an unknown window, a window or department of another hall, a reversed period, a
malformed date) give the page back with the errors and status 400, never a server error.
"""

import datetime as dt

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appointments.models import Channel, Status
from complaints.models import AWAITING_ACCEPTANCE, AWAITING_REPLY
from duty.models import Department, StaffProfile, Window
from duty.roles import Role
from duty.scoping import user_hall_id, visible_halls

from .city import city_dashboard_figures
from .dashboard import dashboard_figures
from .periods import MAX_PERIOD_DAYS, period_clean

DEFAULT_DAYS = 30
NOT_CANCELLED = ",".join(s for s in Status.values if s != Status.CANCELLED)
ALLOWED_ROLES = {Role.SUPERVISOR, Role.ADMINISTRATOR}


# --- who may look -------------------------------------------------------------------------------


def dashboard_access(user) -> tuple[bool, list[int] | None]:
    """(may see the dashboard, the window ids a window head is limited to — None: no limit)."""
    if not user.is_active or not user.is_staff:
        return False, None
    if user.is_superuser:
        return True, None
    roles = set(user.groups.values_list("name", flat=True))
    if roles & {r.value for r in ALLOWED_ROLES}:
        return True, None
    if Role.WINDOW_HEAD.value in roles:
        own = list(Window.objects.filter(head=user).values_list("pk", flat=True))
        return bool(own), own
    return False, None


def user_may_see_dashboard(user) -> bool:
    return user.is_authenticated and dashboard_access(user)[0]


# --- the filter form ----------------------------------------------------------------------------


class _ObjectChoiceField(forms.ChoiceField):
    """A choice among objects fetched once: they fill the <select> and validate the input
    without another query each."""

    def __init__(self, *, objects=(), empty_label=None, **kwargs):
        super().__init__(**kwargs)
        self.set_objects(objects, empty_label)

    def set_objects(self, objects, empty_label=None):
        self.objects = {str(o.pk): o for o in objects}
        choices = [(key, str(o)) for key, o in self.objects.items()]
        self.choices = ([("", empty_label)] if empty_label is not None else []) + choices

    def clean(self, value):
        value = super().clean(value)
        return self.objects.get(value) if value else None


class AllHalls:
    """The filter's "all halls" choice: every hall the user sees, together (the city-wide
    view)."""

    pk = "all"

    def __init__(self, halls):
        self.halls = list(halls)

    def __str__(self):
        return _("all halls")


def is_all_halls(hall) -> bool:
    return isinstance(hall, AllHalls)


class DashboardFilter(forms.Form):
    start = forms.DateField(
        label=gettext_lazy("from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(label=gettext_lazy("to"), widget=forms.DateInput(attrs={"type": "date"}))
    hall = _ObjectChoiceField(
        label=gettext_lazy("hall"),
        error_messages={"invalid_choice": gettext_lazy("You may not see this hall.")},
    )
    department = _ObjectChoiceField(
        required=False,
        label=gettext_lazy("department"),
        error_messages={"invalid_choice": gettext_lazy("No such department in the halls you see.")},
    )
    window = _ObjectChoiceField(
        required=False,
        label=gettext_lazy("window"),
        error_messages={"invalid_choice": gettext_lazy("No such window among those you may see.")},
    )

    def __init__(self, data, *, halls, departments, windows, limited):
        super().__init__(data)
        self.limited = limited
        # A user who sees more than one hall (a city supervisor) may see them all together.
        many = len(halls) > 1 and not limited
        self.fields["hall"].set_objects([AllHalls(halls), *halls] if many else halls)
        self.fields["department"].set_objects(departments, _("all departments"))
        if limited:
            self.fields["window"].required = True
            self.fields["window"].set_objects(windows)
        else:
            self.fields["window"].set_objects(windows, _("all windows"))

    def clean(self):
        data = super().clean()
        start, end, hall = data.get("start"), data.get("end"), data.get("hall")
        if start and end:
            try:
                period_clean(start, end)
            except ValidationError as error:
                self.add_error("end", error)
        department, window = data.get("department"), data.get("window")
        if is_all_halls(hall) and (department or window):
            self.add_error(
                "hall",
                ValidationError(
                    _("Pick one hall to see a department or a window."), code="all_halls"
                ),
            )
            return data
        if hall and department and department.hall_id != hall.pk:
            self.add_error(
                "department",
                ValidationError(_("This department belongs to another hall."), code="other_hall"),
            )
        if hall and window and window.hall_id != hall.pk:
            self.add_error(
                "window",
                ValidationError(_("This window belongs to another hall."), code="other_hall"),
            )
        return data


def _choices(user, limited):
    """The halls, departments and windows the user may pick: three queries."""
    halls = list(visible_halls(user))
    hall_ids = [h.pk for h in halls]
    departments = Department.objects.filter(hall_id__in=hall_ids).order_by("hall", "name")
    windows = Window.objects.filter(hall_id__in=hall_ids).order_by("hall", "number")
    if limited is not None:
        windows = windows.filter(pk__in=limited)
        departments = departments.filter(windows__in=limited).distinct()
    return halls, list(departments), list(windows)


# --- links to the records behind each number -----------------------------------------------------


def admin_list_url(name: str, **params) -> str | None:
    """The console list ``admin:<name>_changelist`` filtered by ``params``; None if that list is
    not installed (the number is then shown without a link). A parameter given as None is left
    out; one given as "" is kept (``outcome__exact=""``: no outcome yet)."""
    try:
        url = reverse(f"admin:{name}_changelist")
    except NoReverseMatch:
        return None
    params = {k: v for k, v in params.items() if v is not None}
    return f"{url}?{urlencode(params)}" if params else url


def _links(*, user, hall, start, end, department, window, now):
    """Each number's list, filtered exactly as ``dashboard_figures`` counts (a test opens every
    link and compares the list's count with the number); no link to a list the user may not
    view (a window head sees no complaints)."""

    def listed(name: str, **params) -> str | None:
        app_label, model = name.split("_", 1)
        if not user.has_perm(f"{app_label}.view_{model}"):
            return None
        return admin_list_url(name, **params)

    today = timezone.localdate(now)
    d0, d1 = start.isoformat(), end.isoformat()

    def halls(lookup: str) -> dict:
        """The hall filter of a list: the hall; none for the city-wide view, whose halls are
        those the user sees (``visible_halls``), which is what every console list shows them
        (the lists are scoped by the same rule; most do not accept a ``__in`` of halls)."""
        return {} if is_all_halls(hall) else {lookup: hall.pk}

    booking = {
        "start__date__gte": d0,
        "start__date__lte": d1,
        "window": window.pk if window else None,
        "matter__departments__id__exact": department.pk if department else None,
    }
    if hall is not None:
        booking.update(halls("window__hall"))

    def bookings(**extra):
        return listed("appointments_appointment", **booking, **extra)

    complaint = {**halls("hall"), "window": window.pk if window else None}
    if department:
        complaint["department"] = department.pk
    rating_scope = {**halls("hall"), "window": window.pk if window else None}
    if department:
        rating_scope["department"] = department.pk
    of_department = department.pk if department else None
    follow_up = {
        **halls("appointment__window__hall"),
        "slot_start__date__gte": d0,
        "slot_start__date__lte": d1,
        "appointment__window": window.pk if window else None,
        "appointment__matter__departments": of_department,
    }
    change = {
        **halls("original_window__hall"),
        "original_start__date__gte": d0,
        "original_start__date__lte": d1,
        "original_window": window.pk if window else None,
        "appointment__matter__departments": of_department,
    }
    duty = {
        **halls("duty__window__hall"),
        "duty__start__date__gte": d0,
        "duty__start__date__lte": d1,
        "duty__window__id__exact": window.pk if window else None,
        "duty__window__departments": of_department,
        "on_leave__isnull": "1",  # people on leave are neither due nor late
    }
    return {
        "bookings": bookings(),
        "by_channel": {c: bookings(channel__exact=c) for c in Channel.values},
        "by_status": {s: bookings(status__exact=s) for s in Status.values},
        "time_kind": {
            k: bookings(time_kind=k, status__in=NOT_CANCELLED)
            for k in ("off_hours", "weekend", "holiday")
        },
        "online": bookings(channel__exact=Channel.ONLINE, accepted_at__isnull="0"),
        "no_shows": bookings(status__exact=Status.NO_SHOW),
        "served": bookings(status__exact=Status.SERVED),
        "follow_ups": listed("appointments_noshowfollowup", **follow_up),
        "follow_ups_open": listed("appointments_noshowfollowup", outcome__exact="", **follow_up),
        "changes": listed("appointments_changerequest", notice="late", **change),
        "changes_late": listed(
            "appointments_changerequest", notice="late", is_emergency__exact=0, **change
        ),
        "changes_emergency": listed(
            "appointments_changerequest", notice="late", is_emergency__exact=1, **change
        ),
        "assignments": listed(
            "duty_dutyassignment", duty__start__lte=timezone.localtime(now).isoformat(), **duty
        ),
        "late_check_ins": listed("duty_dutyassignment", is_late__exact=1, **duty),
        "complaints_received": listed(
            "complaints_complaint",
            received_at__date__gte=d0,
            received_at__date__lte=d1,
            **complaint,
        ),
        "complaints_open": listed(
            "complaints_complaint",
            state__in=",".join([*AWAITING_ACCEPTANCE, *AWAITING_REPLY]),
            **complaint,
        ),
        "complaints_overdue_accept": listed(
            "complaints_complaint",
            state__in=",".join(AWAITING_ACCEPTANCE),
            accept_due__lt=today.isoformat(),
            **complaint,
        ),
        "complaints_overdue_reply": listed(
            "complaints_complaint",
            state__in=",".join(AWAITING_REPLY),
            reply_due__lt=today.isoformat(),
            **complaint,
        ),
        "ratings": listed(
            "evaluation_rating",
            appointment__start__date__gte=d0,
            appointment__start__date__lte=d1,
            excluded__exact="0",
            **rating_scope,
        ),
        "bad_reviews": listed(
            "evaluation_badreviewcase",
            rectify_due__gte=d0,
            rectify_due__lte=d1,
            rectify_due__lt=today.isoformat(),
            **halls("rating__hall"),
            rating__window=window.pk if window else None,
            rating__department=of_department,
        ),
        "actions_overdue": listed(
            "evaluation_improvementaction",
            state__in="open,in_progress",
            due__lt=today.isoformat(),
            **halls("hall"),
            window=window.pk if window else None,
            window__departments=of_department,
        ),
        "gaps": _gaps_url(hall=hall, start=start, end=end, department=department, window=window),
    }


def _gaps_url(*, hall, start, end, department, window):
    """The dashboard's own list of the unstaffed periods (``dashboard_gaps_view``)."""
    params = {"hall": hall.pk, "start": start.isoformat(), "end": end.isoformat()}
    if department is not None:
        params["department"] = department.pk
    if window is not None:
        params["window"] = window.pk
    return f"{reverse('evaluation_dashboard_gaps')}?{urlencode(params)}"


# --- the page -----------------------------------------------------------------------------------


def _percent(value):
    return None if value is None else round(value * 100, 1)


def _series(figures):
    """The charts' data, for ``json_script``."""
    weekly = figures["period"]["weekly"]
    return {
        "labels": [row["start"].isoformat() for row in figures["trend"]],
        "weekly": weekly,
        "bookings": [row["bookings"] for row in figures["trend"]],
        "no_shows": [row["no_shows"] for row in figures["trend"]],
        "good_rate": [_percent(row["good_rate"]) for row in figures["trend"]],
        "text": {
            "bookings": _("bookings"),
            "no_shows": _("no-shows"),
            "good_rate": _("good-review rate (%)"),
        },
    }


def _load_profile(user) -> None:
    """The staff profile and its hall in one query (scoping reads both)."""
    if user.is_authenticated:
        profile = StaffProfile.objects.select_related("hall").filter(user=user).first()
        if profile is not None:
            user.staff_profile = profile


def _filtered(request, title):
    """The page's filter, read from the query string with the user's defaults: (the base
    context, the valid filter's cleaned data or None, now). Raises PermissionDenied for users
    who may not see the dashboard."""
    _load_profile(request.user)
    allowed, limited = dashboard_access(request.user)
    if not allowed:
        raise PermissionDenied(
            _("The dashboard is for supervisors, administrators and window heads.")
        )
    now = timezone.now()
    today = timezone.localdate(now)
    halls, departments, windows = _choices(request.user, limited)
    if not halls:
        raise PermissionDenied(_("You belong to no hall."))
    data = request.GET.copy()
    data.setdefault("end", today.isoformat())
    data.setdefault("start", (today - dt.timedelta(days=DEFAULT_DAYS - 1)).isoformat())
    own_hall = user_hall_id(request.user)
    data.setdefault("hall", str(own_hall if any(h.pk == own_hall for h in halls) else halls[0].pk))
    if limited and not data.get("window"):
        data["window"] = str(limited[0])
    form = DashboardFilter(
        data, halls=halls, departments=departments, windows=windows, limited=limited
    )
    context = {
        # The console's header without its sidebar of apps (which costs a query per model).
        "site_title": admin.site.site_title,
        "site_header": admin.site.site_header,
        "site_url": admin.site.site_url,
        "has_permission": True,
        "is_popup": False,
        "is_nav_sidebar_enabled": False,
        "available_apps": [],
        "title": title,
        "form": form,
        "max_days": MAX_PERIOD_DAYS,
    }
    return context, (form.cleaned_data if form.is_valid() else None), now


def _figures(chosen, now):
    if is_all_halls(chosen["hall"]):
        return city_dashboard_figures(
            hall_ids=[h.pk for h in chosen["hall"].halls],
            start=chosen["start"],
            end=chosen["end"],
            now=now,
        )
    department, window = chosen.get("department"), chosen.get("window")
    return dashboard_figures(
        hall_id=chosen["hall"].pk,
        start=chosen["start"],
        end=chosen["end"],
        department_id=department.pk if department else None,
        window_id=window.pk if window else None,
        now=now,
    )


def dashboard_view(request):
    """DB1403/T 7.4, 8.2: the supervisors' dashboard."""
    context, chosen, now = _filtered(request, _("Supervision dashboard"))
    if chosen is None:
        return TemplateResponse(request, "evaluation/dashboard.html", context, status=400)
    hall, department, window = chosen["hall"], chosen.get("department"), chosen.get("window")
    start, end = chosen["start"], chosen["end"]
    figures = _figures(chosen, now)
    context.update(
        {
            "hall": hall,
            "all_halls": is_all_halls(hall),
            "department": department,
            "window": window,
            "f": figures,
            "links": _links(
                user=request.user,
                hall=hall,
                start=start,
                end=end,
                department=department,
                window=window,
                now=now,
            ),
            "series": _series(figures),
            "channels": [
                (label, figures["bookings"]["by_channel"][value], value)
                for value, label in Channel.choices
            ],
            "statuses": [
                (label, figures["bookings"]["by_status"][value], value)
                for value, label in Status.choices
            ],
        }
    )
    return TemplateResponse(request, "evaluation/dashboard.html", context)


def dashboard_gaps_view(request):
    """DB1403/T 4, 5.2, 6.2.4: the dashboard's "periods with nobody on duty", listed — the
    same hall, period, department and window as the number, each row linking to its window's
    roster week to fill it."""
    context, chosen, now = _filtered(request, _("Periods with nobody on duty"))
    if chosen is None:
        return TemplateResponse(request, "evaluation/dashboard_gaps.html", context, status=400)
    gaps = _figures(chosen, now)["duty"]["gap_list"]
    try:
        plan = reverse("admin:duty_duty_plan")
    except NoReverseMatch:
        plan = None
    for gap in gaps:
        day = timezone.localtime(gap["start"]).date()
        week = {"span": "week", "start": day.isoformat(), "window": gap["window"].pk}
        gap["roster_url"] = f"{plan}?{urlencode(week)}" if plan else None
    context.update(
        {
            "hall": chosen["hall"],
            "all_halls": is_all_halls(chosen["hall"]),
            "department": chosen.get("department"),
            "window": chosen.get("window"),
            "start": chosen["start"],
            "end": chosen["end"],
            "gaps": gaps,
            "result_count": len(gaps),
            "dashboard_url": f"{reverse('evaluation_dashboard')}?{request.GET.urlencode()}",
        }
    )
    return TemplateResponse(request, "evaluation/dashboard_gaps.html", context)
