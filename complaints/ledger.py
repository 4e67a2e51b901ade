"""The complaint ledger (投诉台账) of a hall for a period, exported to Excel (GB/T 36113,
DB1403/T 7.3 and 7.4).

Same conventions as the register of 附录A (``appointments.register``): a title row, a subtitle
with the hall and the period, a header row, one row per complaint, local wall times, and what a
person typed always written as text (never a formula). The ledger is the hall's document, so it
is written in the hall's language (settings.LANGUAGE_CODE).

Confidentiality (GB/T 36113): the complainant's name and phone are masked unless the user the
ledger is written for may see them (``user_sees_identity``); each unmasked row is logged as an
``IdentityView``. Without a user (the command line without --user) everything is masked.
"""

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from appointments.register import FORMULA_STARTS, _text, phone_national
from duty.models import Hall
from duty.names import staff_name
from duty.scoping import scope_to_user

from .models import Complaint, IdentityView
from .services import mask_name, mask_phone, user_sees_identity

COLUMNS = [
    # key, header, width
    ("number", "No.", 6),
    ("received", "Received", 17),
    ("tracking", "Tracking number", 13),
    ("channel", "Channel", 10),
    ("category", "Category", 14),
    ("name", "Complainant", 10),
    ("phone", "Contact phone", 15),
    ("text", "Complaint", 40),
    ("window", "Window", 14),
    ("staff", "Staff complained about", 10),
    ("state", "State", 10),
    ("accept_due", "Accept by", 11),
    ("reply_due", "Reply by", 11),
    ("substantiated", "Substantiated", 8),
    ("measures", "Measures", 30),
    ("reply_method", "Reply method", 10),
    ("replied", "Replied at", 17),
    ("satisfied", "Satisfied", 8),
]
TITLE_ROW, SUBTITLE_ROW, HEADER_ROW = 1, 2, 3

# The header labels, for makemessages (the table above holds them as plain strings).
_LABELS = [
    pgettext_lazy("ledger column", "No."),
    pgettext_lazy("ledger column", "Received"),
    pgettext_lazy("ledger column", "Tracking number"),
    pgettext_lazy("ledger column", "Channel"),
    pgettext_lazy("ledger column", "Category"),
    pgettext_lazy("ledger column", "Complainant"),
    pgettext_lazy("ledger column", "Contact phone"),
    pgettext_lazy("ledger column", "Complaint"),
    pgettext_lazy("ledger column", "Window"),
    pgettext_lazy("ledger column", "Staff complained about"),
    pgettext_lazy("ledger column", "State"),
    pgettext_lazy("ledger column", "Accept by"),
    pgettext_lazy("ledger column", "Reply by"),
    pgettext_lazy("ledger column", "Substantiated"),
    pgettext_lazy("ledger column", "Measures"),
    pgettext_lazy("ledger column", "Reply method"),
    pgettext_lazy("ledger column", "Replied at"),
    pgettext_lazy("ledger column", "Satisfied"),
]


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=timezone.get_default_timezone())


def ledger_queryset(
    *, hall_id: int, date_from: dt.date, date_to: dt.date, user=None, ids=()
) -> QuerySet[Complaint]:
    """GB/T 36113, DB1403/T 7.3: the complaints of one hall received from ``date_from`` to
    ``date_to`` (local days, both included), oldest first; with ``user``, only what that user
    may see (hall scoping); with ``ids``, only those complaints."""
    queryset = Complaint.objects.filter(
        hall_id=hall_id,
        received_at__gte=_day_start(date_from),
        received_at__lt=_day_start(date_to + dt.timedelta(days=1)),
    )
    if user is not None:
        queryset = scope_to_user(queryset, user)
    if ids:
        queryset = queryset.filter(pk__in=ids)
    return queryset.select_related("window", "staff").order_by("received_at", "pk")


def _local(moment):
    return timezone.localtime(moment).replace(tzinfo=None) if moment else None


def _yes_no(value) -> str:
    if value is None:
        return ""
    return _("yes") if value else _("no")


class _Cells:
    def __init__(self, ws):
        thin = Side(style="thin", color="000000")
        border = Border(left=thin, right=thin, top=thin, bottom=thin)
        middle = Alignment(vertical="center", wrap_text=True)
        centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
        self.ws = ws
        self.styles = {
            "title": {"font": Font(size=16, bold=True), "alignment": centre},
            "subtitle": {"alignment": centre},
            "header": {
                "font": Font(bold=True),
                "alignment": centre,
                "border": border,
                "fill": PatternFill("solid", fgColor="F2F2F2"),
            },
            "number": {"alignment": centre, "border": border},
            "date": {"alignment": centre, "border": border, "number_format": "yyyy-mm-dd"},
            "datetime": {
                "alignment": centre,
                "border": border,
                "number_format": "yyyy-mm-dd hh:mm",
            },
            "text": {"alignment": middle, "border": border},
        }

    def cell(self, style: str, value=None, *, quoted: bool = False):
        cell = WriteOnlyCell(self.ws, value)
        for name, setting in self.styles[style].items():
            setattr(cell, name, setting)
        if quoted:
            cell.quotePrefix = True
        return cell

    def text(self, value):
        """What a person typed goes out as text, never as a formula (as in 附录A)."""
        value = _text(value)
        cell = self.cell("text", value, quoted=value.startswith(FORMULA_STARTS))
        cell.data_type = "s"
        return cell


