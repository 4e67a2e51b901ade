"""Duty rosters, what they make bookable, leave with cover, check-ins and inspections
(DB1403/T 4, 5.2, 6.2.1, 6.2.4, 6.2.5, 7.2)."""

import datetime as dt
import io

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appointments.services import appointment_register
from appointments.slots import window_availability
from duty.attendance import (
    duty_absences_record,
    duty_attendance,
    duty_check_in,
    duty_check_out,
)
from duty.models import Duty, DutyAssignment, Inspection, InspectionFinding, LeaveRequest, Window
from duty.rosters import (
    CellPlan,
    ProblemKind,
    duty_coverage_check,
    leave_approve,
    leave_reject,
    leave_request,
    off_hours_periods,
    roster_plan,
    roster_rotation_repeat,
    roster_week_copy,
)
from duty.supervision import inspection_findings_count, inspection_record

from .conftest import at, field_code

pytestmark = pytest.mark.no_standing_roster

PLANNED_AT = at(2026, 9, 1, 9)  # planning happens well ahead
D = dt.date


@pytest.fixture
def colleague(make_user, hall, no_rest_window):
    return make_user("colleague", "window_staff", hall, no_rest_window)


@pytest.fixture
def third(make_user, hall, no_rest_window):
    return make_user("third", "window_staff", hall, no_rest_window)


@pytest.fixture
def other_window(hall, department, make_user):
    other_head = make_user("otherhead", "window_head", hall)
    window = Window.objects.create(
        hall=hall, number="B01", name="税务综合", is_no_rest=True, head=other_head
    )
    window.departments.add(department)
    return window


def plan(window, head, cells, start=None, end=None, now=PLANNED_AT):
    start, end = start or D(2026, 9, 1), end or D(2026, 10, 31)
    return roster_plan(
        window=window, start_date=start, end_date=end, cells=cells, actor=head, now=now
    )


def week_rotation(window, head, weekday_staff, weekend_staff, monday=None):
    """One week (Monday ``monday``): ``weekday_staff`` on working days, the other at weekends."""
    monday = monday or D(2026, 9, 7)
    periods = off_hours_periods(
        hall_ids=[window.hall_id], start_date=monday, end_date=monday + dt.timedelta(days=6)
    )[window.hall_id]
    cells = [
        CellPlan(
            start=p.start,
            staff=[weekday_staff if p.day_type == "workday" else weekend_staff],
        )
        for p in periods
    ]
    plan(window, head, cells)


def duty_at(window, start):
    return Duty.objects.get(window=window, start=start)


def assignment(window, start, user):
    return DutyAssignment.objects.get(duty__window=window, duty__start=start, staff=user)


def register(matter, window, desk, start, now=None):
    now = now or at(2026, 9, 10, 10)
    return appointment_register(
        matter=matter,
        window=window,
        start=start,
        applicant_name="张伟",
        phone="13800138000",
        channel="onsite",
        actor=desk,
        allow_duplicate=True,
        now=now,
    )


# --- what can be booked (DB1403/T 4, 5.2) -------------------------------------------------------


class TestBookable:
    def test_off_hours_slot_without_duty_is_refused_on_start_5_2(
        self, matter, no_rest_window, desk
    ):
        with pytest.raises(ValidationError) as excinfo:
            register(matter, no_rest_window, desk, at(2026, 9, 16, 12, 0))
        assert field_code(excinfo, "start") == "no_duty"
        assert "值班" in excinfo.value.message_dict["start"][0]

    def test_working_hours_stay_bookable_without_a_roster_4(self, matter, no_rest_window, desk):
        assert register(matter, no_rest_window, desk, at(2026, 9, 16, 9, 0)).pk

    def test_a_roster_makes_the_off_hours_bookable_5_2(
        self, matter, no_rest_window, desk, head, window_staff
    ):
        lunch = at(2026, 9, 16, 12, 0)
        plan(no_rest_window, head, [CellPlan(start=lunch, staff=[window_staff])])
        booking = register(matter, no_rest_window, desk, lunch)
        assert booking.start == lunch
        # The evening of that day is still nobody's: refused.
        with pytest.raises(ValidationError):
            register(matter, no_rest_window, desk, at(2026, 9, 16, 17, 0))

    def test_availability_offers_only_staffed_off_hours_4_5_2(
        self, no_rest_window, head, window_staff
    ):
        day = D(2026, 9, 19)  # a Saturday
        plan(no_rest_window, head, [CellPlan(start=at(2026, 9, 19, 9), staff=[window_staff])])
        starts = {
            a.slot.start
            for a in window_availability(
                window=no_rest_window, start_date=day, end_date=day, not_before=PLANNED_AT
            )
        }
        assert at(2026, 9, 19, 9) in starts and at(2026, 9, 19, 11, 30) in starts
        assert at(2026, 9, 19, 13) not in starts  # the afternoon has nobody

    def test_holiday_is_bookable_without_duty_and_opens_one_4(self, matter, no_rest_window, desk):
        day = D(2026, 10, 3)
        offered = window_availability(
            window=no_rest_window, start_date=day, end_date=day, not_before=PLANNED_AT
        )
        assert offered and all(a.slot.day_type == "holiday" for a in offered)
        register(matter, no_rest_window, desk, at(2026, 10, 3, 10, 0))
        duty = duty_at(no_rest_window, at(2026, 10, 3, 9, 0))
        assert duty.opened_by_booking and duty.end == at(2026, 10, 3, 12, 0)
        assert not duty.assignments.exists()
        # A second booking in the same period uses the same open duty.
        register(matter, no_rest_window, desk, at(2026, 10, 3, 11, 0))
        assert Duty.objects.filter(window=no_rest_window).count() == 1

    def test_leave_with_cover_keeps_the_slot_bookable_6_2_4(
        self, matter, no_rest_window, desk, head, window_staff, colleague
    ):
        lunch = at(2026, 9, 16, 12, 0)
        plan(no_rest_window, head, [CellPlan(start=lunch, staff=[window_staff])])
        leave = leave_request(
            staff=window_staff,
            start=at(2026, 9, 16, 0),
            end=at(2026, 9, 17, 0),
            cover=colleague,
            actor=window_staff,
            now=PLANNED_AT,
        )
        leave_approve(leave=leave, actor=head, now=PLANNED_AT)
        assert register(matter, no_rest_window, desk, lunch).pk


