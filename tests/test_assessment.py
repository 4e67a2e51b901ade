"""The monthly assessment of windows and staff (DB1403/T 7.4), its Excel export, the staff page
and the export_assessment command, on a hand-counted data set."""

import datetime as dt
import io
import itertools

import openpyxl
import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appointments.models import Appointment, ChangeRequest, NoShowFollowUp
from complaints.models import Complaint, ComplaintStep
from duty.models import Duty, DutyAssignment, Inspection, InspectionFinding, Window
from evaluation.models import Level, Rating, RatingSource
from evaluation.months import month_clean
from evaluation.reporting.assessment import (
    AssessmentScope,
    assessment_compute,
    assessment_scope,
    formula_text,
)

from .conftest import at

pytestmark = pytest.mark.no_standing_roster

SEPTEMBER = dt.date(2026, 9, 1)
NOW = at(2026, 10, 15, 12)
FORMULA = {
    "base": 100,
    "rates": {
        "punctuality": 10,
        "served_on_time": 10,
        "follow_ups_on_time": 10,
        "good_review_rate": 20,
    },
    "deductions": {"change_breaches": 5, "substantiated_complaints": 10, "findings": 5},
    "floor": 0,
}
_refs = itertools.count(1)


@pytest.fixture(autouse=True)
def _formula(settings):
    settings.ASSESSMENT_FORMULA = FORMULA
    settings.SERVED_ON_TIME_MINUTES = 60
    settings.NO_SHOW_FOLLOW_UP_RECORD_MINUTES = 30
    settings.CHANGE_NOTICE_MIN_HOURS = 8
    settings.DUTY_ABSENT_AFTER_MINUTES = 15


# --- building records directly (the services are tested elsewhere) -----------------------------


def booking(matter, window, start, staff=None, **fields):
    fields.setdefault("status", "accepted")
    fields.setdefault("accepted_at", start - dt.timedelta(days=3))
    return Appointment.objects.create(
        reference=f"T{next(_refs):07d}",
        channel="onsite",
        matter=matter,
        window=window,
        start=start,
        end=start + dt.timedelta(minutes=30),
        applicant_name="张伟",
        phone="+8613800138000",
        created_at=start - dt.timedelta(days=3),
        responsible_staff=staff,
        window_head=window.head,
        **fields,
    )


def served(matter, window, start, staff, *, arrived, finished):
    """A booking served: arrived ``arrived`` and finished ``finished`` minutes after the start."""
    return booking(
        matter,
        window,
        start,
        staff,
        status="served",
        arrived_at=start + dt.timedelta(minutes=arrived),
        served_at=start + dt.timedelta(minutes=finished),
    )


def rate(appointment, level, *, excluded=False):
    return Rating.objects.create(
        appointment=appointment,
        hall=appointment.window.hall,
        window=appointment.window,
        staff=appointment.responsible_staff,
        overall=level,
        efficiency=level,
        service_level=level,
        attitude=level,
        source=RatingSource.SMS_LINK,
        rated_at=appointment.served_at + dt.timedelta(hours=1),
        excluded=excluded,
        excluded_reason="恶意评价" if excluded else "",
    )


def duty(window, staff, start, *, late_minutes=None):
    """A duty of ``staff`` at ``start``: checked in ``late_minutes`` after the start (0 = on
    time), or never (None: an absence)."""
    d, _created = Duty.objects.get_or_create(
        window=window,
        start=start,
        defaults={"date": start.date(), "end": start + dt.timedelta(hours=1, minutes=30)},
    )
    checked = None if late_minutes is None else start + dt.timedelta(minutes=late_minutes)
    return DutyAssignment.objects.create(
        duty=d,
        staff=staff,
        checked_in_at=checked,
        is_late=bool(late_minutes),
        absence_recorded_at=start + dt.timedelta(minutes=15) if checked is None else None,
    )


