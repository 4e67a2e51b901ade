"""The register of DB1403/T 附录A in Excel: layout, values, print set-up, text safety, the
command line. Every test opens the written file with openpyxl."""

import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError

from appointments.models import Appointment
from appointments.register import (
    By,
    RegisterFilter,
    phone_national,
    register_export,
    register_queryset,
)
from appointments.services import appointment_book_online, appointment_register

from .conftest import START, THREE_DAYS_BEFORE, at

SEPTEMBER = {"date_from": dt.date(2026, 9, 1), "date_to": dt.date(2026, 9, 30)}


def book(matter, window, desk, name="张伟", start=START, now=THREE_DAYS_BEFORE, **kw):
    return appointment_register(
        matter=matter,
        window=window,
        start=start,
        applicant_name=name,
        phone=kw.pop("phone", "13800138000"),
        channel=kw.pop("channel", "onsite"),
        allow_duplicate=True,  # the same caller again: the register lists what was registered
        actor=desk,
        now=now,
        **kw,
    )


def export(hall, **kw) -> openpyxl.worksheet.worksheet.Worksheet:
    out = io.BytesIO()
    register_export(register=RegisterFilter(hall_id=hall.pk, **{**SEPTEMBER, **kw}), out=out)
    out.seek(0)
    return openpyxl.load_workbook(out).active


def body(ws):
    return list(ws.iter_rows(min_row=5, values_only=True))


class TestLayout:
    """DB1403/T 附录A: the appendix's title, two header rows and columns."""

    def test_title_subtitle_and_both_header_rows(self, hall, accepted):
        ws = export(hall)
        assert ws["A1"].value == "预约服务登记表"
        assert "阳泉市政务服务中心" in ws["A2"].value
        assert "2026-09-01" in ws["A2"].value and "2026-09-30" in ws["A2"].value
        assert [c.value for c in ws[3]] == [
            "序号",
            "登记日期",
            "预约人",
            None,
            "预约时间",
            "预约事项/内容",
            "受理人员",
            "备注",
        ]
        assert [c.value for c in ws[4]] == [None, None, "姓名", "联系电话", None, None, None, None]

    def test_single_headers_merge_over_both_rows_and_applicant_over_two_columns(
        self, hall, accepted
    ):
        ws = export(hall)
        merges = {str(r) for r in ws.merged_cells.ranges}
        assert merges == {
            "A1:H1",
            "A2:H2",
            "A3:A4",
            "B3:B4",
            "C3:D3",
            "E3:E4",
            "F3:F4",
            "G3:G4",
            "H3:H4",
        }

    def test_one_row_per_booking_numbered_from_one(self, hall, matter, no_rest_window, desk):
        for i in range(3):
            book(
                matter, no_rest_window, desk, name=f"申请人{i}", start=START + dt.timedelta(days=i)
            )
        rows = body(export(hall))
        assert [row[0] for row in rows] == [1, 2, 3]
        assert [row[2] for row in rows] == ["申请人0", "申请人1", "申请人2"]

    def test_print_set_up_a4_landscape_one_page_wide_headers_repeated(self, hall, accepted):
        ws = export(hall)
        assert ws.page_setup.orientation == "landscape"
        assert int(ws.page_setup.paperSize) == 9  # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert int(ws.page_setup.fitToWidth) == 1 and int(ws.page_setup.fitToHeight) == 0
        assert ws.print_title_rows == "$3:$4"
        assert ws.column_dimensions["F"].width > ws.column_dimensions["A"].width
        assert ws["F5"].alignment.wrap_text and ws["F5"].border.left.style == "thin"

    def test_empty_period_gives_headers_and_no_rows(self, hall):
        ws = export(hall, date_from=dt.date(2030, 1, 1), date_to=dt.date(2030, 1, 31))
        assert ws["A1"].value == "预约服务登记表" and ws["C4"].value == "姓名"
        assert body(ws) == []


