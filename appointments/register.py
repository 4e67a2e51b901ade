"""The register of DB1403/T 附录A (预约服务登记表), exported to Excel.

The layout follows the appendix: a title row, a subtitle with the hall and the period, two
header rows (序号 | 登记日期 | 预约人: 姓名, 联系电话 | 预约时间 | 预约事项/内容 | 受理人员 |
备注) and one row per booking. The workbook is written in openpyxl's write-only mode from a
chunked queryset iterator: each row goes to a temporary file as it comes, so memory does not grow
with the period (100 000 rows stay under 150 MB peak; see bench/export_register.py).

The register is the hall's official form, so it is always written in the hall's language
(settings.LANGUAGE_CODE), whatever the language of the person exporting it.
"""

import datetime as dt
import logging
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

import openpyxl
import phonenumbers
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db import transaction
from django.db.models import CharField, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from duty.models import Department, Hall, Window
from duty.names import person_name
from duty.scoping import scope_to_user, visible_halls
from yuyue.storage import file_write_failure
from yuyue.worker import task_enqueue_on_commit

from .models import Appointment, Channel, RegisterExport, Status

logger = logging.getLogger(__name__)


class By:
    """Which date the period of a register is counted by."""

    APPOINTMENT = "appointment"
    REGISTRATION = "registration"
    CHOICES = (APPOINTMENT, REGISTRATION)


@dataclass(frozen=True)
class RegisterFilter:
    """What one register holds: one hall, a period of local dates (both ends included), and
    optionally a window, a department, a channel, a status, or an explicit list of bookings."""

    hall_id: int
    date_from: dt.date
    date_to: dt.date
    by: str = By.APPOINTMENT
    window_id: int | None = None
    department_id: int | None = None
    channel: str = ""
    status: str = ""
    ids: tuple[int, ...] = field(default=())

    def to_json(self) -> dict:
        data = asdict(self)
        data["date_from"], data["date_to"] = self.date_from.isoformat(), self.date_to.isoformat()
        data["ids"] = list(self.ids)
        return data

    @classmethod
    def from_json(cls, data: dict) -> "RegisterFilter":
        data = dict(data)
        data["date_from"] = dt.date.fromisoformat(data["date_from"])
        data["date_to"] = dt.date.fromisoformat(data["date_to"])
        data["ids"] = tuple(data.get("ids") or ())
        return cls(**data)


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=timezone.get_default_timezone())


def register_queryset(*, register: RegisterFilter, user=None) -> QuerySet[Appointment]:
    """DB1403/T 附录A: the bookings of one register, in the order they are listed.

    Only bookings the hall has accepted are in the register (online ones once reconfirmed,
    5.1.3 c). With ``user``, only what that user may see (hall scoping); the command line passes
    none and names the hall itself.
    """
    queryset = Appointment.objects.in_register().filter(window__hall_id=register.hall_id)
    if user is not None:
        queryset = scope_to_user(queryset, user)
    start, end = _day_start(register.date_from), _day_start(register.date_to + dt.timedelta(1))
    moment = "start" if register.by == By.APPOINTMENT else "accepted_at"
    queryset = queryset.filter(**{f"{moment}__gte": start, f"{moment}__lt": end})
    if register.window_id:
        queryset = queryset.filter(window_id=register.window_id)
    if register.department_id:
        queryset = queryset.filter(matter__departments=register.department_id)
    if register.channel:
        queryset = queryset.filter(channel=register.channel)
    if register.status:
        queryset = queryset.filter(status=register.status)
    if register.ids:
        queryset = queryset.filter(pk__in=register.ids)
    return queryset.order_by(moment, "pk")


# The columns of 附录A, with their widths in characters. Two-row headers: a top label over the
# two of 预约人, None where the top label stands alone (merged down over both header rows).
COLUMNS = [
    # key, top header, second-row header, width
    ("number", "No.", None, 6),
    ("registered", "Registration date", None, 12),
    ("name", "Applicant", "Name", 12),
    ("phone", "Applicant", "Contact phone", 16),
    ("time", "Appointment time", None, 17),
    ("matter", "Matter / content", None, 38),
    ("staff", "Received by", None, 10),
    ("remarks", "Remarks", None, 26),
]
TITLE_ROW, SUBTITLE_ROW, HEADER_ROWS, FIRST_BODY_ROW = 1, 2, (3, 4), 5
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
FORMULA_STARTS = ("=", "+", "-", "@")

