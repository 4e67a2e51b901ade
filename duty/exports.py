"""The duty roster (值班表) as a table: for the print page and the Excel export (DB1403/T 5.2).

Rows are the window's off-hours periods (by time), columns the dates; each cell names who is on
duty, the receiving staff member first, people on leave with their cover, and an empty booked
holiday duty as open.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from io import BytesIO

from django.utils import formats
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from .calendar import local
from .models import DayType, Duty, Window
from .rosters import off_hours_periods, person
from .rosters._common import _range_bounds


@dataclass
class RosterTable:
    window: Window
    start_date: dt.date
    end_date: dt.date
    dates: list
    day_types: dict
    times: list  # ("09:00–12:00", start time)
    cells: dict  # (time label, date) -> text, or None where the day has no such period


def duty_text(duty: Duty | None) -> str:
    """Who is on a duty, as the roster shows it (DB1403/T 6.2.4, 6.2.5)."""
    if duty is None:
        return ""
    assignments = sorted(duty.assignments.all(), key=lambda a: (not a.is_receiving, a.pk))
    names = []
    for a in assignments:
        if a.on_leave_id is not None:
            names.append(_("%(person)s (on leave)") % {"person": person(a.staff)})
        elif a.is_receiving:
            names.append(_("%(person)s (receiving)") % {"person": person(a.staff)})
        elif a.covers_id is not None:
            names.append(_("%(person)s (cover)") % {"person": person(a.staff)})
        else:
            names.append(person(a.staff))
    if not any(a.on_leave_id is None for a in assignments):
        names.append(_("OPEN — to be filled") if duty.opened_by_booking else _("nobody"))
    return "、".join(names)


def roster_table(*, window: Window, start_date: dt.date, end_date: dt.date) -> RosterTable:
    """The window's roster from ``start_date`` to ``end_date``; four queries."""
    periods = off_hours_periods(
        hall_ids=[window.hall_id], start_date=start_date, end_date=end_date
    )[window.hall_id]
    low, high = _range_bounds(start_date, end_date)
    duties = {
        d.start: d
        for d in Duty.objects.filter(window=window, start__gte=low, start__lt=high)
        .prefetch_related("assignments__staff")
        .order_by("start")
    }
    times: dict[str, dt.time] = {}
    cells: dict = defaultdict(lambda: None)
    day_types = {}
    for p in periods:
        label = f"{local(p.start):%H:%M}–{local(p.end):%H:%M}"
        times.setdefault(label, local(p.start).time())
        day_types[p.date] = p.day_type
        duty = duties.get(p.start)
        if p.is_holiday and duty is None:
            cells[(label, p.date)] = _("by appointment")
        else:
            cells[(label, p.date)] = duty_text(duty) or _("nobody")
    dates = [start_date + dt.timedelta(days=i) for i in range((end_date - start_date).days + 1)]
    return RosterTable(
        window=window,
        start_date=start_date,
        end_date=end_date,
        dates=dates,
        day_types=day_types,
        times=sorted(times.items(), key=lambda item: item[1]),
        cells=cells,
    )


def date_heading(day: dt.date, day_type: str | None) -> str:
    heading = formats.date_format(day, "m-d D")
    if day_type == DayType.HOLIDAY:
        heading += f" {_('holiday')}"
    return heading


def roster_workbook(table: RosterTable) -> bytes:
    """DB1403/T 5.2: the roster (值班表) as an Excel workbook, ready to print on A4 landscape."""
    window = table.window
    wb = Workbook()
    ws = wb.active
    ws.title = _("Roster")[:31]
    title = _("Duty roster (值班表) — window %(window)s, %(start)s to %(end)s") % {
        "window": window,
        "start": table.start_date.isoformat(),
        "end": table.end_date.isoformat(),
    }
    last_col = len(table.dates) + 1
    ws.cell(row=1, column=1, value=title).font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=last_col)
    head = person(window.head) if window.head else "—"
    ws.cell(
        row=2,
        column=1,
        value=_("%(hall)s · window head (overall responsibility): %(head)s")
        % {"hall": window.hall, "head": head},
    )
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=last_col)
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    grey = PatternFill("solid", fgColor="DDDDDD")
    ws.cell(row=3, column=1, value=_("period")).font = Font(bold=True)
    for col, day in enumerate(table.dates, start=2):
        cell = ws.cell(row=3, column=col, value=date_heading(day, table.day_types.get(day)))
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(col)].width = 16
    ws.column_dimensions["A"].width = 14
    for row, (label, _time) in enumerate(table.times, start=4):
        ws.cell(row=row, column=1, value=label).font = Font(bold=True)
        for col, day in enumerate(table.dates, start=2):
            text = table.cells[(label, day)]
            cell = ws.cell(row=row, column=col, value=text)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if text is None:
                cell.fill = grey
        ws.row_dimensions[row].height = 45
    for row in ws.iter_rows(min_row=3, max_row=3 + len(table.times), max_col=last_col):
        for cell in row:
            cell.border = border
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "3:3"
    ws.print_title_cols = "A:A"
    ws.freeze_panes = "B4"
    ws.oddFooter.center.text = _("Page &P of &N")
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