def change(matter, window, staff, original_start, *, notice, emergency=False, actor):
    """A change applied, told to the applicant ``notice`` before the original start."""
    appointment = booking(matter, window, original_start, staff)
    return ChangeRequest.objects.create(
        appointment=appointment,
        state=ChangeRequest.State.APPLIED,
        original_start=original_start,
        original_window=window,
        new_start=original_start + dt.timedelta(days=1),
        new_window=window,
        reason="设备故障",
        requested_by=actor,
        requested_at=original_start - dt.timedelta(days=1),
        is_emergency=emergency,
        emergency_reason="停电" if emergency else "",
        notified_at=original_start - notice,
        notice_method="phone",
    )


def follow_up(matter, window, assignee, start, *, recorded_after=None):
    """A no-show follow-up due 30 min after ``start``, recorded ``recorded_after`` its due time
    (None: still open)."""
    appointment = booking(matter, window, start, status="no_show")
    due = start + dt.timedelta(minutes=30)
    return NoShowFollowUp.objects.create(
        appointment=appointment,
        slot_start=start,
        due_at=due,
        opened_at=due,
        assigned_to=assignee,
        outcome="gave_up" if recorded_after is not None else "",
        recorded_at=due + recorded_after if recorded_after is not None else None,
        recorded_by=assignee if recorded_after is not None else None,
    )


def complaint(hall, window, staff, *, decided_at, substantiated, category="attitude"):
    c = Complaint.objects.create(
        tracking_number=f"C{next(_refs):09d}",
        hall=hall,
        channel="on_site",
        category=category,
        window=window,
        staff=staff,
        complainant_name="李四",
        text="态度不好",
        state="decided" if decided_at else "registered",
        received_at=(decided_at or NOW) - dt.timedelta(days=3),
        accept_due=((decided_at or NOW) - dt.timedelta(days=2)).date(),
        substantiated=substantiated,
        decided_at=decided_at,
    )
    if decided_at:
        ComplaintStep.objects.create(
            complaint=c, at=decided_at, from_state="investigated", to_state="decided"
        )
    return c


def inspection(window, inspector, at_, findings):
    i = Inspection.objects.create(window=window, at=at_, inspector=inspector, recorded_at=at_)
    for kind, staff in findings:
        InspectionFinding.objects.create(inspection=i, kind=kind, staff=staff)
    return i


@pytest.fixture
def s1(make_user, hall, no_rest_window):
    return make_user("s1", "window_staff", hall, no_rest_window)


@pytest.fixture
def s2(make_user, hall, regular_window):
    return make_user("s2", "window_staff", hall, regular_window)