# --- planning (DB1403/T 5.2, 6.2.5) -----------------------------------------------------------


class TestPlanning:
    def test_plan_records_staff_receiving_and_head_6_2_5(
        self, no_rest_window, head, window_staff, colleague
    ):
        lunch = at(2026, 9, 16, 12, 0)
        plan(
            no_rest_window,
            head,
            [CellPlan(start=lunch, staff=[window_staff, colleague], receiving=colleague)],
        )
        duty = duty_at(no_rest_window, lunch)
        assert duty.head == head and duty.end == at(2026, 9, 16, 13, 0)
        assert set(duty.staff.all()) == {window_staff, colleague}
        assert duty.assignments.get(is_receiving=True).staff == colleague
        # Emptying the cell removes the duty again.
        plan(no_rest_window, head, [CellPlan(start=lunch, staff=[])])
        assert not Duty.objects.filter(window=no_rest_window).exists()

    def test_only_the_window_head_plans_6_2_5(
        self, no_rest_window, window_staff, other_window, head
    ):
        cell = [CellPlan(start=at(2026, 9, 16, 12), staff=[window_staff])]
        with pytest.raises(PermissionDenied):
            plan(no_rest_window, window_staff, cell)
        with pytest.raises(PermissionDenied):
            plan(no_rest_window, other_window.head, cell)

    def test_same_person_in_two_places_is_refused_and_nothing_saved_5_2(
        self, no_rest_window, other_window, head, window_staff, colleague
    ):
        lunch = at(2026, 9, 16, 12, 0)
        plan(other_window, other_window.head, [CellPlan(start=lunch, staff=[window_staff])])
        with pytest.raises(ValidationError) as excinfo:
            plan(
                no_rest_window,
                head,
                [
                    CellPlan(start=at(2026, 9, 15, 12), staff=[colleague]),
                    CellPlan(start=lunch, staff=[window_staff]),
                ],
            )
        [message] = excinfo.value.message_dict["staff"]
        assert "B01" in message and "2026-09-16 12:00–13:00" in message
        assert not Duty.objects.filter(window=no_rest_window).exists()

    def test_roster_for_a_regular_window_is_refused_5_2(self, regular_window, head, window_staff):
        regular_window.head = head
        regular_window.save()
        with pytest.raises(ValidationError) as excinfo:
            plan(regular_window, head, [CellPlan(start=at(2026, 9, 16, 12), staff=[window_staff])])
        assert field_code(excinfo, "window") == "not_no_rest"

    def test_duty_outside_its_period_is_refused_4(self, no_rest_window):
        duty = Duty(
            window=no_rest_window,
            date=D(2026, 9, 16),
            start=at(2026, 9, 16, 11, 30),
            end=at(2026, 9, 16, 13, 0),
        )
        with pytest.raises(ValidationError) as excinfo:
            duty.full_clean()
        assert "12:00–13:00" in excinfo.value.message_dict["start"][0]

    def test_year_not_entered_is_planned_around_its_provisional_holidays_4(
        self, no_rest_window, head, window_staff
    ):
        """DB1403/T 4: 2027's arrangement is not entered, but its statutory holidays are known
        (provisional): a weekend of 2027 is planned; 2027-01-01 has no weekday evening period."""
        plan(
            no_rest_window,
            head,
            [CellPlan(start=at(2027, 3, 6, 9), staff=[window_staff])],
            start=D(2027, 3, 1),
            end=D(2027, 3, 7),
        )
        assert duty_at(no_rest_window, at(2027, 3, 6, 9))
        with pytest.raises(ValidationError) as excinfo:
            plan(
                no_rest_window,
                head,
                [CellPlan(start=at(2027, 1, 1, 17), staff=[window_staff])],
                start=D(2027, 1, 1),
                end=D(2027, 1, 1),
            )
        assert "2027-01-01 17:00" in excinfo.value.message_dict["staff"][0]

    def test_person_on_leave_is_refused_6_2_4(self, no_rest_window, head, window_staff, colleague):
        leave = leave_request(
            staff=window_staff,
            start=at(2026, 9, 16, 0),
            end=at(2026, 9, 17, 0),
            cover=None,
            actor=window_staff,
            now=PLANNED_AT,
        )
        leave_approve(leave=leave, actor=head, now=PLANNED_AT)
        with pytest.raises(ValidationError) as excinfo:
            plan(no_rest_window, head, [CellPlan(start=at(2026, 9, 16, 12), staff=[window_staff])])
        assert "调休" in excinfo.value.message_dict["staff"][0]

    def test_a_begun_period_is_not_replanned_5_2(self, no_rest_window, head, window_staff):
        lunch = at(2026, 9, 16, 12, 0)
        with pytest.raises(ValidationError):
            plan(no_rest_window, head, [CellPlan(start=lunch, staff=[window_staff])], now=lunch)

    def test_copy_previous_week_5_2(self, no_rest_window, head, window_staff, colleague):
        week_rotation(no_rest_window, head, window_staff, colleague)
        changed = roster_week_copy(
            window=no_rest_window, week_start=D(2026, 9, 14), actor=head, now=PLANNED_AT
        )
        # 9-14..9-18: five working days × 2; 9-19 Saturday × 2; 9-20 is a make-up working day
        # (a Sunday): no weekend counterpart, left for the head (and flagged).
        assert changed == 12
        assert assignment(no_rest_window, at(2026, 9, 16, 17), window_staff)
        assert assignment(no_rest_window, at(2026, 9, 19, 13), colleague)
        problems = duty_coverage_check(
            hall=no_rest_window.hall, start_date=D(2026, 9, 14), end_date=D(2026, 9, 20)
        )
        assert [(p.kind, p.start) for p in problems] == [
            (ProblemKind.NOBODY, at(2026, 9, 20, 12)),
            (ProblemKind.NOBODY, at(2026, 9, 20, 17)),
        ]

    def test_repeat_two_week_rotation_5_2(self, no_rest_window, head, window_staff, colleague):
        week_rotation(no_rest_window, head, window_staff, colleague, monday=D(2026, 9, 7))
        week_rotation(no_rest_window, head, colleague, window_staff, monday=D(2026, 9, 14))
        roster_rotation_repeat(
            window=no_rest_window,
            source_start=D(2026, 9, 7),
            weeks=2,
            until=D(2026, 11, 1),
            actor=head,
            now=PLANNED_AT,
        )
        # 10-12 is two weeks after 9-28, four after 9-14: the second week's pattern.
        assert assignment(no_rest_window, at(2026, 10, 12, 12), colleague)
        assert assignment(no_rest_window, at(2026, 10, 19, 12), window_staff)
        # Holidays stay by appointment.
        assert not Duty.objects.filter(date__range=(D(2026, 10, 1), D(2026, 10, 7))).exists()