ROW_FIELDS = (
    "accepted_at",
    "applicant_name",
    "phone_text",
    "start",
    "matter__name",
    "content",
    "received_by__first_name",
    "received_by__last_name",
    "received_by__username",
    "remarks",
    "status",
    "short_notice_reason",
    "cancel_reason",
)


def _header_labels():
    """Translated headers. Their Chinese is the appendix's own wording."""
    return {
        label: pgettext("register column", label)
        for _key, top, sub, _width in COLUMNS
        for label in (top, sub)
        if label
    }


# The header labels, for makemessages (the table above holds them as plain strings).
_LABELS = [
    pgettext_lazy("register column", "No."),
    pgettext_lazy("register column", "Registration date"),
    pgettext_lazy("register column", "Applicant"),
    pgettext_lazy("register column", "Name"),
    pgettext_lazy("register column", "Contact phone"),
    pgettext_lazy("register column", "Appointment time"),
    pgettext_lazy("register column", "Matter / content"),
    pgettext_lazy("register column", "Received by"),
    pgettext_lazy("register column", "Remarks"),
]


def phone_national(e164: str) -> str:
    """A stored E.164 number in national format ("138 0013 8000", "0353 202 1012").

    Chinese mobiles are by far the most numbers and always read 3-4-4: formatted directly, as
    phonenumbers would, because parsing each of 100 000 numbers costs more than the rest of the
    row. Everything else goes through phonenumbers.
    """
    if not e164:
        return ""
    if len(e164) == 14 and e164.startswith("+861") and e164[1:].isdigit():
        return f"{e164[3:6]} {e164[6:10]} {e164[10:]}"
    try:
        number = phonenumbers.parse(e164, "CN")
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def _text(value) -> str:
    """User text as it may go into a cell: control characters that XML cannot hold removed, at
    most the 32 767 characters a cell holds."""
    return ILLEGAL_CHARACTERS_RE.sub("", str(value or ""))[:32767]


LINE_HEIGHT = 15  # points per line of 11 pt text
# Excel refuses a row taller than 409 points (it "repairs" the file): a very long remark is cut
# off on screen there, and read whole in the cell.
MAX_ROW_HEIGHT = 409
# Characters from the CJK radicals on are two wide (East Asian Wide), like Excel draws them.
_WIDE = re.compile("[\u2e80-\U0010ffff]")