@pytest.fixture
def september(hall, matter, no_rest_window, regular_window, head, s1, s2, supervisor):
    """The hand-counted month (September 2026). Window A01 (head, s1); window A02 (s2).

    A01 duties: s1 on time twice, late once, absent once; head on time once → A01 3/5, s1 2/4,
    head 1/1.
    A01 served (s1): on time (arrived early, done at +40), on time (arrived 30 min late, done
    at +85 = arrival + 55), on time at exactly +60, late at +61 → 3/4.
    Ratings: very satisfied, satisfied, dissatisfied, and a very dissatisfied one excluded after
    an appeal → 2 good of 3 counted.
    Changes at A01 (s1's bookings): told 8 h 0 min before (in time), 7 h 59 min (a breach), 2 h
    as a recorded emergency → 1 breach, 1 emergency.
    Follow-ups: s1 recorded at +30 min (on time) and +31 min (late); the head's still open → A01
    1/3, s1 1/2, head 0/1.
    Complaints: one substantiated about s1 at A01 decided 09-25; one substantiated decided
    10-02 and one unsubstantiated (not counted).
    Inspection of A01 on 09-10: two findings, one naming s1.
    A02: one booking served on time by s2, not rated. Outside the month: a booking served on
    10-01 at A01 and a duty on 08-31.
    """
    w1, w2 = no_rest_window, regular_window
    duty(w1, s1, at(2026, 9, 5, 12), late_minutes=0)
    duty(w1, s1, at(2026, 9, 6, 12), late_minutes=0)
    duty(w1, s1, at(2026, 9, 12, 12), late_minutes=5)
    duty(w1, s1, at(2026, 9, 13, 12), late_minutes=None)
    duty(w1, head, at(2026, 9, 19, 12), late_minutes=0)
    duty(w1, s1, at(2026, 8, 31, 12), late_minutes=None)  # August
    b1 = served(matter, w1, at(2026, 9, 16, 12), s1, arrived=-10, finished=40)
    b2 = served(matter, w1, at(2026, 9, 17, 12), s1, arrived=30, finished=85)
    b3 = served(matter, w1, at(2026, 9, 18, 12), s1, arrived=-5, finished=60)
    b4 = served(matter, w1, at(2026, 9, 21, 12), s1, arrived=-5, finished=61)
    rate(b1, Level.VERY_SATISFIED)
    rate(b2, Level.SATISFIED)
    rate(b3, Level.DISSATISFIED)
    rate(b4, Level.VERY_DISSATISFIED, excluded=True)
    october = served(matter, w1, at(2026, 10, 1, 12), s1, arrived=0, finished=200)
    rate(october, Level.VERY_DISSATISFIED)
    hours = dt.timedelta(hours=1)
    change(matter, w1, s1, at(2026, 9, 22, 20), notice=8 * hours, actor=head)
    change(
        matter, w1, s1, at(2026, 9, 23, 20), notice=8 * hours - dt.timedelta(minutes=1), actor=head
    )
    change(matter, w1, s1, at(2026, 9, 24, 20), notice=2 * hours, emergency=True, actor=head)
    minute = dt.timedelta(minutes=1)
    follow_up(matter, w1, s1, at(2026, 9, 25, 12), recorded_after=30 * minute)
    follow_up(matter, w1, s1, at(2026, 9, 26, 12), recorded_after=31 * minute)
    follow_up(matter, w1, head, at(2026, 9, 27, 12), recorded_after=None)
    complaint(hall, w1, s1, decided_at=at(2026, 9, 25, 10), substantiated=True)
    complaint(hall, w1, s1, decided_at=at(2026, 10, 2, 10), substantiated=True)
    complaint(hall, w1, s1, decided_at=at(2026, 9, 26, 10), substantiated=False)
    inspection(w1, supervisor, at(2026, 9, 10, 12, 30), [("absent", s1), ("delay", None)])
    served(matter, w2, at(2026, 9, 16, 10), s2, arrived=0, finished=20)
    return {"w1": w1, "w2": w2}


def rows_by(assessment):
    return {row.pk: row for row in assessment.windows}, {row.pk: row for row in assessment.staff}