class TestValues:
    """DB1403/T 附录A, 6.1.2: the recorded fields, with real dates in Asia/Shanghai."""

    def test_dates_and_times_are_real_excel_values_in_shanghai_time(self, hall, accepted):
        ws = export(hall)
        assert ws["B5"].value == dt.datetime(2026, 9, 13)  # registered 13 Sep 12:00 local
        assert ws["B5"].number_format == "yyyy-mm-dd"
        assert ws["E5"].value == dt.datetime(2026, 9, 16, 12, 0)  # stored as 04:00 UTC
        assert ws["E5"].number_format == "yyyy-mm-dd hh:mm"
        assert ws["B5"].data_type == "d" and ws["E5"].data_type == "d"

    def test_late_evening_registration_is_dated_by_the_local_day(
        self, hall, matter, no_rest_window, desk
    ):
        book(matter, no_rest_window, desk, now=at(2026, 9, 13, 23, 30))  # 15:30 UTC
        assert export(hall)["B5"].value == dt.datetime(2026, 9, 13)

    def test_phone_is_text_in_national_format(self, hall, matter, no_rest_window, desk):
        book(matter, no_rest_window, desk, phone="+86 138 0013 8000")
        book(matter, no_rest_window, desk, name="孙艳", phone="0353-2021012")
        ws = export(hall)
        assert ws["D5"].value == "138 0013 8000" and ws["D5"].data_type == "s"
        assert ws["D6"].value == "0353 202 1012"

    def test_mobile_fast_path_formats_as_phonenumbers_does(self):
        import phonenumbers

        for e164 in ("+8613800138000", "+8619912345678", "+8614712345678"):
            expected = phonenumbers.format_number(
                phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.NATIONAL
            )
            assert phone_national(e164) == expected

    def test_matter_content_staff_name_and_remarks(self, hall, matter, no_rest_window, desk):
        desk.first_name, desk.last_name = "敏", "王"
        desk.save()
        book(matter, no_rest_window, desk, content="设立个体户", remarks="带委托书")
        ws = export(hall)
        row = body(ws)[0]
        assert row[5] == "个体工商户设立登记\n设立个体户"
        assert ws.row_dimensions[5].height == 30  # two lines tall: wrapped text is seen whole
        assert row[6] == "王敏"  # the name, family name first; never the login
        assert row[7] == "带委托书"

    def test_only_accepted_bookings_of_the_hall_and_period(
        self, hall, matter, no_rest_window, desk
    ):
        """5.1.3 c: an online booking enters the register once reconfirmed."""
        book(matter, no_rest_window, desk, name="在册")
        book(matter, no_rest_window, desk, name="十月", start=at(2026, 10, 14, 12, 0))
        appointment_book_online(
            matter=matter,
            window=no_rest_window,
            start=START,
            applicant_name="待确认",
            phone="13900139000",
            now=THREE_DAYS_BEFORE,
        )
        assert [row[2] for row in body(export(hall))] == ["在册"]

    def test_period_by_registration_date(self, hall, matter, no_rest_window, desk):
        book(matter, no_rest_window, desk, name="八月登记", now=at(2026, 8, 31, 10))
        book(matter, no_rest_window, desk, name="九月登记", now=at(2026, 9, 1, 10))
        assert [r[2] for r in body(export(hall, by=By.REGISTRATION))] == ["九月登记"]
        assert len(body(export(hall, by=By.APPOINTMENT))) == 2

    def test_filters_window_channel_status(
        self, hall, matter, no_rest_window, regular_window, desk
    ):
        book(matter, no_rest_window, desk, name="午休")
        book(matter, regular_window, desk, name="电话", start=at(2026, 9, 16, 9), channel="phone")
        assert [r[2] for r in body(export(hall, window_id=regular_window.pk))] == ["电话"]
        assert [r[2] for r in body(export(hall, channel="phone"))] == ["电话"]
        assert body(export(hall, status="served")) == []


