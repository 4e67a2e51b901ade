"""Personal data over time (个人信息保护法 art. 19, 47; yuyue/retention.py): after each kind's
retention period the daily ``anonymise`` sweep masks names, replaces numbers and empties the
free text, at its boundary, once; records under an open complaint or a pending appeal are held;
and every count, rate, register row and figure stays exactly as it was."""

import datetime as dt

import openpyxl
import pytest
from axes.models import AccessLog
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse

from appointments.models import Appointment, AppointmentEvent, ContactLog
from appointments.services import appointment_give_notice
from complaints.models import Complaint, ComplaintState, new_tracking_number
from evaluation.models import Rating, RatingAppeal
from evaluation.reporting.assessment import assessment_compute
from sms.models import Message, OutboxMessage, VerificationCode
from tests.conftest import START, at
from tests.test_assessment import SEPTEMBER, s1, s2, september  # noqa: F401 (fixtures)
from tests.test_dashboard import data, figures  # noqa: F401 (fixture)
from yuyue.retention import (
    ANONYMOUS_PHONE,
    held_bookings_q,
    personal_data_anonymise,
    text_masked,
)
from yuyue.sweeps import SWEEPS

THREE_YEARS = dt.timedelta(days=1095)
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def told(handed_over, window_staff):
    """The handed-over booking, its one-time notice given (its text names the applicant)."""
    appointment_give_notice(
        appointment=handed_over,
        method="phone",
        time_reconfirmed=True,
        actor=window_staff,
        now=START - dt.timedelta(days=1),
        outcome="张伟说会带齐材料",
    )
    type(handed_over).objects.filter(pk=handed_over.pk).update(remarks="张伟的委托人李四陪同")
    AppointmentEvent.objects.create(
        appointment=handed_over,
        at=START - dt.timedelta(days=1),
        action="notice",
        changes={"phone": ["+8613800138000", "+8613900139000"]},
    )
    handed_over.refresh_from_db()
    return handed_over


def complaint_about(booking, state, *, received, archived=None):
    return Complaint.objects.create(
        tracking_number=new_tracking_number(),
        hall=booking.window.hall,
        channel="phone",
        category="attitude",
        window=booking.window,
        appointment=booking,
        complainant_name="王五",
        complainant_phone="+8613700137000",
        text="王五投诉：窗口态度不好",
        reply_text="王五您好，已整改",
        state=state,
        received_at=received,
        archived_at=archived,
        accept_due=received.date(),
    )


class TestBookings:
    def test_anonymised_at_3_years_not_a_minute_before(self, told):
        """A booking's name and number stay for RETENTION_BOOKING_DAYS (1095) after its
        time: at 1095 days less a minute nothing; at 1095 days the name is masked, the number
        replaced, the remarks, the contact log and the history's number emptied."""
        assert personal_data_anonymise(now=START + THREE_YEARS - MINUTE)["bookings"] == 0
        told.refresh_from_db()
        assert (told.applicant_name, told.phone.as_e164) == ("张伟", "+8613800138000")
        assert personal_data_anonymise(now=START + THREE_YEARS)["bookings"] == 1
        told.refresh_from_db()
        assert told.applicant_name == "张*"
        assert told.phone == ANONYMOUS_PHONE
        assert told.remarks == ""
        assert told.anonymised_at == START + THREE_YEARS
        contact = ContactLog.objects.get(appointment=told)
        assert (contact.text, contact.outcome) == ("", "")
        event = AppointmentEvent.objects.filter(appointment=told, changes__has_key="phone").get()
        assert event.changes["phone"] == ["—", "—"]
        # What the record is stays: status, times, window, staff.
        assert told.status == "handed_over" and told.start == START
        assert told.contact_person is not None

    def test_running_twice_changes_nothing_more(self, told):
        later = START + THREE_YEARS
        personal_data_anonymise(now=later)
        told.refresh_from_db()
        first = (told.applicant_name, told.phone, told.anonymised_at)
        again = personal_data_anonymise(now=later + dt.timedelta(days=1))
        assert again["bookings"] == 0
        told.refresh_from_db()
        assert (told.applicant_name, told.phone, told.anonymised_at) == first

    def test_held_under_an_open_complaint_until_it_closes(self, told):
        complaint = complaint_about(told, ComplaintState.ACCEPTED, received=START)
        later = START + THREE_YEARS
        assert personal_data_anonymise(now=later)["bookings"] == 0
        told.refresh_from_db()
        assert told.applicant_name == "张伟"
        Complaint.objects.filter(pk=complaint.pk).update(
            state=ComplaintState.ARCHIVED, archived_at=later
        )
        assert personal_data_anonymise(now=later + MINUTE)["bookings"] == 1
        # The complaint's own period runs from its closing.
        complaint.refresh_from_db()
        assert complaint.complainant_name == "王五"

    def test_held_while_its_rating_is_under_appeal(self, told, window_staff, head):
        type(told).objects.filter(pk=told.pk).update(status="served", served_at=START)
        rating = Rating.objects.create(
            appointment=told,
            hall=told.window.hall,
            window=told.window,
            overall=1,
            efficiency=1,
            service_level=1,
            attitude=1,
            comment="张伟：太慢",
            source="sms_link",
            rated_at=START,
        )
        RatingAppeal.objects.create(
            rating=rating, reason="恶意评价", appealed_by=head, appealed_at=START + MINUTE
        )
        result = personal_data_anonymise(now=START + THREE_YEARS)
        assert (result["bookings"], result["ratings"]) == (0, 0)
        RatingAppeal.objects.update(state=RatingAppeal.State.REJECTED)
        result = personal_data_anonymise(now=START + THREE_YEARS)
        assert (result["bookings"], result["ratings"]) == (1, 1)
        rating.refresh_from_db()
        assert rating.comment == "" and rating.overall == 1