class TestFormulaOnAKnownMonth:
    def test_window_figures_7_4(self, september, hall):
        windows, _staff = rows_by(assessment_compute(hall_id=hall.pk, month=SEPTEMBER, now=NOW))
        a01, a02 = windows[september["w1"].pk], windows[september["w2"].pk]
        assert a01.rates["punctuality"] == pytest.approx(3 / 5)
        assert a01.rates["served_on_time"] == pytest.approx(3 / 4)
        assert a01.counts["change_breaches"] == 1
        assert a01.counts["change_emergencies"] == 1
        assert a01.counts["changes"] == 3
        assert a01.rates["follow_ups_on_time"] == pytest.approx(1 / 3)
        assert a01.counts["substantiated_complaints"] == 1
        assert a01.counts["findings"] == 2
        assert a01.rates["good_review_rate"] == pytest.approx(2 / 3)
        assert (a01.counts["rated"], a01.counts["good"]) == (3, 2)
        # 100 − 10×0.4 − 10×0.25 − 10×(2/3) − 20×(1/3) − 5×1 − 10×1 − 5×2 = 55.17
        assert a01.score == 55.2
        assert a02.rates["served_on_time"] == 1.0
        assert a02.rates["good_review_rate"] is None  # not rated: no data, not 0 %
        assert a02.rates["punctuality"] is None
        assert a02.score == 100.0

    def test_staff_figures_7_4(self, september, hall, head, s1, s2):
        _windows, staff = rows_by(assessment_compute(hall_id=hall.pk, month=SEPTEMBER, now=NOW))
        assert staff[s1.pk].rates["punctuality"] == pytest.approx(2 / 4)
        assert staff[s1.pk].rates["follow_ups_on_time"] == pytest.approx(1 / 2)
        assert staff[s1.pk].counts["change_breaches"] == 1
        assert staff[s1.pk].counts["substantiated_complaints"] == 1
        assert staff[s1.pk].counts["findings"] == 1
        # 100 − 10×0.5 − 10×0.25 − 10×0.5 − 20×(1/3) − 5×1 − 10×1 − 5×1 = 60.83
        assert staff[s1.pk].score == 60.8
        assert staff[head.pk].rates["punctuality"] == 1.0
        assert staff[head.pk].rates["follow_ups_on_time"] == 0.0
        assert staff[head.pk].score == 90.0
        assert staff[s2.pk].score == 100.0
        assert staff[s1.pk].extra["window"] == "A01"

    def test_each_score_shows_its_formula_worked_out_7_4(self, september, hall, s1):
        assessment = assessment_compute(hall_id=hall.pk, month=SEPTEMBER, now=NOW)
        _windows, staff = rows_by(assessment)
        assert staff[s1.pk].worked == (
            "100 − 10×(1−0.50) − 10×(1−0.75) − 10×(1−0.50) − 20×(1−0.67) − 5×1 − 10×1 − 5×1 = 60.8"
        )
        assert "100" in assessment.formula and "10" in assessment.formula

    def test_weights_come_from_the_setting_7_4(self, september, hall, settings):
        settings.ASSESSMENT_FORMULA = {"base": 50, "deductions": {"findings": 20}, "floor": 20}
        windows, _staff = rows_by(assessment_compute(hall_id=hall.pk, month=SEPTEMBER, now=NOW))
        # 50 − 20×2 = 10, floored at 20; rates cost nothing without weights.
        assert windows[september["w1"].pk].score == 20.0
        assert windows[september["w2"].pk].score == 50.0

    def test_a_misspelt_formula_is_refused_not_ignored(self, hall, settings):
        settings.ASSESSMENT_FORMULA = {"base": 100, "deductions": {"finding": 5}}
        with pytest.raises(ImproperlyConfigured, match="deductions.finding"):
            formula_text()

    def test_an_inactive_window_with_records_still_has_its_row(self, september, hall):
        Window.objects.filter(pk=september["w1"].pk).update(is_active=False)
        windows, _staff = rows_by(assessment_compute(hall_id=hall.pk, month=SEPTEMBER, now=NOW))
        assert september["w1"].pk in windows

    def test_other_halls_records_do_not_count(self, september, other_hall, hall):
        windows, staff = rows_by(
            assessment_compute(hall_id=other_hall.pk, month=SEPTEMBER, now=NOW)
        )
        assert windows == {} and staff == {}


class TestMonths:
    def test_a_month_not_started_is_refused(self, hall):
        with pytest.raises(ValidationError) as excinfo:
            assessment_compute(hall_id=hall.pk, month=dt.date(2026, 11, 1), now=NOW)
        assert excinfo.value.error_dict["month"][0].code == "future"

    def test_the_current_month_counts_up_to_now(self, september, hall, s1, no_rest_window):
        # A duty later today is neither on time nor absent yet.
        duty(no_rest_window, s1, at(2026, 10, 15, 18), late_minutes=None)
        _w, staff = rows_by(
            assessment_compute(hall_id=hall.pk, month=dt.date(2026, 10, 1), now=NOW)
        )
        assert staff[s1.pk].rates["punctuality"] is None

    @pytest.mark.parametrize("bad", ["2026-13", "2026/09", "", "sept"])
    def test_unreadable_months(self, bad):
        with pytest.raises(ValidationError):
            month_clean(bad)

    def test_a_date_must_be_the_first(self):
        with pytest.raises(ValidationError):
            month_clean(dt.date(2026, 9, 2))
        assert month_clean("2026-09") == SEPTEMBER