class TestTextSafety:
    """DB1403/T 附录A: whatever a person typed is written as text."""

    @pytest.mark.parametrize("typed", ["=1+1", "+86", "-HYPERLINK(1)", "@SUM(A1)", "=cmd|' /C'"])
    def test_formula_looking_input_stays_text(self, hall, matter, no_rest_window, desk, typed):
        book(matter, no_rest_window, desk, name=typed, content=typed, remarks=typed)
        out = io.BytesIO()
        register_export(register=RegisterFilter(hall_id=hall.pk, **SEPTEMBER), out=out)
        ws = openpyxl.load_workbook(io.BytesIO(out.getvalue())).active
        for ref in ("C5", "H5"):
            assert ws[ref].value == typed and ws[ref].data_type == "s", ref
            assert ws[ref].quotePrefix, ref
        sheet = zipfile.ZipFile(out).read("xl/worksheets/sheet1.xml").decode()
        assert "<f>" not in sheet

    def test_name_outside_the_basic_plane_survives(self, hall, matter, no_rest_window, desk):
        book(matter, no_rest_window, desk, name="𠮷野家")
        assert body(export(hall))[0][2] == "𠮷野家"

    def test_control_characters_are_dropped_not_fatal(self, hall, matter, no_rest_window, desk):
        book(matter, no_rest_window, desk, remarks="第一行\x07\x1b第二行")
        assert body(export(hall))[0][7] == "第一行第二行"


class TestScoping:
    def test_a_user_of_another_hall_gets_nothing(self, hall, accepted, make_user, other_hall):
        stranger = make_user("jq-desk", "desk", other_hall)
        register = RegisterFilter(hall_id=hall.pk, **SEPTEMBER)
        assert register_queryset(register=register, user=stranger).count() == 0
        assert register_queryset(register=register, user=accepted.received_by).count() == 1


class TestCommand:
    """manage.py export_register: the same file from the command line; bad input exits 2."""

    def test_writes_the_register(self, hall, accepted, tmp_path, capsys):
        path = tmp_path / "sep.xlsx"
        call_command(
            "export_register", "--hall", "city", "--from", "2026-09-01", "--to", "2026-09-30",
            "-o", str(path),
        )  # fmt: skip
        assert "1" in capsys.readouterr().out
        assert openpyxl.load_workbook(path).active["C5"].value == "张伟"

    def test_dry_run_counts_without_writing(self, hall, accepted, tmp_path, capsys):
        call_command(
            "export_register", "--hall", "city", "--from", "2026-09-01", "--to", "2026-09-30",
            "--dry-run",
        )  # fmt: skip
        assert "1 bookings would be written" in capsys.readouterr().out
        assert not list(tmp_path.iterdir())

    def test_empty_period_is_a_valid_file(self, hall, tmp_path):
        path = tmp_path / "empty.xlsx"
        call_command(
            "export_register", "--hall", "city", "--from", "2031-01-01", "--to", "2031-01-31",
            "-o", str(path),
        )  # fmt: skip
        ws = openpyxl.load_workbook(path).active
        assert ws.max_row == 4 and ws["A3"].value == "序号"

    @pytest.mark.parametrize(
        "args, message",
        [
            (["--hall", "nowhere", "--from", "2026-09-01", "--to", "2026-09-30"], "nowhere"),
            (["--hall", "city", "--from", "2026-09-30", "--to", "2026-09-01"], "after"),
            (["--hall", "city", "--from", "2026-02-30", "--to", "2026-09-01"], "2026-02-30"),
            (["--hall", "city", "--from", "yesterday", "--to", "2026-09-01"], "yesterday"),
        ],
        ids=["unknown-hall", "from-after-to", "no-such-day", "unreadable"],
    )
    def test_bad_input_is_a_clear_message_and_status_2(self, hall, tmp_path, args, message):
        out = ["-o", str(tmp_path / "x.xlsx")]
        with pytest.raises(CommandError, match=message) as excinfo:
            call_command("export_register", *args, *out)
        assert excinfo.value.returncode == 2
        with pytest.raises(SystemExit) as exit_info:
            execute_from_command_line(["manage.py", "export_register", *args, *out])
        assert exit_info.value.code == 2
        assert not (tmp_path / "x.xlsx").exists()

    def test_only_the_named_hall(self, hall, accepted, tmp_path, other_hall):
        path = tmp_path / "jq.xlsx"
        call_command(
            "export_register", "--hall", "jiaoqu", "--from", "2026-09-01", "--to", "2026-09-30",
            "-o", str(path),
        )  # fmt: skip
        assert openpyxl.load_workbook(path).active.max_row == 4
        assert Appointment.objects.count() == 1