# --- coverage (DB1403/T 4, 5.2) across the 2026 National Day week ------------------------------


@pytest.fixture
def national_day(no_rest_window, head, window_staff, colleague):
    """A weekly rotation (window_staff on working days, colleague at weekends) repeated over
    the National Day week: 10-01..10-07 holidays, 10-10 (Saturday) a make-up working day."""
    week_rotation(no_rest_window, head, window_staff, colleague, monday=D(2026, 9, 7))
    roster_rotation_repeat(
        window=no_rest_window,
        source_start=D(2026, 9, 7),
        weeks=1,
        until=D(2026, 10, 11),
        actor=head,
        now=PLANNED_AT,
    )
    return no_rest_window


def check(hall):
    return duty_coverage_check(hall=hall, start_date=D(2026, 10, 1), end_date=D(2026, 10, 10))


class TestCoverage:
    def test_without_holiday_bookings_only_the_make_up_saturday_is_open_4(self, national_day):
        problems = check(national_day.hall)
        assert [(p.kind, p.start) for p in problems] == [
            (ProblemKind.NOBODY, at(2026, 10, 10, 12)),
            (ProblemKind.NOBODY, at(2026, 10, 10, 17)),
        ]
        assert "A01" in problems[0].message and "2026-10-10 12:00–13:00" in problems[0].message

    def test_holiday_booking_opens_a_duty_the_head_must_fill_4(
        self, national_day, matter, desk, head, window_staff, colleague
    ):
        register(matter, national_day, desk, at(2026, 10, 3, 10, 0))
        problems = check(national_day.hall)
        assert [p.kind for p in problems] == [
            ProblemKind.HOLIDAY_UNFILLED,
            ProblemKind.NOBODY,
            ProblemKind.NOBODY,
        ]
        assert "2026-10-03 09:00–12:00" in problems[0].message
        plan(
            national_day,
            head,
            [
                CellPlan(start=at(2026, 10, 3, 9), staff=[colleague]),
                CellPlan(start=at(2026, 10, 10, 12), staff=[window_staff]),
                CellPlan(start=at(2026, 10, 10, 17), staff=[window_staff]),
            ],
        )
        assert check(national_day.hall) == []

    def test_cancelled_holiday_booking_needs_no_duty_4(self, national_day, matter, desk, head):
        from appointments.services import appointment_cancel_by_staff

        booking = register(matter, national_day, desk, at(2026, 10, 3, 10, 0))
        appointment_cancel_by_staff(
            appointment=booking,
            reason="申请人取消",
            at_applicants_request=True,
            actor=desk,
            now=at(2026, 9, 20, 10),
        )
        assert [p.kind for p in check(national_day.hall)] == [ProblemKind.NOBODY] * 2

    def test_person_on_leave_and_double_duty_are_flagged_6_2_4(
        self, national_day, other_window, window_staff
    ):
        # Written past the services (e.g. data from before a rule): the report still sees it.
        duty = Duty.objects.create(
            window=other_window,
            date=D(2026, 10, 8),
            start=at(2026, 10, 8, 12),
            end=at(2026, 10, 8, 13),
        )
        DutyAssignment.objects.create(duty=duty, staff=window_staff, is_receiving=True)
        LeaveRequest.objects.create(
            staff=window_staff,
            window=national_day,
            start=at(2026, 10, 9, 17),
            end=at(2026, 10, 9, 18),
            state=LeaveRequest.State.APPROVED,
            requested_at=PLANNED_AT,
        )
        kinds = [p.kind for p in check(national_day.hall)]
        assert ProblemKind.DOUBLE in kinds and ProblemKind.ON_LEAVE in kinds

    def test_window_without_head_and_year_not_entered_are_flagged_6_2_5(self, national_day):
        national_day.head = None
        national_day.save()
        problems = duty_coverage_check(
            hall=national_day.hall, start_date=D(2026, 12, 31), end_date=D(2027, 1, 1)
        )
        kinds = {p.kind for p in problems}
        assert {ProblemKind.NO_HEAD, ProblemKind.YEAR_NOT_LOADED} <= kinds

    def test_command_prints_gaps_and_exits_1_then_0_when_covered_5_2(
        self, national_day, head, window_staff, capsys
    ):
        with pytest.raises(SystemExit) as exited:
            call_command(
                "duty_coverage", "--hall", "city", "--from", "2026-10-01", "--to", "2026-10-10"
            )
        assert exited.value.code == 1
        out = capsys.readouterr().out
        assert out.count("[nobody]") == 2 and "2026-10-10 17:00–18:00" in out
        plan(
            national_day,
            head,
            [
                CellPlan(start=at(2026, 10, 10, 12), staff=[window_staff]),
                CellPlan(start=at(2026, 10, 10, 17), staff=[window_staff]),
            ],
        )
        call_command(
            "duty_coverage", "--hall", "city", "--from", "2026-10-01", "--to", "2026-10-10"
        )
        assert "covered" in capsys.readouterr().out

    @pytest.mark.parametrize(
        "args",
        [
            ["--hall", "nowhere"],
            ["--hall", "city", "--from", "2026-13-01"],
            ["--hall", "city", "--from", "2026-10-10", "--to", "2026-10-01"],
            ["--hall", "city", "--from", "2026-01-01", "--to", "2027-06-01"],
        ],
        ids=["unknown-hall", "bad-date", "reversed", "over-a-year"],
    )
    def test_command_bad_input_exits_2_not_1_5_2(self, national_day, args):
        """Status 1 means a gap was found; bad input is a usage error (2), told apart."""
        with pytest.raises(CommandError) as refused:
            call_command("duty_coverage", *args)
        assert refused.value.returncode == 2

    def test_coverage_queries_do_not_grow_with_data_5_2(
        self, national_day, other_window, make_user, hall
    ):
        with CaptureQueriesContext(connection) as small:
            check(national_day.hall)
        other_staff = make_user("other", "window_staff", hall, other_window)
        week_rotation(other_window, other_window.head, other_staff, other_staff)
        roster_rotation_repeat(
            window=other_window,
            source_start=D(2026, 9, 7),
            weeks=1,
            until=D(2026, 10, 31),
            actor=other_window.head,
            now=PLANNED_AT,
        )
        with CaptureQueriesContext(connection) as large:
            duty_coverage_check(hall=hall, start_date=D(2026, 9, 1), end_date=D(2026, 10, 31))
        assert len(large) == len(small)