class TestQueries:
    def _count(self, hall):
        with CaptureQueriesContext(connection) as queries:
            assessment_compute(hall_id=hall.pk, month=SEPTEMBER, now=NOW)
        return len(queries)

    def test_queries_do_not_grow_with_windows_staff_or_bookings(
        self, september, hall, matter, department, make_user, django_assert_max_num_queries
    ):
        small = self._count(hall)
        for n in range(8):
            w = Window.objects.create(hall=hall, number=f"Z{n}", name=f"窗口{n}", is_no_rest=True)
            w.departments.add(department)
            person = make_user(f"z{n}", "window_staff", hall, w)
            for day in range(1, 6):
                b = served(matter, w, at(2026, 9, day, 12), person, arrived=0, finished=30)
                rate(b, Level.SATISFIED)
                duty(w, person, at(2026, 9, day, 18), late_minutes=day % 2)
        with django_assert_max_num_queries(small):
            assessment_compute(hall_id=hall.pk, month=SEPTEMBER, now=NOW)
        assert small <= 12


# --- the Excel export, the command and the staff page --------------------------------------------


class TestExport:
    def test_workbook_has_title_hall_month_formula_and_rows_7_4(
        self, september, hall, s1, tmp_path
    ):
        s1.first_name = "=HYPERLINK(1)"
        s1.save()
        out = tmp_path / "a.xlsx"
        call_command("export_assessment", "--hall", "city", "--month", "2026-09", "-o", str(out))
        wb = openpyxl.load_workbook(out)
        assert len(wb.sheetnames) == 2
        ws = wb.worksheets[0]
        assert "考核" in ws["A1"].value or "Assessment" in ws["A1"].value
        assert ws["A2"].value == "阳泉市政务服务中心  2026-09"
        assert "100" in ws["A3"].value
        assert "A1:" in str(ws.merged_cells)
        headers = [c.value for c in ws[4]]
        body = {row[0].value: row for row in ws.iter_rows(min_row=5)}
        a01 = body[str(september["w1"])]
        score_col = len(headers) - 2
        assert a01[score_col].value == 55.2
        assert a01[1].value == pytest.approx(0.6)
        assert a01[1].number_format == "0.0%"
        a02 = body[str(september["w2"])]
        assert a02[1].value == "—"
        staff = wb.worksheets[1]
        names = {row[0].value: row for row in staff.iter_rows(min_row=5)}
        injected = names["=HYPERLINK(1)"][0]
        assert injected.data_type == "s"
        assert injected.quotePrefix
        assert staff.print_title_rows == "$4:$4"
        assert staff.page_setup.orientation == "landscape"

    def test_command_bad_arguments_exit_2(self, hall, tmp_path):
        out = str(tmp_path / "x.xlsx")
        for args in (
            ["--hall", "nowhere", "--month", "2026-09", "-o", out],
            ["--hall", "city", "--month", "2026-9x", "-o", out],
            ["--hall", "city", "--month", "2999-01", "-o", out],
        ):
            with pytest.raises(CommandError) as excinfo:
                call_command("export_assessment", *args)
            assert excinfo.value.returncode == 2

    def test_command_exit_status_from_the_shell(self, hall, tmp_path):
        from django.core.management import ManagementUtility

        utility = ManagementUtility(
            ["manage.py", "export_assessment", "--hall", "nowhere", "--month", "2026-09"]
            + ["-o", str(tmp_path / "x.xlsx")]
        )
        with pytest.raises(SystemExit) as excinfo:
            utility.execute()
        assert excinfo.value.code == 2