class TestComplaints:
    def test_closed_complaint_anonymised_3_years_after_closing(self, told):
        closed = START + dt.timedelta(days=10)
        complaint = complaint_about(told, ComplaintState.ARCHIVED, received=START, archived=closed)
        assert personal_data_anonymise(now=closed + THREE_YEARS - MINUTE)["complaints"] == 0
        assert personal_data_anonymise(now=closed + THREE_YEARS)["complaints"] == 1
        complaint.refresh_from_db()
        assert complaint.complainant_name == "王*"
        assert str(complaint.complainant_phone) == ""
        assert (complaint.text, complaint.reply_text) == ("—", "")
        assert complaint.state == ComplaintState.ARCHIVED and complaint.window == told.window
        assert personal_data_anonymise(now=closed + THREE_YEARS)["complaints"] == 0

    def test_open_complaint_is_never_due(self, told):
        complaint_about(told, ComplaintState.INVESTIGATED, received=START)
        assert personal_data_anonymise(now=START + 3 * THREE_YEARS)["complaints"] == 0


class TestMessagesCodesAndLogs:
    def test_sms_number_replaced_and_text_masked_to_its_length_after_180_days(self, told):
        # Only this message: the text the desk's registration sent, days older, is left aside.
        Message.objects.about(told).delete()
        message = Message.objects.create(
            phone="+8613800138000",
            purpose="reminder",
            text="张伟您好，您预约的业务……",
            context={"name": "张伟", "reference": told.reference},
            subject=told,
            created_at=START,
        )
        OutboxMessage.objects.create(
            message=message, phone="+8613800138000", text=message.text, created_at=START
        )
        assert personal_data_anonymise(now=START + dt.timedelta(days=180) - MINUTE)["messages"] == 0
        assert personal_data_anonymise(now=START + dt.timedelta(days=180))["messages"] == 1
        message.refresh_from_db()
        assert message.phone == ANONYMOUS_PHONE
        assert message.text == "＊" * len("张伟您好，您预约的业务……")
        assert message.context == {}  # the provider's template values, personal data too
        assert message.purpose == "reminder" and message.subject == told
        outbox = OutboxMessage.objects.get(message=message)
        assert (outbox.phone, outbox.text) == (ANONYMOUS_PHONE, "")
        assert personal_data_anonymise(now=START + dt.timedelta(days=181))["messages"] == 0

    def test_masked_text_keeps_its_alphabet(self):
        assert text_masked("Code 123456") == "*" * 11
        assert text_masked("验证码 123456") == "＊" * 10

    def test_verification_code_after_30_days(self, db):
        code = VerificationCode.objects.create(
            phone="+8613800138000",
            code_hash="x" * 64,
            client_address="192.0.2.7",
            created_at=START,
            expires_at=START + dt.timedelta(minutes=5),
        )
        assert personal_data_anonymise(now=START + dt.timedelta(days=30) - MINUTE)["codes"] == 0
        assert personal_data_anonymise(now=START + dt.timedelta(days=30))["codes"] == 1
        code.refresh_from_db()
        assert (code.phone, code.client_address) == (ANONYMOUS_PHONE, None)

    def test_staff_sign_in_logs_deleted_after_180_days(self, db):
        log = AccessLog.objects.create(
            user_agent="Chromium", ip_address="192.0.2.8", username="desk", path_info="/admin/"
        )
        AccessLog.objects.filter(pk=log.pk).update(attempt_time=START)
        assert (
            personal_data_anonymise(now=START + dt.timedelta(days=180) - MINUTE)["signin_logs"] == 0
        )
        assert personal_data_anonymise(now=START + dt.timedelta(days=180))["signin_logs"] == 1
        assert not AccessLog.objects.exists()

    def test_registered_as_a_daily_sweep(self):
        assert "anonymise" in SWEEPS