# --- leave and cover (DB1403/T 6.2.4) ---------------------------------------------------------


@pytest.fixture
def lunch_duty(no_rest_window, head, window_staff):
    lunch = at(2026, 9, 16, 12, 0)
    plan(no_rest_window, head, [CellPlan(start=lunch, staff=[window_staff])])
    return lunch


def ask(staff, cover, start=None, end=None):
    start, end = start or at(2026, 9, 16, 8), end or at(2026, 9, 16, 20)
    return leave_request(
        staff=staff, start=start, end=end, cover=cover, reason="调休", actor=staff, now=PLANNED_AT
    )


class TestLeave:
    def test_leave_without_cover_leaving_a_gap_is_refused_naming_the_period_6_2_4(
        self, lunch_duty, window_staff
    ):
        with pytest.raises(ValidationError) as excinfo:
            ask(window_staff, None)
        assert field_code(excinfo, "cover") == "uncovered"
        assert "2026-09-16 12:00–13:00" in excinfo.value.message_dict["cover"][0]

    def test_leave_without_cover_when_others_stay_6_2_4(
        self, no_rest_window, head, window_staff, colleague
    ):
        lunch = at(2026, 9, 16, 12, 0)
        plan(no_rest_window, head, [CellPlan(start=lunch, staff=[window_staff, colleague])])
        leave = leave_approve(leave=ask(window_staff, None), actor=head, now=PLANNED_AT)
        assert leave.state == LeaveRequest.State.APPROVED
        duty = duty_at(no_rest_window, lunch)
        assert duty.assignments.get(staff=window_staff).on_leave == leave
        assert duty.assignments.get(is_receiving=True).staff == colleague

    def test_approved_leave_puts_the_cover_on_the_roster_6_2_4(
        self, lunch_duty, no_rest_window, head, window_staff, colleague
    ):
        leave = ask(window_staff, colleague)
        assert leave.state == LeaveRequest.State.REQUESTED
        assert not DutyAssignment.objects.filter(staff=colleague).exists()
        leave_approve(leave=leave, actor=head, now=PLANNED_AT)
        cover = assignment(no_rest_window, lunch_duty, colleague)
        assert cover.covers == leave and cover.is_receiving
        assert assignment(no_rest_window, lunch_duty, window_staff).on_leave == leave
        from duty.exports import duty_text

        text = duty_text(duty_at(no_rest_window, lunch_duty))
        assert "colleague" in text and "window" in text

    def test_cover_busy_elsewhere_is_refused_naming_the_period_6_2_4(
        self, lunch_duty, other_window, window_staff, colleague
    ):
        plan(other_window, other_window.head, [CellPlan(start=lunch_duty, staff=[colleague])])
        with pytest.raises(ValidationError) as excinfo:
            ask(window_staff, colleague)
        message = excinfo.value.message_dict["cover"][0]
        assert "2026-09-16 12:00–13:00" in message and "B01" in message

    def test_cover_on_leave_is_refused_6_2_4(
        self, lunch_duty, head, window_staff, colleague, third
    ):
        leave_approve(leave=ask(colleague, None), actor=head, now=PLANNED_AT)
        with pytest.raises(ValidationError):
            ask(window_staff, colleague)
        assert ask(window_staff, third).pk

    def test_cover_by_the_person_on_leave_is_refused_6_2_4(self, lunch_duty, window_staff):
        with pytest.raises(ValidationError) as excinfo:
            ask(window_staff, window_staff)
        assert field_code(excinfo, "cover") == "cover_is_staff"
        with pytest.raises(ValidationError):
            LeaveRequest(
                staff=window_staff,
                window=window_staff.staff_profile.window,
                start=at(2026, 9, 16, 8),
                end=at(2026, 9, 16, 20),
                cover=window_staff,
                requested_at=PLANNED_AT,
            ).full_clean()

    def test_approval_rechecks_a_cover_planned_elsewhere_meanwhile_6_2_4(
        self, lunch_duty, other_window, head, window_staff, colleague
    ):
        leave = ask(window_staff, colleague)
        plan(other_window, other_window.head, [CellPlan(start=lunch_duty, staff=[colleague])])
        with pytest.raises(ValidationError):
            leave_approve(leave=leave, actor=head, now=PLANNED_AT)
        leave.refresh_from_db()
        assert leave.state == LeaveRequest.State.REQUESTED
        assert not DutyAssignment.objects.filter(on_leave__isnull=False).exists()

    def test_only_the_window_head_approves_and_rejection_needs_a_reason_6_2_4(
        self, lunch_duty, head, window_staff, colleague, other_window
    ):
        leave = ask(window_staff, colleague)
        with pytest.raises(PermissionDenied):
            leave_approve(leave=leave, actor=window_staff, now=PLANNED_AT)
        with pytest.raises(PermissionDenied):
            leave_approve(leave=leave, actor=other_window.head, now=PLANNED_AT)
        with pytest.raises(ValidationError):
            leave_reject(leave=leave, actor=head, now=PLANNED_AT, note="")
        leave_reject(leave=leave, actor=head, now=PLANNED_AT, note="国庆前人手不足")
        with pytest.raises(ValidationError):
            leave_approve(leave=leave, actor=head, now=PLANNED_AT)


