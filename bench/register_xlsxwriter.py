"""The reference for `make bench-export`: the register (DB1403/T 附录A) written by xlsxwriter.

A stand-alone script (not a management command) that does what `manage.py export_register`
does with the least machinery around it: it sets Django up (the ORM and the translation
catalogue: the minimum to read the same rows from the same database the same way), reads them
through the same queryset and the same cell values (``register_cells``), and writes them with
xlsxwriter's constant-memory mode with the same formats, merges and print set-up as
``appointments.register.register_write``. It takes the command's own arguments:

    .venv/bin/python bench/register_xlsxwriter.py --hall CODE --from 2026-01-01 \\
        --to 2026-12-31 -o out.xlsx

Timed as a whole process against `manage.py export_register` with the same arguments, the
difference is what the product adds: manage.py's command machinery and openpyxl instead of
xlsxwriter. (A script reading the rows with raw SQL would also drop the ORM and the cell values,
which are the same in both and not what the target is about.)
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def write_xlsxwriter(rows, out, subtitle: str) -> int:
    """The same sheet as register_write, with xlsxwriter in constant-memory mode."""
    import xlsxwriter

    from appointments.register import COLUMNS, FORMULA_STARTS, _text, register_cells

    wb = xlsxwriter.Workbook(str(out), {"constant_memory": True})
    ws = wb.add_worksheet("登记表")
    border = {"border": 1, "valign": "vcenter", "text_wrap": True}
    centre = {**border, "align": "center"}
    title = wb.add_format({"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"})
    sub = wb.add_format({"align": "center", "valign": "vcenter"})
    header = wb.add_format({**centre, "bold": True, "bg_color": "#F2F2F2"})
    number_f = wb.add_format(centre)
    date_f = wb.add_format({**centre, "num_format": "yyyy-mm-dd"})
    time_f = wb.add_format({**centre, "num_format": "yyyy-mm-dd hh:mm"})
    text_f = wb.add_format(border)
    quoted_f = wb.add_format({**border, "quote_prefix": True})
    for index, (_key, _top, _sub, width) in enumerate(COLUMNS):
        ws.set_column(index, index, width)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(2, 3)
    ws.freeze_panes(4, 0)
    ws.center_horizontally()
    ws.set_margins(left=0.4, right=0.4)
    ws.set_footer("&C第 &P 页，共 &N 页")
    last = len(COLUMNS) - 1
    ws.set_row(0, 30)
    ws.merge_range(0, 0, 0, last, "预约服务登记表", title)
    ws.merge_range(1, 0, 1, last, subtitle, sub)
    # Constant-memory mode writes row by row, so the two header rows are written in order and
    # their merges recorded directly (merge_range would write both rows at once).
    tops = ["序号", "登记日期", "预约人", None, "预约时间", "预约事项/内容", "受理人员", "备注"]
    seconds = [None, None, "姓名", "联系电话", None, None, None, None]
    for col, label in enumerate(tops):
        ws.write(2, col, label, header) if label else ws.write_blank(2, col, None, header)
    for col, label in enumerate(seconds):
        ws.write(3, col, label, header) if label else ws.write_blank(3, col, None, header)
    ws.merge.extend([[2, c, 3, c] for c, label in enumerate(seconds) if label is None])
    ws.merge.append([2, 2, 2, 3])

    row = 3
    count = 0
    for cells in register_cells(rows):
        row += 1
        number, registered, name, phone, start, what, staff, remarks = cells
        ws.write_number(row, 0, number, number_f)
        ws.write_datetime(row, 1, registered, date_f)
        for col, value in ((2, name), (3, phone), (5, what), (6, staff), (7, remarks)):
            value = _text(value)
            ws.write_string(
                row, col, value, quoted_f if value.startswith(FORMULA_STARTS) else text_f
            )
        ws.write_datetime(row, 4, start, time_f)
        count = number
    wb.close()
    return count


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hall", required=True)
    parser.add_argument("--from", dest="date_from", required=True)
    parser.add_argument("--to", dest="date_to", required=True)
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yuyue.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.utils import translation

    from appointments.register import (
        RegisterFilter,
        register_queryset,
        register_rows,
        register_subtitle,
    )
    from duty.command_args import hall_arg, period_args

    date_from, date_to = period_args(args.date_from, args.date_to)
    register = RegisterFilter(hall_id=hall_arg(args.hall).pk, date_from=date_from, date_to=date_to)
    with translation.override(settings.LANGUAGE_CODE):
        subtitle = register_subtitle(register=register)
        written = write_xlsxwriter(
            register_rows(register_queryset(register=register)), args.output, subtitle
        )
    print(f"{written} bookings written to {args.output}.")


if __name__ == "__main__":
    main(sys.argv[1:])