def ledger_subtitle(*, hall_id: int, date_from: dt.date, date_to: dt.date) -> str:
    hall = Hall.objects.get(pk=hall_id)
    return "  ".join(
        [
            hall.name,
            _("received %(from)s to %(to)s")
            % {"from": date_from.isoformat(), "to": date_to.isoformat()},
        ]
    )


def ledger_write(
    *, complaints: Iterable[Complaint], subtitle: str, out, user=None, now: dt.datetime
) -> int:
    """GB/T 36113, DB1403/T 7.3: write the ledger to ``out`` (a path or a binary file); return
    the number of complaints written. Identities are masked unless ``user`` may see them; each
    unmasked row is logged."""
    with translation.override(settings.LANGUAGE_CODE):
        return _write(complaints, subtitle, out, user, now)


def _write(complaints, subtitle, out, user, now) -> int:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("Complaint ledger"))
    cells = _Cells(ws)
    last = get_column_letter(len(COLUMNS))
    for index, (_key, _label, width) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.row_dimensions[TITLE_ROW].height = 30
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.merged_cells.add(f"A{TITLE_ROW}:{last}{TITLE_ROW}")
    ws.merged_cells.add(f"A{SUBTITLE_ROW}:{last}{SUBTITLE_ROW}")
    ws.append([cells.cell("title", _("Complaint ledger"))])
    ws.append([cells.cell("subtitle", subtitle)])
    ws.append([cells.cell("header", pgettext("ledger column", label)) for _k, label, _w in COLUMNS])

    views = []
    written = 0
    for number, complaint in enumerate(complaints, start=1):
        if user is not None and user_sees_identity(complaint, user):
            name = complaint.complainant_name
            phone = phone_national(
                complaint.complainant_phone.as_e164 if complaint.complainant_phone else ""
            )
            views.append(IdentityView(complaint=complaint, user=user, at=now, where="ledger"))
        else:
            name = mask_name(complaint.complainant_name)
            phone = mask_phone(complaint.complainant_phone)
        ws.append(
            [
                cells.cell("number", number),
                cells.cell("datetime", _local(complaint.received_at)),
                cells.text(complaint.tracking_number),
                cells.text(complaint.get_channel_display()),
                cells.text(complaint.get_category_display()),
                cells.text(name),
                cells.text(phone),
                cells.text(complaint.text),
                cells.text(str(complaint.window) if complaint.window else ""),
                cells.text(staff_name(complaint.staff)),
                cells.text(complaint.get_state_display()),
                cells.cell("date", complaint.accept_due),
                cells.cell("date", complaint.reply_due),
                cells.text(_yes_no(complaint.substantiated)),
                cells.text(complaint.measures),
                cells.text(complaint.get_reply_method_display() if complaint.reply_method else ""),
                cells.cell("datetime", _local(complaint.replied_at)),
                cells.text(_yes_no(complaint.satisfied)),
            ]
        )
        written = number
    wb.save(out)
    IdentityView.objects.bulk_create(views, batch_size=500)
    return written


def ledger_export(
    *,
    hall_id: int,
    date_from: dt.date,
    date_to: dt.date,
    out,
    now: dt.datetime,
    user=None,
    ids=(),
) -> int:
    """GB/T 36113, DB1403/T 7.3: the ledger of ``hall_id`` for the period into ``out``, for
    ``user`` (scoping, masking and the identity log) or, without one, masked."""
    queryset = ledger_queryset(
        hall_id=hall_id, date_from=date_from, date_to=date_to, user=user, ids=ids
    )
    return ledger_write(
        complaints=queryset.iterator(chunk_size=500),
        subtitle=ledger_subtitle(hall_id=hall_id, date_from=date_from, date_to=date_to),
        out=out,
        user=user,
        now=now,
    )


def ledger_download_name(*, hall_id: int, date_from: dt.date, date_to: dt.date) -> str:
    """投诉台账-<hall>-<from>-<to>.xlsx"""
    hall = Hall.objects.values_list("name", flat=True).get(pk=hall_id)
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Complaint ledger")
    return f"{title}-{hall}-{date_from}-{date_to}.xlsx"