# --- check-in (DB1403/T 6.2.1) ----------------------------------------------------------------


class TestCheckIn:
    def test_on_time_at_start_late_one_minute_after_6_2_1(
        self, lunch_duty, no_rest_window, head, window_staff, colleague
    ):
        plan(no_rest_window, head, [CellPlan(start=lunch_duty, staff=[window_staff, colleague])])
        on_time = duty_check_in(
            assignment=assignment(no_rest_window, lunch_duty, window_staff),
            actor=window_staff,
            now=lunch_duty,
        )
        late = duty_check_in(
            assignment=assignment(no_rest_window, lunch_duty, colleague),
            actor=colleague,
            now=lunch_duty + dt.timedelta(minutes=1),
        )
        assert not on_time.is_late and late.is_late
        assert duty_attendance(assignment=late, now=lunch_duty) == "late"

    def test_grace_setting_moves_the_boundary_6_2_1(
        self, settings, lunch_duty, no_rest_window, window_staff
    ):
        settings.DUTY_LATE_GRACE_MINUTES = 5
        a = duty_check_in(
            assignment=assignment(no_rest_window, lunch_duty, window_staff),
            actor=window_staff,
            now=lunch_duty + dt.timedelta(minutes=5),
        )
        assert not a.is_late
        a.checked_in_at = None
        a.save()
        a = duty_check_in(
            assignment=a, actor=window_staff, now=lunch_duty + dt.timedelta(minutes=5, seconds=1)
        )
        assert a.is_late

    def test_absent_at_15_minutes_not_at_14_recorded_once_6_2_1(
        self, lunch_duty, no_rest_window, window_staff
    ):
        assert duty_absences_record(now=lunch_duty + dt.timedelta(minutes=14, seconds=59)) == []
        [absent] = duty_absences_record(now=lunch_duty + dt.timedelta(minutes=15))
        assert absent.staff == window_staff and absent.duty.window.head is not None
        assert duty_absences_record(now=lunch_duty + dt.timedelta(minutes=16)) == []
        assert duty_attendance(assignment=absent, now=lunch_duty) == "absent"
        # Turning up later is still recorded, as late.
        late = duty_check_in(
            assignment=absent, actor=window_staff, now=lunch_duty + dt.timedelta(minutes=20)
        )
        assert late.is_late and late.absence_recorded_at is not None

    def test_check_in_after_start_plus_14_is_not_absent_6_2_1(
        self, lunch_duty, no_rest_window, window_staff
    ):
        duty_check_in(
            assignment=assignment(no_rest_window, lunch_duty, window_staff),
            actor=window_staff,
            now=lunch_duty + dt.timedelta(minutes=14),
        )
        assert duty_absences_record(now=lunch_duty + dt.timedelta(minutes=30)) == []

    def test_on_leave_is_never_absent_6_2_1(
        self, lunch_duty, head, window_staff, colleague, no_rest_window
    ):
        leave_approve(leave=ask(window_staff, colleague), actor=head, now=PLANNED_AT)
        [absent] = duty_absences_record(now=lunch_duty + dt.timedelta(minutes=15))
        assert absent.staff == colleague

    def test_window_of_check_in_own_duty_only_and_left_early_6_2_1(
        self, lunch_duty, no_rest_window, window_staff, colleague
    ):
        mine = assignment(no_rest_window, lunch_duty, window_staff)
        with pytest.raises(ValidationError) as excinfo:
            duty_check_in(
                assignment=mine, actor=window_staff, now=lunch_duty - dt.timedelta(minutes=31)
            )
        assert field_code(excinfo, "duty") == "too_early"
        with pytest.raises(ValidationError):
            duty_check_in(
                assignment=mine, actor=window_staff, now=lunch_duty + dt.timedelta(hours=1)
            )
        with pytest.raises(PermissionDenied):
            duty_check_in(assignment=mine, actor=colleague, now=lunch_duty)
        with pytest.raises(ValidationError):
            duty_check_out(assignment=mine, actor=window_staff, now=lunch_duty)
        mine = duty_check_in(
            assignment=mine, actor=window_staff, now=lunch_duty - dt.timedelta(minutes=30)
        )
        with pytest.raises(ValidationError):
            duty_check_in(assignment=mine, actor=window_staff, now=lunch_duty)
        mine = duty_check_out(
            assignment=mine, actor=window_staff, now=lunch_duty + dt.timedelta(minutes=50)
        )
        assert mine.left_early
        assert duty_attendance(assignment=mine, now=lunch_duty) == "left_early"


