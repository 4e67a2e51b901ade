"""The roster planning grid in the console (DB1403/T 5.2, 6.2.4, 6.2.5), its print page and
its Excel export. The grid is periods × staff for a week or a month of one no-rest window; the
head ticks who is on duty and who receives, copies the previous week or repeats a rotation.
Every change goes through ``duty.rosters``; the grid shows the coverage check as it plans."""

import datetime as dt
from collections import defaultdict

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from .calendar import local, missing_holiday_years
from .exports import date_heading, duty_text, roster_table, roster_workbook
from .models import Duty, StandingRotation, Window
from .rosters import (
    CellPlan,
    off_hours_periods,
    person,
    roster_plan,
    roster_problems,
    roster_rotation_repeat,
    roster_rotation_stand,
    roster_rotation_stop,
    roster_week_copy,
    user_manages_window,
)
from .rosters._common import _range_bounds
from .scoping import scope_to_user


def _parse_date(value, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


def roster_range(request) -> tuple[str, dt.date, dt.date]:
    """A week from its Monday, or a calendar month."""
    span = "month" if request.GET.get("span") == "month" else "week"
    day = _parse_date(request.GET.get("start"), timezone.localdate())
    if span == "month":
        start = day.replace(day=1)
        end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    else:
        start = day - dt.timedelta(days=day.weekday())
        end = start + dt.timedelta(days=6)
    return span, start, end


def _windows(request):
    return scope_to_user(
        Window.objects.filter(is_no_rest=True, is_active=True).select_related("hall", "head"),
        request.user,
    ).order_by("hall", "number")


def _pick_window(request, windows):
    chosen = request.GET.get("window")
    if chosen and chosen.isdigit():
        window = windows.filter(pk=int(chosen)).first()
        if window is not None:
            return window
    return windows.filter(head=request.user).first() or windows.first()


def _key(moment: dt.datetime) -> str:
    return local(moment).strftime("%Y%m%d%H%M")


def _columns(window: Window, duties, extra_ids):
    """The staff columns: the window's staff, its head, anyone already on its roster."""
    User = get_user_model()
    ids = set(
        User.objects.filter(
            is_active=True, staff_profile__window=window, staff_profile__hall=window.hall
        ).values_list("pk", flat=True)
    )
    if window.head_id:
        ids.add(window.head_id)
    ids |= {a.staff_id for d in duties for a in d.assignments.all()}
    ids |= set(
        User.objects.filter(
            pk__in=extra_ids, is_active=True, staff_profile__hall=window.hall
        ).values_list("pk", flat=True)
    )
    return sorted(User.objects.filter(pk__in=ids), key=lambda u: (u.pk != window.head_id, u.pk))


def _grid(window, start, end, now, submitted=None, extra_ids=()):
    periods = off_hours_periods(hall_ids=[window.hall_id], start_date=start, end_date=end)[
        window.hall_id
    ]
    low, high = _range_bounds(start, end)
    duties = {
        d.start: d
        for d in Duty.objects.filter(window=window, start__gte=low, start__lt=high)
        .prefetch_related("assignments__staff")
        .order_by("start")
    }
    columns = _columns(window, duties.values(), extra_ids)
    problems = defaultdict(list)
    general = []
    for problem in roster_problems(windows=[window], start_date=start, end_date=end):
        if problem.start is None:
            general.append(problem)
        else:
            for p in periods:
                if p.start <= problem.start < p.end:
                    problems[p.start].append(problem)
    rows = []
    for p in periods:
        duty = duties.get(p.start)
        assignments = list(duty.assignments.all()) if duty else []
        present = {a.staff_id for a in assignments if a.on_leave_id is None}
        receiving = next((a.staff_id for a in assignments if a.is_receiving), None)
        key = _key(p.start)
        if submitted is not None and key in submitted:
            present, receiving = submitted[key]
        on_leave = {a.staff_id: a for a in assignments if a.on_leave_id is not None}
        rows.append(
            {
                "key": key,
                "period": p,
                "day": date_heading(p.date, p.day_type),
                "time": f"{local(p.start):%H:%M}–{local(p.end):%H:%M}",
                "new_day": not rows or rows[-1]["period"].date != p.date,
                "begun": p.start <= now,
                "duty": duty,
                "text": duty_text(duty),
                "cells": [
                    {
                        "user": u,
                        "on": u.pk in present,
                        "receiving": u.pk == receiving,
                        "on_leave": u.pk in on_leave,
                    }
                    for u in columns
                ],
                "problems": problems.get(p.start, []),
            }
        )
    return columns, rows, general


def _submitted(request, rows_keys) -> dict:
    result = {}
    for key in rows_keys:
        staff = {int(v) for v in request.POST.getlist(f"on-{key}") if v.isdigit()}
        receiving = request.POST.get(f"recv-{key}")
        result[key] = (staff, int(receiving) if receiving and receiving.isdigit() else None)
    return result


def roster_plan_view(request, admin_site):
    """The planning grid: GET shows it, POST saves, copies or repeats (DB1403/T 5.2)."""
    if not request.user.has_perm("duty.view_duty"):
        raise PermissionDenied
    windows = _windows(request)
    window = _pick_window(request, windows)
    span, start, end = roster_range(request)
    now = timezone.now()
    extra_ids = [int(v) for v in request.GET.getlist("add") if v.isdigit()]
    submitted = None
    if request.method == "POST" and window is not None:
        keys = [
            _key(p.start)
            for p in off_hours_periods(hall_ids=[window.hall_id], start_date=start, end_date=end)[
                window.hall_id
            ]
        ]
        try:
            if "copy" in request.POST:
                changed = roster_week_copy(
                    window=window, week_start=start, actor=request.user, now=now
                )
            elif "stop" in request.POST:
                roster_rotation_stop(window=window, actor=request.user, now=now)
                changed = 0
            elif "repeat" in request.POST and request.POST.get("standing"):
                changed = roster_rotation_stand(
                    window=window,
                    source_start=start - dt.timedelta(days=start.weekday()),
                    weeks=int(weeks) if (weeks := request.POST.get("weeks", "")).isdigit() else 0,
                    actor=request.user,
                    now=now,
                )
            elif "repeat" in request.POST:
                changed = roster_rotation_repeat(
                    window=window,
                    # A rotation runs in whole weeks from a Monday (the month view's 1st may
                    # be any weekday).
                    source_start=start - dt.timedelta(days=start.weekday()),
                    weeks=int(weeks) if (weeks := request.POST.get("weeks", "")).isdigit() else 0,
                    until=_parse_date(request.POST.get("until"), end),
                    actor=request.user,
                    now=now,
                )
            else:
                submitted = _submitted(request, [k for k in keys if f"row-{k}" in request.POST])
                User = get_user_model()
                users = User.objects.in_bulk({u for s, _r in submitted.values() for u in s})
                by_key = {
                    _key(p.start): p.start
                    for p in off_hours_periods(
                        hall_ids=[window.hall_id], start_date=start, end_date=end
                    )[window.hall_id]
                }
                changed = roster_plan(
                    window=window,
                    start_date=start,
                    end_date=end,
                    cells=[
                        CellPlan(
                            start=by_key[key],
                            staff=[users[u] for u in sorted(staff) if u in users],
                            receiving=users.get(receiving),
                        )
                        for key, (staff, receiving) in submitted.items()
                    ],
                    actor=request.user,
                    now=now,
                )
        except PermissionDenied as error:
            messages.error(request, str(error) or _("You are not allowed to plan this roster."))
        except ValidationError as error:
            for field_messages in error.message_dict.values():
                for message in field_messages:
                    messages.error(request, message)
        else:
            messages.success(
                request, _("Roster saved: %(count)s period(s) changed.") % {"count": changed}
            )
            return redirect(request.get_full_path())
    context = {
        **admin_site.each_context(request),
        "title": _("Duty roster planning"),
        "windows": windows,
        "window": window,
        "span": span,
        "start": start,
        "end": end,
        "can_plan": window is not None
        and request.user.has_perm("duty.change_duty")
        and user_manages_window(request.user, window),
        "missing_years": missing_holiday_years(range(start.year, end.year + 1)),
    }
    if window is not None:
        columns, rows, general = _grid(window, start, end, now, submitted, extra_ids)
        previous = start - dt.timedelta(days=7 if span == "week" else 1)
        following = end + dt.timedelta(days=1)
        base = {"window": window.pk, "span": span}
        User = get_user_model()
        context.update(
            columns=columns,
            rows=rows,
            general=general,
            gaps=sum(len(r["problems"]) for r in rows) + len(general),
            previous_url="?" + urlencode({**base, "start": previous.isoformat()}),
            next_url="?" + urlencode({**base, "start": following.isoformat()}),
            week_url="?" + urlencode({**base, "span": "week", "start": start.isoformat()}),
            month_url="?" + urlencode({**base, "span": "month", "start": start.isoformat()}),
            print_url=reverse("admin:duty_duty_print")
            + "?"
            + urlencode({**base, "start": start.isoformat()}),
            export_url=reverse("admin:duty_duty_export")
            + "?"
            + urlencode({**base, "start": start.isoformat()}),
            addable=scope_to_user(
                User.objects.filter(is_active=True, staff_profile__hall=window.hall), request.user
            )
            .exclude(pk__in=[c.pk for c in columns])
            .order_by("pk"),
            repeat_until=(start + dt.timedelta(days=90)).isoformat(),
            range_label=f"{formats.date_format(start, 'Y-m-d')} – "
            f"{formats.date_format(end, 'Y-m-d')}",
            head_name=person(window.head) if window.head else "—",
            standing=StandingRotation.objects.filter(window=window).first(),
        )
    return TemplateResponse(request, "admin/duty/roster_plan.html", context)


def _window_for_output(request):
    if not request.user.has_perm("duty.view_duty"):
        raise PermissionDenied
    windows = _windows(request)
    window = _pick_window(request, windows)
    if window is None:
        raise PermissionDenied
    return window


def roster_print_view(request, admin_site):
    """The roster (值班表) as a page to print: periods × dates, names in the cells."""
    window = _window_for_output(request)
    _span, start, end = roster_range(request)
    table = roster_table(window=window, start_date=start, end_date=end)
    rows = [
        {"time": label, "cells": [table.cells[(label, d)] for d in table.dates]}
        for label, _t in table.times
    ]
    return TemplateResponse(
        request,
        "admin/duty/roster_print.html",
        {
            "window": window,
            "table": table,
            "headings": [date_heading(d, table.day_types.get(d)) for d in table.dates],
            "rows": rows,
            "head_name": person(window.head) if window.head else "—",
            "printed_at": timezone.localtime(),
        },
    )


def roster_export_view(request, admin_site):
    """The roster (值班表) as an Excel workbook."""
    window = _window_for_output(request)
    _span, start, end = roster_range(request)
    content = roster_workbook(roster_table(window=window, start_date=start, end_date=end))
    response = HttpResponse(
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    name = f"roster-{window.hall.code}-{window.number}-{start.isoformat()}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