# --- every count, rate, register row and figure stays --------------------------------------------

FAR = at(2031, 1, 1)  # past every retention period of the data below
NAME, PHONE, REMARKS = 2, 3, 7  # 附录A columns: 序号, 登记日期, 姓名, 联系电话, …, 备注


def register_rows(tmp_path, name) -> list[tuple]:
    out = tmp_path / name
    call_command(
        "export_register",
        "--hall",
        "city",
        "--from",
        "2026-09-01",
        "--to",
        "2026-10-31",
        "-o",
        str(out),
    )
    return list(openpyxl.load_workbook(out).active.iter_rows(values_only=True))


def without_personal(rows):
    return [tuple(v for i, v in enumerate(row) if i not in (NAME, PHONE, REMARKS)) for row in rows]


def test_dashboard_and_register_export_stay_the_same(hall, data, tmp_path):  # noqa: F811
    cache.clear()
    before = figures(hall)
    rows_before = register_rows(tmp_path, "before.xlsx")
    done = personal_data_anonymise(now=FAR)
    assert done["bookings"] > 0
    cache.clear()
    assert figures(hall) == before
    rows_after = register_rows(tmp_path, "after.xlsx")
    assert len(rows_after) == len(rows_before) > 5
    assert without_personal(rows_after) == without_personal(rows_before)
    # Each row's person is gone, but for bookings held by an open complaint or bad review.
    data_rows = [r for r in rows_after if isinstance(r[0], int)]
    held = set(
        Appointment.objects.filter(held_bookings_q()).values_list("applicant_name", flat=True)
    )
    kept = [r for r in data_rows if r[PHONE] != "100 0000 0000"]
    assert len(kept) < len(data_rows)
    assert all(r[NAME] in held for r in kept)
    assert all("*" in r[NAME] for r in data_rows if r not in kept)


def test_assessment_stays_the_same(hall, september):  # noqa: F811
    now = at(2026, 10, 15)
    before = assessment_compute(hall_id=hall.pk, month=SEPTEMBER, now=now)
    done = personal_data_anonymise(now=FAR)
    assert done["bookings"] > 0 and done["ratings"] > 0 and done["complaints"] >= 0
    assert assessment_compute(hall_id=hall.pk, month=SEPTEMBER, now=now) == before


# --- the administrators' page --------------------------------------------------------------------


class TestPage:
    def test_administrator_sees_what_comes_due_and_when(
        self, client, make_user, hall, told, time_machine
    ):
        admin_user = make_user("admin", "administrator", hall)
        time_machine.move_to(START + THREE_YEARS - dt.timedelta(days=1), tick=False)
        client.force_login(admin_user)
        page = client.get(reverse("admin:index")).content.decode()
        assert reverse("retention") in page
        response = client.get(reverse("retention"))
        assert response.status_code == 200
        bookings = response.context["rows"][0]
        assert (bookings["days"], bookings["due_now"], bookings["held"]) == (1095, 0, 0)
        assert bookings["upcoming"] == [(told.reference, START + THREE_YEARS)]
        body = response.content.decode()
        assert told.reference in body and "张伟" not in body

    def test_held_records_are_counted_apart(self, client, make_user, hall, told, time_machine):
        complaint_about(told, ComplaintState.ACCEPTED, received=START)
        admin_user = make_user("admin", "administrator", hall)
        time_machine.move_to(START + THREE_YEARS, tick=False)
        client.force_login(admin_user)
        bookings = client.get(reverse("retention")).context["rows"][0]
        assert (bookings["due_now"], bookings["held"]) == (0, 1)

    def test_only_administrators(self, client, desk, supervisor, db):
        for user in (desk, supervisor):
            client.force_login(user)
            assert client.get(reverse("retention")).status_code == 403
            assert reverse("retention") not in client.get(reverse("admin:index")).content.decode()