# --- inspections (DB1403/T 7.2, 7.4) ----------------------------------------------------------


class TestInspections:
    def test_supervisor_records_findings_and_a_photo_7_2(
        self, settings, tmp_path, no_rest_window, supervisor, window_staff
    ):
        settings.MEDIA_ROOT = str(tmp_path)
        photo = SimpleUploadedFile("window.jpg", b"\xff\xd8\xff\xe0jpeg", content_type="image/jpeg")
        inspection = inspection_record(
            window=no_rest_window,
            at=at(2026, 9, 16, 12, 20),
            inspector=supervisor,
            findings=[
                (InspectionFinding.Kind.ABSENT, window_staff, "午休时段不在岗"),
                (InspectionFinding.Kind.OTHER, None, ""),
            ],
            notes="巡查发现窗口无人",
            photo=photo,
            now=at(2026, 9, 16, 12, 30),
        )
        assert list(inspection.staff.all()) == [window_staff]
        assert inspection.photo.name.startswith("inspections/2026/")
        counts = inspection_findings_count(inspections=Inspection.objects.all())
        assert counts["staff"][(window_staff.pk, "absent")] == 1
        assert counts["windows"][(no_rest_window.pk, "other")] == 1

    def test_only_supervisors_of_the_hall_and_not_in_the_future_7_2(
        self, no_rest_window, supervisor, head, make_user, other_hall
    ):
        with pytest.raises(PermissionDenied):
            inspection_record(
                window=no_rest_window, at=at(2026, 9, 16, 12), inspector=head, now=at(2026, 9, 17)
            )
        district = make_user("district-sup", "supervisor", other_hall)
        with pytest.raises(PermissionDenied):
            inspection_record(
                window=no_rest_window,
                at=at(2026, 9, 16, 12),
                inspector=district,
                now=at(2026, 9, 17),
            )
        with pytest.raises(ValidationError) as excinfo:
            inspection_record(
                window=no_rest_window,
                at=at(2026, 9, 18),
                inspector=supervisor,
                now=at(2026, 9, 17),
            )
        assert field_code(excinfo, "at") == "future"