class TestStaffPage:
    URL = "admin:evaluation_assessment"

    def test_supervisor_sees_the_table_and_the_formula_7_4(
        self, client, september, supervisor, django_assert_max_num_queries
    ):
        client.force_login(supervisor)
        response = client.get(reverse(self.URL), {"month": "2026-09"})
        assert response.status_code == 200
        page = response.content.decode()
        assert "55.2" in page and "60.8" in page
        assert "− 5×1" in page or "− 5×1".replace("−", "&minus;") in page
        assert response.context["assessment"].formula in page

    def test_export_button_downloads_the_workbook(self, client, september, supervisor):
        client.force_login(supervisor)
        response = client.get(reverse(self.URL), {"month": "2026-09", "export": "1"})
        assert response.status_code == 200
        assert "attachment" in response["Content-Disposition"]
        wb = openpyxl.load_workbook(io.BytesIO(response.content))
        assert wb.worksheets[0]["A2"].value.endswith("2026-09")

    def test_bad_month_is_a_message_not_an_error(self, client, supervisor, hall):
        client.force_login(supervisor)
        for month in ("2026-13", "2999-01", "x"):
            response = client.get(reverse(self.URL), {"month": month})
            assert response.status_code == 200
            assert response.context["form"].errors

    def test_another_halls_supervisor_cannot_pick_this_hall(
        self, client, september, other_hall, make_user, hall
    ):
        outsider = make_user("outsider", "supervisor", other_hall)
        client.force_login(outsider)
        response = client.get(reverse(self.URL), {"month": "2026-09", "hall": hall.pk})
        assert response.status_code == 200
        assert response.context["form"].errors
        assert "55.2" not in response.content.decode()

    def test_page_queries_do_not_grow(
        self, client, september, supervisor, hall, matter, department, make_user
    ):
        client.force_login(supervisor)
        with CaptureQueriesContext(connection) as small:
            client.get(reverse(self.URL), {"month": "2026-09"})
        for n in range(6):
            w = Window.objects.create(hall=hall, number=f"Y{n}", name=f"窗口{n}")
            w.departments.add(department)
            person = make_user(f"y{n}", "window_staff", hall, w)
            served(matter, w, at(2026, 9, 3, 12), person, arrived=0, finished=30)
        with CaptureQueriesContext(connection) as large:
            client.get(reverse(self.URL), {"month": "2026-09"})
        assert len(large) == len(small)


# --- who sees which rows (DB1403/T 7.4, 6.2.5) ---------------------------------------------------

URL = "admin:evaluation_assessment"


def page(client, user, **params):
    client.force_login(user)
    return client.get(reverse(URL), {"month": "2026-09", **params})


def shown(response):
    """(window pks, staff pks) of the rows on the page."""
    assessment = response.context["assessment"]
    return {r.pk for r in assessment.windows}, {r.pk for r in assessment.staff}


@pytest.fixture
def head2(make_user, hall, september):
    """The head of window A02 (s2's window)."""
    user = make_user("head2", "window_head", hall)
    Window.objects.filter(pk=september["w2"].pk).update(head=user)
    return user


class TestScope:
    def test_supervisors_and_administrators_read_the_whole_hall(self, supervisor, make_user, hall):
        assert assessment_scope(user=supervisor) == AssessmentScope()
        administrator = make_user("adm", "administrator", hall)
        assert assessment_scope(user=administrator).whole_hall

    def test_a_head_reads_their_windows_and_those_windows_staff_6_2_5(
        self, september, head, s1, s2
    ):
        scope = assessment_scope(user=head)
        assert scope.window_ids == {september["w1"].pk}
        assert scope.staff_ids == {head.pk, s1.pk}  # not s2, of window A02

    def test_window_staff_read_their_own_row_and_their_window(self, september, s1):
        scope = assessment_scope(user=s1)
        assert scope.window_ids == {september["w1"].pk}
        assert scope.staff_ids == {s1.pk}

    def test_everyone_else_reads_nothing(self, september, desk, approver, make_user, hall):
        heads_nothing = make_user("idle-head", "window_head", hall)
        no_window = make_user("no-window", "window_staff", hall)
        for user in (desk, approver, heads_nothing, no_window):
            assert assessment_scope(user=user) is None, user.username
        no_window.is_active = False
        assert assessment_scope(user=no_window) is None


