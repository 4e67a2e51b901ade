"""The complaint ledger (投诉台账) in Excel (GB/T 36113; DB1403/T 7.3, 7.4): the layout of the
register of 附录A, the period, local times, text never read as a formula, and confidentiality —
masked for users without the permission, unmasked and logged for handlers."""

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from openpyxl import load_workbook

from complaints.ledger import ledger_export
from complaints.models import IdentityView
from complaints.services import complaint_register
from tests.conftest import at

NOW = at(2026, 9, 14, 10, 0)
LIST_URL = reverse("admin:complaints_complaint_changelist")
LEDGER_URL = reverse("admin:complaints_ledger")


@pytest.fixture
def complaints(desk, no_rest_window, head):
    def make(name, phone, text, now):
        return complaint_register(
            channel="phone",
            category="attitude",
            complainant_name=name,
            complainant_phone=phone,
            text=text,
            window=no_rest_window,
            staff=head,
            actor=desk,
            now=now,
        )

    return [
        make("李四", "13800138000", '=HYPERLINK("http://x")', at(2026, 9, 1, 0, 30)),
        make("王五", "13900139000", "态度生硬", at(2026, 9, 30, 23, 59)),
        make("赵六", "13700137000", "八月的", at(2026, 8, 31, 23, 59)),
        make("钱七", "13600136000", "十月的", at(2026, 10, 1, 0, 0)),
    ]


def read(data) -> list[tuple]:
    sheet = load_workbook(io.BytesIO(data)).active
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def cells(data):
    return load_workbook(io.BytesIO(data)).active


def export(hall, user=None, **period):
    out = io.BytesIO()
    written = ledger_export(
        hall_id=hall.pk,
        date_from=period.get("date_from", dt.date(2026, 9, 1)),
        date_to=period.get("date_to", dt.date(2026, 9, 30)),
        out=out,
        user=user,
        now=NOW,
    )
    return written, out.getvalue()


def test_layout_period_and_local_times(complaints, hall):
    """GB/T 36113, DB1403/T 7.3: title, hall and period, header, one row per complaint received
    in the period (local days, both ends), times in Asia/Shanghai wall time."""
    written, data = export(hall)
    rows = read(data)
    assert written == 2
    assert rows[0][0] in ("投诉台账", "Complaint ledger")  # until the integrator translates
    assert "阳泉市政务服务中心" in rows[1][0] and "2026-09-01" in rows[1][0]
    assert rows[2][0] in ("序号", "No.")
    body = rows[3:]
    assert [r[2] for r in body] == [complaints[0].tracking_number, complaints[1].tracking_number]
    assert body[0][1] == dt.datetime(2026, 9, 1, 0, 30)
    assert body[1][1] == dt.datetime(2026, 9, 30, 23, 59)
    assert body[0][11] == dt.datetime(2026, 9, 2)  # accept by


def test_formula_like_text_stays_text(complaints, hall):
    _written, data = export(hall)
    cell = cells(data)["H4"]
    assert cell.value == '=HYPERLINK("http://x")'
    assert cell.data_type == "s" and cell.quotePrefix


def test_masked_without_the_permission_and_nothing_logged(complaints, hall, desk):
    """GB/T 36113: the desk (no view_complainant_identity) gets masked names and numbers."""
    for user in (None, desk):
        _written, data = export(hall, user=user)
        text = repr(read(data))
        assert "李*" in text and "138****8000" in text
        assert "李四" not in text and "13800138000" not in text and "0013" not in text
    assert not IdentityView.objects.exists()


def test_unmasked_for_a_handler_and_logged(complaints, hall, supervisor):
    _written, data = export(hall, user=supervisor)
    body = read(data)[3:]
    assert (body[0][5], body[0][6]) == ("李四", "138 0013 8000")
    views = IdentityView.objects.filter(user=supervisor, where="ledger")
    assert {v.complaint for v in views} == {complaints[0], complaints[1]}


def test_the_staff_complained_about_sees_it_masked(complaints, hall, head, supervisor):
    from complaints.models import Complaint

    Complaint.objects.update(staff=supervisor)
    _written, data = export(hall, user=supervisor)
    assert "李四" not in repr(read(data))


def test_empty_period_has_the_headers_only(hall):
    written, data = export(hall)
    assert written == 0 and len(read(data)) == 3


def test_console_period_page_and_action(client, complaints, hall, desk, supervisor):
    """The ledger from the console: the period page and the list's action, masked for the
    desk."""
    client.force_login(desk)
    assert LEDGER_URL in client.get(LIST_URL).content.decode()
    assert client.get(LEDGER_URL).status_code == 200
    response = client.get(
        LEDGER_URL, {"hall": hall.pk, "date_from": "2026-09-01", "date_to": "2026-09-30"}
    )
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    text = repr(read(response.content))
    assert "李*" in text and "李四" not in text
    bad = client.get(
        LEDGER_URL, {"hall": hall.pk, "date_from": "2026-09-30", "date_to": "2026-09-01"}
    )
    assert bad.status_code == 200 and "errorlist" in bad.content.decode()
    client.force_login(supervisor)
    response = client.post(
        LIST_URL,
        {"action": "export_ledger", "_selected_action": [complaints[0].pk, complaints[2].pk]},
    )
    assert response.status_code == 200
    body = read(response.content)[3:]
    assert {r[2] for r in body} == {complaints[0].tracking_number, complaints[2].tracking_number}
    assert "李四" in repr(body)


def test_command_writes_the_file(complaints, hall, tmp_path, supervisor):
    target = tmp_path / "ledger.xlsx"
    call_command(
        "export_complaints", "--hall", "city", "--from", "2026-09-01", "--to", "2026-09-30",
        "-o", str(target),
    )  # fmt: skip
    text = repr(read(target.read_bytes()))
    assert "李*" in text and "李四" not in text
    call_command(
        "export_complaints", "--hall", "city", "--from", "2026-09-01", "--to", "2026-09-30",
        "-o", str(target), "--user", "supervisor",
    )  # fmt: skip
    assert "李四" in repr(read(target.read_bytes()))


@pytest.mark.parametrize(
    "args",
    [
        ["--hall", "nowhere", "--from", "2026-09-01", "--to", "2026-09-30", "-o", "x.xlsx"],
        ["--hall", "city", "--from", "2026-09-31", "--to", "2026-09-30", "-o", "x.xlsx"],
        ["--hall", "city", "--from", "2026-09-30", "--to", "2026-09-01", "-o", "x.xlsx"],
        ["--hall", "city", "--from", "2026-09-01", "--to", "2026-09-30"],
        ["--hall", "city", "--from", "2026-09-01", "--to", "2026-09-30", "-o", "x", "--user", "n"],
    ],
)
def test_command_bad_arguments_exit_2(hall, args):
    with pytest.raises(CommandError) as excinfo:
        call_command("export_complaints", *args)
    assert excinfo.value.returncode == 2


def test_period_page_shows_its_default_dates(client, supervisor):
    """<input type="date"> needs YYYY-MM-DD: the locale's 2026/09/01 would show an empty box."""
    client.force_login(supervisor)
    with time_machine.travel(at(2026, 9, 14, 10), tick=False):
        page = client.get(LEDGER_URL).content.decode()
    assert 'name="date_from" value="2026-09-01"' in page
    assert 'name="date_to" value="2026-09-14"' in page