def _lines(text: str, width: int) -> int:
    """How many lines ``text`` takes in a wrapped column ``width`` characters wide (a CJK
    character is two wide)."""
    if not text:
        return 1
    if len(text) * 2 < width and "\n" not in text:
        return 1
    total = 0
    for line in text.split("\n"):
        wide = len(line) + len(_WIDE.findall(line))
        total += max(1, -(-wide // max(width - 1, 1)))
    return total


def _naive_local(moment: dt.datetime | None, zone=None) -> dt.datetime | None:
    # Excel has no time zones: the cell holds Asia/Shanghai wall time.
    if moment is None:
        return None
    return timezone.localtime(moment, zone).replace(tzinfo=None)


class _Styles:
    """Prototype cells whose style arrays every written cell copies (much cheaper than
    assigning fonts, borders and alignments cell by cell)."""

    def __init__(self, ws):
        thin = Side(style="thin", color="000000")
        border = Border(left=thin, right=thin, top=thin, bottom=thin)

        def proto(**kw):
            cell = WriteOnlyCell(ws)
            for name, value in kw.items():
                setattr(cell, name, value)
            return cell._style

        middle = Alignment(vertical="center", wrap_text=True)
        centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
        self.title = proto(font=Font(size=16, bold=True), alignment=centre)
        self.subtitle = proto(font=Font(size=11), alignment=centre)
        self.header = proto(
            font=Font(bold=True),
            alignment=centre,
            border=border,
            fill=PatternFill("solid", fgColor="F2F2F2"),
        )
        self.number = proto(alignment=centre, border=border)
        self.date = proto(alignment=centre, border=border, number_format=DATE_FORMAT)
        self.datetime = proto(alignment=centre, border=border, number_format=DATETIME_FORMAT)
        self.text = proto(alignment=middle, border=border)
        self.quoted = proto(alignment=middle, border=border, quotePrefix=True)
        self.ws = ws
        body = (self.number, self.date, self.datetime, self.text, self.quoted)
        self.ids = {id(style): ws.parent._cell_styles.add(style) for style in body}

    def cell(self, style, value=None):
        cell = WriteOnlyCell(self.ws, value)
        cell._style = style.__copy__()
        return cell


class _BodyRows:
    """The body rows' XML, written straight into the stream of openpyxl's write-only sheet.

    openpyxl serialises every cell through an ElementTree element (without lxml, about 10 µs a
    cell: two thirds of the export's time at 100 000 rows). A body row is always the same eight
    cells of four kinds (a number, a date, a date and time, text), so each row is formatted as
    one string, exactly as openpyxl's ``write_row`` and ``write_cell`` would write it: inline
    strings, style indexes, ``xml:space`` where the text has outer spaces, the same escaping,
    dates as serials from openpyxl's ``to_excel``. tests/test_register.py compares the two byte
    for byte. openpyxl still writes everything else: the package, the styles, the sheet's head
    and tail (merges, print set-up), and keeps the row numbers.
    """

    def __init__(self, ws, styles: _Styles):
        ids = styles.ids
        self.number, self.date = ids[id(styles.number)], ids[id(styles.date)]
        self.datetime = ids[id(styles.datetime)]
        self.text, self.quoted = ids[id(styles.text)], ids[id(styles.quoted)]
        self.ws, self.styles, self.epoch = ws, styles, ws.parent.epoch
        self.widths = {key: width for key, _top, _sub, width in COLUMNS}
        self.serials: dict = {}  # many rows share a day and a slot

    # The string is written to et_xmlfile's stream; lxml's (used by openpyxl when lxml is
    # installed, which the project does not) takes only elements: then openpyxl writes the cells.
    raw = not openpyxl.LXML

    def install(self, ws) -> None:
        """From now on, every row appended to ``ws`` is a body row (``register_cells``)."""
        if self.raw:
            ws._values_to_row = lambda values, row_idx: values
            ws._writer.write_row = self.write_row
        else:
            ws._values_to_row = self.cells

    def height(self, what: str, remarks: str) -> int | None:
        """Spreadsheets do not grow a written row to fit its wrapped text: say how tall it is."""
        lines = max(_lines(what, self.widths["matter"]), _lines(remarks, self.widths["remarks"]))
        return min(LINE_HEIGHT * lines, MAX_ROW_HEIGHT) if lines > 1 else None

    def write_row(self, xf, cells, row_idx: int) -> None:
        """WorksheetWriter.write_row for one row of ``register_cells``."""
        number, registered, name, phone, start, what, staff, remarks = cells
        r = str(row_idx)
        height = self.height(what, remarks)
        height = f' ht="{height}" customHeight="1"' if height else ""
        xf._file(
            f'<row r="{r}"{height}><c r="A{r}" s="{self.number}" t="n"><v>{number}</v></c>'
            f"{self.moment('B', r, self.date, registered)}{self.string('C', r, name)}"
            f"{self.string('D', r, phone)}{self.moment('E', r, self.datetime, start)}"
            f"{self.string('F', r, what)}{self.string('G', r, staff)}"
            f"{self.string('H', r, remarks)}</row>"
        )

    def moment(self, column: str, r: str, style: int, value) -> str:
        if value is None:
            return f'<c r="{column}{r}" s="{style}" t="n" />'
        serial = self.serials.get(value)
        if serial is None:
            if len(self.serials) > 10_000:  # memory stays flat over any period
                self.serials.clear()
            serial = self.serials[value] = f"{to_excel(value, self.epoch):.16g}"
        return f'<c r="{column}{r}" s="{style}" t="n"><v>{serial}</v></c>'

    def string(self, column: str, r: str, value) -> str:
        """DB1403/T 附录A: what a person typed goes out as text, never as a formula: the cell's
        type is string and, when it starts like a formula, its style says so (quotePrefix)."""
        value = _text(value)
        style = self.quoted if value.startswith(FORMULA_STARTS) else self.text
        if not value:
            return f'<c r="{column}{r}" s="{style}" t="inlineStr" />'
        stripped = value.strip()
        space = ' xml:space="preserve"' if stripped and stripped != value else ""
        if "&" in value:
            value = value.replace("&", "&amp;")
        if "<" in value:
            value = value.replace("<", "&lt;")
        if ">" in value:
            value = value.replace(">", "&gt;")
        return f'<c r="{column}{r}" s="{style}" t="inlineStr"><is><t{space}>{value}</t></is></c>'

    def cells(self, cells, row_idx: int) -> list[Cell]:
        """The same row as openpyxl cells, for openpyxl's own row writer."""
        number, registered, name, phone, start, what, staff, remarks = cells
        dims = self.ws.row_dimensions
        dims.pop(row_idx - 1, None)  # written; keep memory flat
        if height := self.height(what, remarks):
            dims[row_idx].height = height
        row = [
            self.cell(self.styles.number, number, "n"),
            self.cell(self.styles.date, registered, "d"),
            *(self.text_cell(value) for value in (name, phone)),
            self.cell(self.styles.datetime, start, "d"),
            *(self.text_cell(value) for value in (what, staff, remarks)),
        ]
        for column, cell in enumerate(row, start=1):
            cell.row, cell.column = row_idx, column
        return row

    def cell(self, style, value, data_type: str) -> Cell:
        cell = WriteOnlyCell(self.ws)
        cell._style = style.__copy__()
        cell._value, cell.data_type = value, data_type if value is not None else "n"
        return cell

    def text_cell(self, value) -> Cell:
        value = _text(value)
        quoted = value.startswith(FORMULA_STARTS)
        return self.cell(self.styles.quoted if quoted else self.styles.text, value, "s")


def _remarks(remarks, status, short_notice_reason, cancel_reason) -> str:
    lines = [remarks] if remarks else []
    if short_notice_reason:
        lines.append(_("Accepted under 24 h: %(reason)s") % {"reason": short_notice_reason})
    if status in (Status.CANCELLED, Status.NO_SHOW):
        note = str(Status(status).label)
        lines.append(
            _("%(status)s: %(reason)s") % {"status": note, "reason": cancel_reason}
            if cancel_reason
            else note
        )
    return "\n".join(lines)


def register_subtitle(*, register: RegisterFilter) -> str:
    """The hall, the period and any narrower filter, as the subtitle of the sheet."""
    hall = Hall.objects.get(pk=register.hall_id)
    by = _("by appointment time") if register.by == By.APPOINTMENT else _("by registration date")
    parts = [
        hall.name,
        _("%(from)s to %(to)s (%(by)s)")
        % {"from": register.date_from.isoformat(), "to": register.date_to.isoformat(), "by": by},
    ]
    if register.window_id:
        parts.append(_("window %(window)s") % {"window": Window.objects.get(pk=register.window_id)})
    if register.department_id:
        parts.append(str(Department.objects.get(pk=register.department_id)))
    if register.channel:
        parts.append(str(Channel(register.channel).label))
    if register.status:
        parts.append(str(Status(register.status).label))
    if register.ids:
        parts.append(_("%(count)s selected bookings") % {"count": len(register.ids)})
    return "  ".join(parts)


def register_rows(queryset: QuerySet[Appointment], *, chunk_size: int = 2000) -> Iterable[tuple]:
    """The fields of each booking the register shows, as plain tuples from a chunked iterator.

    The phone is read as its stored text (E.164): the model field would parse every number.
    """
    return (
        queryset.annotate(phone_text=Cast("phone", CharField()))
        .values_list(*ROW_FIELDS)
        .iterator(chunk_size=chunk_size)
    )


def register_write(
    *,
    rows: Iterable[tuple],
    subtitle: str,
    out,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 1000,
) -> int:
    """DB1403/T 附录A: write the register to ``out`` (a path or a binary file); return the number
    of bookings written. ``progress(n)`` is called every ``progress_every`` rows."""
    with translation.override(settings.LANGUAGE_CODE):
        return _write(rows, subtitle, out, progress, progress_every)


def _write(rows, subtitle, out, progress, progress_every) -> int:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("Register"))
    styles = _Styles(ws)
    labels = _header_labels()
    last = get_column_letter(len(COLUMNS))

    # Layout and print set-up come before the first row in write-only mode.
    for index, (_key, _top, _sub, width) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.row_dimensions[TITLE_ROW].height = 30
    ws.freeze_panes = f"A{FIRST_BODY_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_title_rows = f"{HEADER_ROWS[0]}:{HEADER_ROWS[1]}"
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddFooter.center.text = _("Page &P of &N")

    ws.merged_cells.add(f"A{TITLE_ROW}:{last}{TITLE_ROW}")
    ws.merged_cells.add(f"A{SUBTITLE_ROW}:{last}{SUBTITLE_ROW}")
    top, second = HEADER_ROWS
    for index, (_key, _label, sub, _width) in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        if sub is None:
            ws.merged_cells.add(f"{letter}{top}:{letter}{second}")
    # 预约人 spans the 姓名 and 联系电话 columns.
    spans = [i for i, column in enumerate(COLUMNS, start=1) if column[2] is not None]
    ws.merged_cells.add(f"{get_column_letter(spans[0])}{top}:{get_column_letter(spans[-1])}{top}")

    ws.append([styles.cell(styles.title, _("Appointment service register"))])
    ws.append([styles.cell(styles.subtitle, subtitle)])
    ws.append([styles.cell(styles.header, labels[label]) for _k, label, _s, _w in COLUMNS])
    ws.append(
        [styles.cell(styles.header, labels[sub] if sub else None) for _k, _l, sub, _w in COLUMNS]
    )

    _BodyRows(ws, styles).install(ws)
    written = 0
    for cells in register_cells(rows):
        ws.append(cells)
        written = cells[0]
        if progress is not None and written % progress_every == 0:
            progress(written)
    wb.save(out)
    if progress is not None:
        progress(written)
    return written


def register_cells(rows: Iterable[tuple]) -> Iterable[tuple]:
    """DB1403/T 附录A: the eight cells of each row, in the appendix's column order: 序号,
    登记日期 (a date), 姓名, 联系电话 (national format), 预约时间 (local wall time), 事项/内容,
    受理人员 (by name), 备注. Call inside ``translation.override`` for the remarks' wording."""
    zone = timezone.get_current_timezone()  # looked up once, not twice a row
    for number, (
        accepted_at,
        name,
        phone,
        start,
        matter,
        content,
        first,
        last_name,
        username,
        remarks,
        status,
        short_notice,
        cancel_reason,
    ) in enumerate(rows, start=1):
        registered = _naive_local(accepted_at, zone)
        yield (
            number,
            registered.date() if registered else None,
            name,
            phone_national(phone),
            _naive_local(start, zone),
            matter if not content or content == matter else f"{matter}\n{content}",
            person_name(first, last_name, username) if username else "",
            _remarks(remarks, status, short_notice, cancel_reason),
        )


def register_export(*, register: RegisterFilter, out, user=None, progress=None) -> int:
    """DB1403/T 附录A: the register for ``register`` (scoped to ``user`` if given) into ``out``."""
    queryset = register_queryset(register=register, user=user)
    return register_write(
        rows=register_rows(queryset),
        subtitle=register_subtitle(register=register),
        out=out,
        progress=progress,
    )


# --- the export as a job: asked for on the web, written in the background ----------------------

EXPORT_TASK = "appointments.tasks.register_export_task"


def register_export_allowed(*, user, hall_id: int) -> bool:
    """Who may export a hall's register: staff who may read its bookings (hall scoping)."""
    return (
        user.is_active
        and user.is_staff
        and user.has_perm("appointments.view_appointment")
        and visible_halls(user).filter(pk=hall_id).exists()
    )


def register_export_request(*, register: RegisterFilter, actor, now: dt.datetime) -> RegisterExport:
    """DB1403/T 附录A: queue a register export; the worker writes it (register_export_run).

    The task is queued once the job row is committed, so the worker always finds it.
    """
    if not register_export_allowed(user=actor, hall_id=register.hall_id):
        raise PermissionDenied(_("You are not allowed to export this hall's register."))
    job = RegisterExport.objects.create(
        hall_id=register.hall_id, requested_by=actor, requested_at=now, params=register.to_json()
    )
    task_enqueue_on_commit(EXPORT_TASK, job.pk, group="register")
    return job


def register_export_run(*, export_id: int, now: dt.datetime) -> RegisterExport:
    """DB1403/T 附录A: write a queued export, recording its progress; safe to run twice (a job
    already written or failed is left as it is)."""
    with transaction.atomic():
        # Race: the broker delivers the task twice (a retry after a timeout). The row lock lets
        # one run take the job; the other then sees it is no longer queued.
        job = RegisterExport.objects.select_for_update().get(pk=export_id)
        if job.state != RegisterExport.State.QUEUED:
            return job
        job.state, job.started_at = RegisterExport.State.RUNNING, now
        job.save(update_fields=["state", "started_at"])
    user = job.requested_by
    try:
        register = RegisterFilter.from_json(job.params)
        if not register_export_allowed(user=user, hall_id=register.hall_id):
            raise PermissionDenied(_("You are not allowed to export this hall's register."))
        queryset = register_queryset(register=register, user=user)
        total = queryset.count()
        RegisterExport.objects.filter(pk=job.pk).update(rows_total=total)

        def progress(written: int) -> None:
            RegisterExport.objects.filter(pk=job.pk).update(rows_written=written)

        with tempfile.TemporaryFile() as out:
            written = register_write(
                rows=register_rows(queryset),
                subtitle=register_subtitle(register=register),
                out=out,
                progress=progress,
            )
            out.seek(0)
            job.refresh_from_db()
            job.file.save(register_file_name(register=register, job_id=job.pk), File(out))
        job.state, job.rows_written, job.rows_total = RegisterExport.State.DONE, written, written
    except OSError as error:  # a full disk, a folder not writable: no file is kept (yuyue/storage)
        logger.exception("Register export %s could not be written", job.pk)
        job.refresh_from_db()
        job.state, job.error = RegisterExport.State.FAILED, file_write_failure(error)
    except Exception as error:  # the job must say it failed rather than stay "being written"
        logger.exception("Register export %s failed", job.pk)
        job.refresh_from_db()
        job.state, job.error = RegisterExport.State.FAILED, str(error) or error.__class__.__name__
    # The moment writing ended, not the one it started at: a long export takes minutes.
    job.finished_at = timezone.now()
    job.save()
    return job


def register_exports_recover(*, now: dt.datetime) -> tuple[int, int]:
    """DB1403/T 附录A: an export asked for must end written or failed, never wait for ever.

    A job still queued REGISTER_EXPORT_REQUEUE_MINUTES after it was asked for lost its task (the
    broker was down when it was queued, or a worker was killed after taking it): queue it again
    (``register_export_run`` takes a job once, so a task that was only slow does no harm). A job
    "being written" for longer than the worker's task timeout was stopped with its worker: mark it
    failed, telling the person to ask again. Returns (re-queued, failed)."""
    queued = list(
        RegisterExport.objects.filter(
            state=RegisterExport.State.QUEUED,
            requested_at__lte=now - dt.timedelta(minutes=settings.REGISTER_EXPORT_REQUEUE_MINUTES),
        ).values_list("pk", flat=True)
    )
    for export_id in queued:
        task_enqueue_on_commit(EXPORT_TASK, export_id, group="register")
    interrupted = RegisterExport.objects.filter(
        state=RegisterExport.State.RUNNING,
        started_at__lte=now - dt.timedelta(seconds=settings.Q_CLUSTER["timeout"] + 60),
    ).update(
        state=RegisterExport.State.FAILED,
        finished_at=now,
        error=_("The export was interrupted (its worker stopped). Ask for it again."),
    )
    if queued or interrupted:
        logger.warning(
            "Register exports: %s queued again, %s interrupted.", len(queued), interrupted
        )
    return len(queued), interrupted


def register_file_name(*, register: RegisterFilter, job_id: int | None = None) -> str:
    """The file's name on disk (ASCII; the download gets a Chinese one)."""
    code = Hall.objects.values_list("code", flat=True).get(pk=register.hall_id)
    suffix = f"-{job_id}" if job_id else ""
    return f"register-{code}-{register.date_from}-{register.date_to}{suffix}.xlsx"


def register_download_name(*, register: RegisterFilter) -> str:
    """The name a downloaded register is saved under: 预约服务登记表-<hall>-<from>-<to>.xlsx."""
    hall = Hall.objects.values_list("name", flat=True).get(pk=register.hall_id)
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Appointment service register")
    return f"{title}-{hall}-{register.date_from}-{register.date_to}.xlsx"