class TestBodyRowWriter:
    """The body rows are formatted as strings (register._BodyRows.write_row) for speed; the
    sheet must be byte for byte what openpyxl's own cell writer makes of the same rows."""

    UTC = dt.UTC

    def row(self, name="张伟", phone="+8613800138000", content="", **kw):
        accepted = kw.pop("accepted_at", dt.datetime(2026, 9, 13, 4, 0, tzinfo=self.UTC))
        start = kw.pop("start", dt.datetime(2026, 9, 16, 1, 30, tzinfo=self.UTC))
        fields = {
            "matter": "个体工商户设立登记",
            "first": "敏",
            "last": "王",
            "username": "desk",
            "remarks": "",
            "status": "accepted",
            "short_notice": "",
            "cancel_reason": "",
            **kw,
        }
        return (
            accepted, name, phone, start, fields["matter"], content, fields["first"],
            fields["last"], fields["username"], fields["remarks"], fields["status"],
            fields["short_notice"], fields["cancel_reason"],
        )  # fmt: skip

    def rows(self):
        return [
            self.row(),
            self.row(name="  带空格 ", content="A & B <c> \"d\" 'e'", remarks="x > y"),
            self.row(name="   ", phone="", content="第一行\r\n第二行\t制表", username=""),
            self.row(name="=SUM(A1)", phone="+863532021012", remarks="+1", content="-2"),
            self.row(
                name="𠮷野家\x07", remarks="备" * 40_000, status="cancelled", cancel_reason="改期"
            ),  # fmt: skip
            self.row(content="个体工商户设立登记", short_notice="急办", status="no_show"),
            self.row(
                accepted_at=dt.datetime(2026, 9, 13, 16, 0, tzinfo=self.UTC),  # next local day
                start=dt.datetime(2026, 9, 16, 1, 30, 15, 123456, tzinfo=self.UTC),
                content="设立个体工商户，经营范围：日用百货零售" * 3,
            ),
            self.row(first="Anna", last="Smith", content="\n"),
        ]

    def sheet(self, monkeypatch, raw: bool) -> bytes:
        from appointments import register

        monkeypatch.setattr(register._BodyRows, "raw", raw)
        out = io.BytesIO()
        written = register.register_write(rows=self.rows(), subtitle="副标题 & <期间>", out=out)
        assert written == len(self.rows())
        sheet = zipfile.ZipFile(out).read("xl/worksheets/sheet1.xml")
        # The merges come out of a set, in no fixed order.
        head, _, tail = sheet.partition(b"<mergeCells")
        merges, _, rest = tail.partition(b"</mergeCells>")
        return head + b"".join(sorted(merges.split(b"<mergeCell "))) + rest

    def test_rows_are_byte_for_byte_what_openpyxl_writes(self, monkeypatch):
        fast = self.sheet(monkeypatch, raw=True)
        assert b'<row r="5">' in fast and b'xml:space="preserve"' in fast
        assert fast == self.sheet(monkeypatch, raw=False)

    def test_values_read_back(self, monkeypatch):
        from appointments import register

        monkeypatch.setattr(register._BodyRows, "raw", True)
        out = io.BytesIO()
        register.register_write(rows=self.rows(), subtitle="x", out=out)
        ws = openpyxl.load_workbook(out).active
        rows = list(ws.iter_rows(min_row=5, values_only=True))
        assert rows[0] == (
            1, dt.datetime(2026, 9, 13), "张伟", "138 0013 8000", dt.datetime(2026, 9, 16, 9, 30),
            "个体工商户设立登记", "王敏", None,
        )  # fmt: skip
        assert rows[1][2] == "  带空格 " and rows[1][5].endswith("A & B <c> \"d\" 'e'")
        assert rows[3][2] == "=SUM(A1)" and ws["C8"].quotePrefix and ws["C8"].data_type == "s"
        assert rows[4][2] == "𠮷野家" and len(rows[4][7]) == 32_767
        assert ws.row_dimensions[9].height == 409  # Excel's tallest row; the cell holds it all
        assert rows[6][1] == dt.datetime(2026, 9, 14)  # 16:00 UTC is past midnight in Shanghai
        assert ws.row_dimensions[11].height == 75  # the matter, then the content on four lines
        assert ws.row_dimensions[5].height is None