class TestPageByRole:
    def test_supervisor_sees_every_row(self, client, september, supervisor, head, s1, s2):
        windows, staff = shown(page(client, supervisor))
        assert windows == {september["w1"].pk, september["w2"].pk}
        assert {head.pk, s1.pk, s2.pk} <= staff

    def test_head_sees_their_window_and_its_staff_only(self, client, september, head, s1, s2):
        response = page(client, head)
        assert response.status_code == 200
        assert shown(response) == ({september["w1"].pk}, {head.pk, s1.pk})
        body = response.content.decode()
        assert "55.2" in body and "60.8" in body  # A01's and s1's scores
        assert str(september["w2"]) not in body

    def test_head_of_another_window_sees_nothing_of_the_others(
        self, client, september, head2, head, s1, s2
    ):
        response = page(client, head2)
        assert response.status_code == 200
        # head2 has no row of their own: attached to no window, named in no record of the month.
        assert shown(response) == ({september["w2"].pk}, {s2.pk})
        body = response.content.decode()
        assert "55.2" not in body and "60.8" not in body
        assert str(september["w1"]) not in body

    def test_window_staff_see_their_own_row_and_their_window(self, client, september, s1, head):
        response = page(client, s1)
        assert response.status_code == 200
        assert shown(response) == ({september["w1"].pk}, {s1.pk})
        assert "90.0" not in response.content.decode()  # the head's score

    @pytest.mark.parametrize("who", ["desk", "approver"])
    def test_everyone_else_gets_403(self, client, september, request, who):
        user = request.getfixturevalue(who)
        assert page(client, user).status_code == 403
        assert page(client, user, export="1").status_code == 403

    def test_a_user_of_another_hall_sees_nothing_of_this_one(
        self, client, september, other_hall, make_user, hall, department
    ):
        outsider = make_user("jq-head", "window_head", other_hall)
        Window.objects.create(hall=other_hall, number="B01", name="郊区窗口", head=outsider)
        response = page(client, outsider)
        assert response.status_code == 200
        assert response.context["assessment"].hall_id == other_hall.pk
        windows, staff = shown(response)
        assert september["w1"].pk not in windows and staff == set()
        response = page(client, outsider, hall=hall.pk)
        assert response.context["form"].errors and response.context["assessment"] is None
        assert page(client, outsider, hall=hall.pk, export="1").status_code == 200
        assert "attachment" not in page(client, outsider, hall=hall.pk, export="1").headers.get(
            "Content-Disposition", ""
        )

    def test_the_export_follows_the_same_scope(self, client, september, s1, head2, s2):
        def sheets(user):
            response = page(client, user, export="1")
            assert response.status_code == 200
            wb = openpyxl.load_workbook(io.BytesIO(response.content))
            return [[row[0].value for row in ws.iter_rows(min_row=5)] for ws in wb.worksheets]

        assert sheets(s1) == [[str(september["w1"])], ["s1"]]
        windows, staff = sheets(head2)
        assert (windows, staff) == ([str(september["w2"])], ["s2"])

    def test_the_console_front_page_links_it_for_whoever_may_open_it(
        self, client, september, head, s1, desk
    ):
        url = reverse(URL)
        for user in (head, s1):
            client.force_login(user)
            assert url in client.get(reverse("admin:index")).content.decode(), user.username
        client.force_login(desk)
        assert url not in client.get(reverse("admin:index")).content.decode()


# --- every number links to the records behind it ------------------------------------------------


def page_links(response):
    import re

    html = response.content.decode()
    return sorted(set(re.findall(r'href="(/admin/[^"#]+\?[^"]*)"', html)))


def opened(client, url):
    return client.get(url.replace("&amp;", "&"))


