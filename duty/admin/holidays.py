"""The national holiday table in the console (DB1403/T 4): the city administrators keep it, and
enter each year's official arrangement on one page, which replaces the provisional statutory
holidays computed from the law and lists the bookings whose day changes kind."""

import datetime as dt
import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..holiday_law import statutory_holidays
from ..models import CalendarDay, HolidayYear
from ..scoping import user_keeps_shared_data
from ..services import holiday_arrangement_enter

# "2027-02-05 春节" or "2027-02-05~2027-02-11 春节" (also "至", "–" or "-" between the dates).
LINE = re.compile(
    r"^(?P<first>\d{4}-\d{2}-\d{2})(?:\s*(?:~|～|至|–|—|\s-\s|--)\s*(?P<last>\d{4}-\d{2}-\d{2}))?"
    r"\s*(?P<name>.*)$"
)


def _parse_days(text: str) -> dict[dt.date, str]:
    """Lines of dates or date ranges, each with an optional name."""
    days: dict[dt.date, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        match = LINE.match(line)
        try:
            first = dt.date.fromisoformat(match["first"]) if match else None
            last = dt.date.fromisoformat(match["last"]) if match and match["last"] else first
        except ValueError:
            first = None
        if first is None or last < first or (last - first).days > 31:
            raise ValidationError(
                _("Line %(number)s is not a date or a date range: %(line)s")
                % {"number": number, "line": line}
            )
        day = first
        while day <= last:
            days[day] = match["name"].strip()[:50]
            day += dt.timedelta(days=1)
    return days


def _lines(days: dict[dt.date, str]) -> str:
    """The days as the form writes them, consecutive days of one name as a range."""
    lines, run = [], []
    for day, name in sorted(days.items()):
        if run and (day - run[-1][0]).days == 1 and name == run[-1][1]:
            run.append((day, name))
            continue
        if run:
            lines.append(run)
        run = [(day, name)]
    if run:
        lines.append(run)
    return "\n".join(
        f"{r[0][0]:%Y-%m-%d}{f'~{r[-1][0]:%Y-%m-%d}' if len(r) > 1 else ''} {r[0][1]}".strip()
        for r in lines
    )


class ArrangementForm(forms.Form):
    year = forms.IntegerField(label=gettext_lazy("year"), min_value=2000, max_value=2100)
    holidays = forms.CharField(
        label=gettext_lazy("holidays (rest days)"),
        widget=forms.Textarea(attrs={"rows": 14, "cols": 40}),
        help_text=gettext_lazy(
            "One date or range per line with its name, e.g. “2027-02-05~2027-02-11 春节”: the "
            "statutory days and the bridging rest days of the State Council's notice."
        ),
    )
    makeup_days = forms.CharField(
        label=gettext_lazy("make-up working days"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 40}),
        help_text=gettext_lazy("The weekend days worked in lieu (调休上班), one per line."),
    )

    def clean_holidays(self):
        return _parse_days(self.cleaned_data["holidays"])

    def clean_makeup_days(self):
        return _parse_days(self.cleaned_data["makeup_days"])


class SharedCalendarAdmin(admin.ModelAdmin):
    """The holiday table is national: every hall reads it, the city administrators keep it —
    a year at a time, on the arrangement page, which lists the bookings whose day changes kind
    (so no single row is added, changed or deleted behind the desk's back)."""

    def has_add_permission(self, request):
        return user_keeps_shared_data(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        return redirect(reverse("admin:duty_holidayyear_enter"))


@admin.register(HolidayYear)
class HolidayYearAdmin(SharedCalendarAdmin):
    list_display = ["year", "source", "loaded_at"]
    change_list_template = "admin/duty/holidayyear/change_list.html"

    def get_urls(self):
        return [
            path(
                "enter/",
                self.admin_site.admin_view(self.arrangement_view),
                name="duty_holidayyear_enter",
            ),
            *super().get_urls(),
        ]

    def arrangement_view(self, request):
        """DB1403/T 4: enter a year's official arrangement; the form starts from the year's
        statutory holidays (provisional until then) for the administrator to complete."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        entered = None
        if request.method == "POST":
            form = ArrangementForm(request.POST)
            if form.is_valid():
                try:
                    entered = holiday_arrangement_enter(
                        year=form.cleaned_data["year"],
                        holidays=form.cleaned_data["holidays"],
                        makeup_days=form.cleaned_data["makeup_days"],
                        source=_("entered by %(user)s") % {"user": request.user.get_username()},
                        now=timezone.now(),
                        actor=request.user,
                    )
                except ValidationError as error:
                    form.add_error(None, error.messages)
                else:
                    messages.success(
                        request,
                        _("The arrangement of %(year)s is entered: %(days)s dates.")
                        % {"year": form.cleaned_data["year"], "days": len(entered.days)},
                    )
        else:
            form = ArrangementForm(initial=self._initial(request))
        return TemplateResponse(
            request,
            "admin/duty/holiday_arrangement.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Enter a year's holiday arrangement"),
                "opts": self.model._meta,
                "form": form,
                "entered": entered,
                "changed": sorted(entered.changed.items()) if entered else [],
                "changelist_url": reverse("admin:duty_holidayyear_changelist"),
            },
        )

    @staticmethod
    def _initial(request) -> dict:
        """The year asked for (or next year), with its statutory days or its current entry."""
        year = request.GET.get("year", "")
        year = int(year) if year.isdigit() and 2000 <= int(year) <= 2100 else None
        year = year or timezone.localdate().year + 1
        rows = CalendarDay.objects.filter(date__year=year)
        holidays = {d.date: d.name for d in rows if d.kind == CalendarDay.Kind.HOLIDAY}
        makeup = {d.date: d.name for d in rows if d.kind == CalendarDay.Kind.MAKEUP_WORKDAY}
        return {
            "year": year,
            "holidays": _lines(holidays or statutory_holidays(year)),
            "makeup_days": _lines(makeup),
        }


@admin.register(CalendarDay)
class CalendarDayAdmin(SharedCalendarAdmin):
    list_display = ["date", "kind", "name"]
    change_list_template = "admin/duty/calendarday/change_list.html"
    list_filter = ["kind"]
    date_hierarchy = "date"