# --- the console: grid, print, export, leave, check-in, booking presence ----------------------


@pytest.fixture
def console(client, head):
    client.force_login(head)
    return client


PLAN_URL = "/admin/duty/duty/plan/"


class TestConsole:
    def test_grid_shows_the_roster_and_flags_gaps_5_2(
        self, console, lunch_duty, no_rest_window, time_machine
    ):
        time_machine.move_to(PLANNED_AT, tick=False)
        page = console.get(PLAN_URL, {"window": no_rest_window.pk, "start": "2026-09-14"})
        text = page.content.decode()
        assert page.status_code == 200
        assert "12:00–13:00" in text and "window" in text
        assert "2026-09-15 12:00–13:00" in text  # a gap, flagged
        staff = Duty.objects.get(start=lunch_duty).staff.get()
        assert f'name="on-202609161200" value="{staff.pk}" checked' in text

    def test_grid_saves_through_the_service_5_2(
        self, console, no_rest_window, window_staff, colleague, time_machine
    ):
        time_machine.move_to(PLANNED_AT, tick=False)
        url = f"{PLAN_URL}?window={no_rest_window.pk}&start=2026-09-14"
        response = console.post(
            url,
            {
                "row-202609161200": "1",
                "on-202609161200": [window_staff.pk, colleague.pk],
                "recv-202609161200": colleague.pk,
                "save": "1",
            },
        )
        assert response.status_code == 302
        duty = duty_at(no_rest_window, at(2026, 9, 16, 12))
        assert duty.assignments.get(is_receiving=True).staff == colleague
        response = console.post(url, {"copy": "1"}, follow=True)
        assert response.status_code == 200
        response = console.post(url, {"repeat": "1", "weeks": "x", "until": "2026-10-31"})
        assert "1 至 8 周" in response.content.decode()
        response = console.post(url, {"repeat": "1", "weeks": "1", "until": "2026-10-04"})
        assert response.status_code == 302
        repeated = duty_at(no_rest_window, at(2026, 9, 23, 12))
        assert repeated.assignments.get(is_receiving=True).staff == colleague

    def test_grid_queries_do_not_grow_week_to_month_5_2(self, console, national_day, time_machine):
        time_machine.move_to(PLANNED_AT, tick=False)
        base = {"window": national_day.pk, "start": "2026-10-05"}
        with CaptureQueriesContext(connection) as week:
            assert console.get(PLAN_URL, base).status_code == 200
        with CaptureQueriesContext(connection) as month:
            assert console.get(PLAN_URL, {**base, "span": "month"}).status_code == 200
        assert len(month) == len(week)

    def test_staff_see_but_cannot_plan_5_2(
        self, client, window_staff, no_rest_window, time_machine
    ):
        time_machine.move_to(PLANNED_AT, tick=False)
        client.force_login(window_staff)
        page = client.get(PLAN_URL, {"window": no_rest_window.pk, "start": "2026-09-14"})
        assert page.status_code == 200 and 'name="save"' not in page.content.decode()

    def test_export_opens_with_title_periods_dates_and_names_5_2(
        self, console, national_day, matter, desk
    ):
        register(matter, national_day, desk, at(2026, 10, 3, 10, 0))
        response = console.get(
            "/admin/duty/duty/plan/export/", {"window": national_day.pk, "start": "2026-10-05"}
        )
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")
        ws = openpyxl.load_workbook(io.BytesIO(response.content)).active
        assert "A01" in ws["A1"].value and "2026-10-05" in ws["A1"].value
        assert "head" in ws["A2"].value
        assert [ws.cell(row=r, column=1).value for r in range(4, 8)] == [
            "09:00–12:00",
            "12:00–13:00",
            "13:00–17:00",
            "17:00–18:00",
        ]
        assert ws["B3"].value.startswith("10-05")  # Monday, a holiday
        assert ws["B4"].value == "按预约"  # holiday without booking
        assert ws["E5"].value == "window（受理）"  # Thursday 10-08 lunch
        assert ws["G5"].value == "无人值班"  # make-up Saturday 10-10: nobody
        assert ws.page_setup.orientation == "landscape"
        assert ws.print_title_rows == "$3:$3"
        response = console.get(
            "/admin/duty/duty/plan/export/", {"window": national_day.pk, "start": "2026-09-28"}
        )
        ws = openpyxl.load_workbook(io.BytesIO(response.content)).active
        assert "待安排" in ws["G4"].value  # 10-03 09:00: booked, open duty

    def test_print_page_5_2(self, console, national_day):
        page = console.get(
            "/admin/duty/duty/plan/print/", {"window": national_day.pk, "start": "2026-10-05"}
        )
        assert page.status_code == 200 and "值班表" in page.content.decode()

    def test_leave_request_and_approval_in_the_console_6_2_4(
        self, client, lunch_duty, head, window_staff, colleague, time_machine
    ):
        time_machine.move_to(PLANNED_AT, tick=False)
        client.force_login(window_staff)
        response = client.post(
            "/admin/duty/leaverequest/add/",
            {
                "staff": window_staff.pk,
                "start_0": "2026-09-16",
                "start_1": "08:00",
                "end_0": "2026-09-16",
                "end_1": "20:00",
                "reason": "调休",
            },
        )
        assert "2026-09-16 12:00–13:00" in response.content.decode()  # no cover: refused
        response = client.post(
            "/admin/duty/leaverequest/add/",
            {
                "staff": window_staff.pk,
                "start_0": "2026-09-16",
                "start_1": "08:00",
                "end_0": "2026-09-16",
                "end_1": "20:00",
                "cover": colleague.pk,
                "reason": "调休",
            },
        )
        assert response.status_code == 302
        leave = LeaveRequest.objects.get()
        client.force_login(head)
        client.post(
            f"/admin/duty/leaverequest/{leave.pk}/change/",
            {"decision_note": "同意", "_approve": "1"},
        )
        leave.refresh_from_db()
        assert leave.state == LeaveRequest.State.APPROVED and leave.decided_by == head

    def test_check_in_action_and_booking_presence_6_2_1(
        self, client, lunch_duty, no_rest_window, matter, desk, window_staff, time_machine
    ):
        booking = register(matter, no_rest_window, desk, lunch_duty)
        booking.responsible_staff = window_staff
        booking.save()
        time_machine.move_to(lunch_duty + dt.timedelta(minutes=3), tick=False)
        client.force_login(window_staff)
        mine = assignment(no_rest_window, lunch_duty, window_staff)
        client.post(
            reverse("admin:duty_dutyassignment_changelist"),
            {"action": "check_in", "_selected_action": [mine.pk]},
        )
        mine.refresh_from_db()
        assert mine.checked_in_at == lunch_duty + dt.timedelta(minutes=3) and mine.is_late
        page = client.get(reverse("admin:appointments_appointment_change", args=[booking.pk]))
        assert "迟到" in page.content.decode()

    def test_inspection_in_the_console_7_2(
        self, client, settings, tmp_path, supervisor, no_rest_window, window_staff, time_machine
    ):
        settings.MEDIA_ROOT = str(tmp_path)
        time_machine.move_to(at(2026, 9, 16, 13), tick=False)
        client.force_login(supervisor)
        response = client.post(
            "/admin/duty/inspection/add/",
            {
                "window": no_rest_window.pk,
                "at_0": "2026-09-16",
                "at_1": "12:20",
                "staff": [window_staff.pk],
                "notes": "不在岗",
                "photo": SimpleUploadedFile("p.png", b"\x89PNG\r\n", content_type="image/png"),
                "findings-TOTAL_FORMS": "1",
                "findings-INITIAL_FORMS": "0",
                "findings-0-kind": "absent",
                "findings-0-staff": window_staff.pk,
                "findings-0-note": "",
            },
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        inspection = Inspection.objects.get()
        assert inspection.inspector == supervisor and inspection.findings.get().kind == "absent"
        photo = client.get(reverse("admin:duty_inspection_photo", args=[inspection.pk]))
        assert photo.status_code == 200 and photo["Content-Type"] == "image/png"