class TestLinks:
    @pytest.mark.parametrize("who", ["supervisor", "head", "s1"])
    def test_every_link_on_the_page_opens_its_list(self, client, september, request, who):
        """An admin list refuses an unknown lookup with a 400 or a redirect to "?e=1"."""
        user = request.getfixturevalue(who)
        response = page(client, user)
        urls = [u for u in page_links(response) if "export=" not in u]
        rows = len(response.context["assessment"].windows) + len(
            response.context["assessment"].staff
        )
        # Four rate cells, late and absent, breaches and emergencies, and — for supervisors —
        # complaints and findings: at least eight lists per row.
        assert len(urls) >= 8 * rows
        for url in urls:
            list_page = opened(client, url)
            assert list_page.status_code == 200, url
            assert "cl" in list_page.context, url

    def test_links_of_the_month_still_running_open_too(self, client, september, supervisor):
        """This month's lists stop at now (an aware time in the query string)."""
        from django.utils import timezone

        month = timezone.localdate().strftime("%Y-%m")
        response = page(client, supervisor, month=month)
        urls = [u for u in page_links(response) if "export=" not in u]
        assert any("__lt=" in u and "%2B08%3A00" in u for u in urls)
        for url in urls:
            assert opened(client, url).status_code == 200, url

    def test_staff_get_no_link_to_lists_they_may_not_view(self, client, september, s1):
        response = page(client, s1)
        (row,) = response.context["assessment"].staff
        assert row.extra["links"]["complaints"] is None  # complaints are not theirs to read
        assert row.extra["links"]["findings"] is None
        assert "/admin/complaints/" not in response.content.decode()

    def _count(self, client, url):
        list_page = opened(client, url)
        assert list_page.status_code == 200, url
        return list_page.context["cl"].result_count

    def test_the_lists_hold_exactly_the_counted_records_7_4(
        self, client, september, supervisor, s1
    ):
        response = page(client, supervisor)
        windows, staff = rows_by(response.context["assessment"])
        a01, a02, person = windows[september["w1"].pk], windows[september["w2"].pk], staff[s1.pk]
        links = a01.extra["links"]
        # Served bookings: 4 at A01 (the October one left out), 1 at A02.
        assert self._count(client, links["served"]) == a01.counts["served"] == 4
        assert self._count(client, a02.extra["links"]["served"]) == a02.counts["served"] == 1
        # Check-ins: 5 duties at A01 (August's left out); 1 late, 1 absent.
        assert self._count(client, links["duties"]) == 5
        assert self._count(client, links["late"]) == a01.counts["late"] == 1
        assert self._count(client, links["absent"]) == a01.counts["absent"] == 1
        # Ratings: 3 counted (the excluded one and October's left out).
        assert self._count(client, links["ratings"]) == a01.counts["rated"] == 3
        # Changes told under 8 h, and emergencies.
        assert self._count(client, links["changes_late"]) == a01.counts["change_breaches"] == 1
        emergencies = a01.counts["change_emergencies"]
        assert self._count(client, links["changes_emergency"]) == emergencies == 1
        # Follow-ups, complaints, and s1's own lists.
        assert self._count(client, links["follow_ups"]) == a01.counts["follow_ups"] == 3
        assert self._count(client, links["complaints"]) == 1
        own = person.extra["links"]
        assert self._count(client, own["served"]) == person.counts["served"] == 4
        assert self._count(client, own["follow_ups"]) == person.counts["follow_ups"] == 2
        assert self._count(client, own["findings"]) == 1  # the inspection naming s1
        assert self._count(client, own["changes_late"]) == person.counts["change_breaches"]
        assert self._count(client, own["ratings"]) == person.counts["rated"] == 3

    def test_hall_cancellations_have_their_own_list(
        self, client, september, supervisor, matter, s1
    ):
        """DB1403/T 6.2.2: the hall's late cancellations count as breaches, listed apart."""
        start = at(2026, 9, 29, 20)
        booking(
            matter,
            september["w1"],
            start,
            s1,
            status="cancelled",
            cancelled_at=start - dt.timedelta(hours=3),
            cancelled_by_hall=True,
        )
        response = page(client, supervisor)
        windows, _staff = rows_by(response.context["assessment"])
        a01 = windows[september["w1"].pk]
        assert a01.extra["split"]["change_breaches"] == (1, 1)
        assert self._count(client, a01.extra["links"]["cancellations_late"]) == 1
        assert self._count(client, a01.extra["links"]["cancellations_emergency"]) == 0
