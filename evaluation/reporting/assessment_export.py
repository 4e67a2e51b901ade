"""The monthly assessment (DB1403/T 7.4) as an Excel workbook.

Follows the register's conventions (``appointments/register.py``): one sheet per table (windows,
staff), each with a merged title row, a subtitle with the hall and the month, the score's formula
in words, a header row, thin borders, widths, A4 landscape one page wide with the header
repeated; rates as real percentages; text that came from people (names of windows and staff) is
always text, never a formula (``quotePrefix``). Written in the hall's language.
"""

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from appointments.register import FORMULA_STARTS, _text
from duty.models import Hall

from .assessment import Assessment, AssessmentRow

PERCENT = "0.0%"
TITLE_ROW, SUBTITLE_ROW, FORMULA_ROW, HEADER_ROW, FIRST_BODY_ROW = 1, 2, 3, 4, 5


def _columns(kind: str) -> list[tuple]:
    """(header, width, value of a row, number format or None)."""
    first = (
        [(_("Window"), 22, lambda r: r.label, None)]
        if kind == "window"
        else [
            (_("Staff member"), 14, lambda r: r.label, None),
            (_("Window"), 8, lambda r: r.extra.get("window", ""), None),
        ]
    )
    c = lambda key: lambda r: r.counts[key]  # noqa: E731
    rate = lambda key: lambda r: r.rates[key]  # noqa: E731
    return first + [
        (_("Punctuality"), 10, rate("punctuality"), PERCENT),
        (
            _("Check-ins late / absent"),
            11,
            lambda r: f"{r.counts['late']} / {r.counts['absent']}",
            None,
        ),
        (_("Served on time"), 10, rate("served_on_time"), PERCENT),
        (_("Bookings served"), 9, c("served"), "0"),
        (_("8 h rule breaches"), 9, c("change_breaches"), "0"),
        (_("Emergencies"), 9, c("change_emergencies"), "0"),
        (_("No-show follow-ups on time"), 11, rate("follow_ups_on_time"), PERCENT),
        (_("Substantiated complaints"), 11, c("substantiated_complaints"), "0"),
        (_("Inspection findings"), 10, c("findings"), "0"),
        (_("Good-review rate"), 10, rate("good_review_rate"), PERCENT),
        (_("Ratings"), 8, c("rated"), "0"),
        (_("Score"), 8, lambda r: r.score, "0.0"),
        (_("How the score is computed"), 42, lambda r: r.worked, None),
    ]


class _Styles:
    def __init__(self):
        thin = Side(style="thin", color="000000")
        self.border = Border(left=thin, right=thin, top=thin, bottom=thin)
        self.centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
        self.middle = Alignment(vertical="center", wrap_text=True)
        self.header_fill = PatternFill("solid", fgColor="F2F2F2")


def _sheet(ws: Worksheet, *, title: str, subtitle: str, formula: str, kind, rows) -> None:
    styles = _Styles()
    columns = _columns(kind)
    last = get_column_letter(len(columns))
    for index, (_header, width, _value, _format) in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    for row, text, font in (
        (TITLE_ROW, title, Font(size=16, bold=True)),
        (SUBTITLE_ROW, subtitle, Font(size=11)),
        (FORMULA_ROW, _("Score: %(formula)s") % {"formula": formula}, Font(size=10, italic=True)),
    ):
        ws.merge_cells(f"A{row}:{last}{row}")
        cell = ws.cell(row=row, column=1, value=_text(text))
        cell.font, cell.alignment = font, styles.centre if row != FORMULA_ROW else styles.middle
    ws.row_dimensions[TITLE_ROW].height = 30
    ws.row_dimensions[FORMULA_ROW].height = 45
    for index, (header, _width, _value, _format) in enumerate(columns, start=1):
        cell = ws.cell(row=HEADER_ROW, column=index, value=header)
        cell.font, cell.alignment = Font(bold=True), styles.centre
        cell.border, cell.fill = styles.border, styles.header_fill
    for offset, row in enumerate(rows):
        for index, (_header, _width, value_of, number_format) in enumerate(columns, start=1):
            value = value_of(row)
            cell = ws.cell(row=FIRST_BODY_ROW + offset, column=index)
            cell.border = styles.border
            if value is None:
                cell.value, cell.alignment = "—", styles.centre
            elif number_format:
                cell.value, cell.number_format, cell.alignment = value, number_format, styles.centre
            else:
                # Names typed by people are text, never a formula (as in the register).
                text = _text(value)
                cell.value, cell.data_type, cell.alignment = text, "s", styles.middle
                if text.startswith(FORMULA_STARTS):
                    cell.quotePrefix = True
    ws.freeze_panes = f"A{FIRST_BODY_ROW}"
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.oddFooter.center.text = _("Page &P of &N")


def assessment_title() -> str:
    return _("Assessment of windows and staff")


def assessment_write(*, assessment: Assessment, out) -> None:
    """DB1403/T 7.4: write ``assessment`` to ``out`` (a path or a binary file)."""
    with translation.override(settings.LANGUAGE_CODE):
        hall = Hall.objects.get(pk=assessment.hall_id)
        subtitle = f"{hall.name}  {assessment.month:%Y-%m}"
        # The formula as the hall reads it (the assessment was computed in the caller's language).
        from .assessment import formula_text

        formula = formula_text()
        wb = Workbook()
        windows = wb.active
        windows.title = _("Windows")
        _sheet(
            windows,
            title=f"{assessment_title()} · {_('Windows')}",
            subtitle=subtitle,
            formula=formula,
            kind="window",
            rows=assessment.windows,
        )
        staff = wb.create_sheet(_("Staff"))
        _sheet(
            staff,
            title=f"{assessment_title()} · {_('Staff')}",
            subtitle=subtitle,
            formula=formula,
            kind="staff",
            rows=assessment.staff,
        )
        wb.save(out)


def assessment_download_name(*, assessment: Assessment) -> str:
    hall = Hall.objects.values_list("name", flat=True).get(pk=assessment.hall_id)
    with translation.override(settings.LANGUAGE_CODE):
        title = assessment_title()
    return f"{title}-{hall}-{assessment.month:%Y-%m}.xlsx"


__all__ = ["assessment_write", "assessment_download_name", "AssessmentRow"]
