"""Rosters to the booking horizon (DB1403/T 5.2): a window head's standing rotation runs forward
by itself, coverage is checked as far ahead as citizens book, and a citizen is told when a day's
off-hours slots will open."""

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from duty.models import Duty, DutyAssignment, StandingRotation
from duty.rosters import (
    CellPlan,
    off_hours_periods,
    roster_plan,
    roster_rotation_stand,
    roster_rotation_stop,
    standing_rotations_extend,
)
from duty.sweeps import roster_sweep
from sms.models import Alert
from yuyue.sweeps import SWEEPS

from .conftest import at, roster_standing

pytestmark = pytest.mark.no_standing_roster

D = dt.date
SET_AT = at(2026, 11, 20, 9)  # a Friday: the horizon then ends on 2027-01-19
MONDAY = D(2026, 11, 30)


@pytest.fixture
def colleague(make_user, hall, no_rest_window):
    return make_user("colleague", "window_staff", hall, no_rest_window)


@pytest.fixture
def rotation(no_rest_window, head, window_staff, colleague):
    """One week from Monday 2026-11-30: window_staff on working days, colleague at weekends,
    standing from SET_AT."""
    periods = off_hours_periods(
        hall_ids=[no_rest_window.hall_id],
        start_date=MONDAY,
        end_date=MONDAY + dt.timedelta(days=6),
    )[no_rest_window.hall_id]
    roster_plan(
        window=no_rest_window,
        start_date=MONDAY,
        end_date=MONDAY + dt.timedelta(days=6),
        cells=[
            CellPlan(start=p.start, staff=[window_staff if p.day_type == "workday" else colleague])
            for p in periods
        ],
        actor=head,
        now=SET_AT,
    )
    roster_rotation_stand(
        window=no_rest_window, source_start=MONDAY, weeks=1, actor=head, now=SET_AT
    )
    return no_rest_window


def on_duty(window, start):
    return set(
        DutyAssignment.objects.filter(duty__window=window, duty__start=start).values_list(
            "staff__username", flat=True
        )
    )


@pytest.mark.django_db
class TestStandingRotation:
    def test_setting_it_repeats_the_rotation_to_the_booking_horizon_5_2(self, rotation):
        """BOOKING_HORIZON_DAYS (60) after 2026-11-20 is 2027-01-19: written up to that day,
        not after; the provisional holiday 2027-01-01 stays by appointment."""
        assert on_duty(rotation, at(2027, 1, 19, 12)) == {"window"}
        assert on_duty(rotation, at(2027, 1, 16, 9)) == {"colleague"}
        assert not Duty.objects.filter(window=rotation, date__gte=D(2027, 1, 20)).exists()
        assert not Duty.objects.filter(window=rotation, date=D(2027, 1, 1)).exists()
        assert StandingRotation.objects.get(window=rotation).extended_until == D(2027, 1, 19)

    def test_it_runs_forward_a_day_at_a_time_and_twice_is_once_5_2(self, rotation):
        next_day = at(2026, 11, 21, 0, 30)
        assert standing_rotations_extend(now=next_day) == 2  # 2027-01-20: lunch and evening
        assert on_duty(rotation, at(2027, 1, 20, 17)) == {"window"}
        duties = Duty.objects.count()
        assert standing_rotations_extend(now=next_day) == 0
        assert standing_rotations_extend(now=at(2026, 11, 21, 23, 59)) == 0
        assert Duty.objects.count() == duties
        # The registered sweep is the same run.
        SWEEPS["standing_rotations"](now=at(2026, 11, 22, 0, 30))
        assert on_duty(rotation, at(2027, 1, 21, 12)) == {"window"}

    def test_a_day_changed_by_hand_is_not_rewritten_5_2(self, rotation, head, colleague):
        roster_plan(
            window=rotation,
            start_date=D(2027, 1, 18),
            end_date=D(2027, 1, 18),
            cells=[CellPlan(start=at(2027, 1, 18, 12), staff=[colleague])],
            actor=head,
            now=SET_AT,
        )
        standing_rotations_extend(now=at(2026, 11, 25, 1))
        assert on_duty(rotation, at(2027, 1, 18, 12)) == {"colleague"}
        assert on_duty(rotation, at(2027, 1, 24, 9)) == {"colleague"}  # Sunday, newly written

    def test_a_stopped_rotation_runs_no_further_5_2(self, rotation, head):
        roster_rotation_stop(window=rotation, actor=head, now=SET_AT)
        assert standing_rotations_extend(now=at(2026, 11, 30, 1)) == 0
        assert not Duty.objects.filter(date__gt=D(2027, 1, 19)).exists()

    def test_a_day_it_cannot_fill_is_left_for_the_coverage_check_5_2(
        self, rotation, head, window_staff, other_no_rest_window
    ):
        """window_staff is put on duty at another window on 2027-01-20 first: that day stays
        empty, the next day is still written."""
        roster_plan(
            window=other_no_rest_window,
            start_date=D(2027, 1, 20),
            end_date=D(2027, 1, 20),
            cells=[CellPlan(start=at(2027, 1, 20, 12), staff=[window_staff])],
            actor=other_no_rest_window.head,
            now=SET_AT,
        )
        standing_rotations_extend(now=at(2026, 11, 22, 1))
        assert on_duty(rotation, at(2027, 1, 20, 12)) == set()
        assert on_duty(rotation, at(2027, 1, 21, 12)) == {"window"}

    def test_the_grid_sets_and_shows_a_standing_rotation_5_2(
        self, client, no_rest_window, head, window_staff
    ):
        client.force_login(head)
        url = reverse("admin:duty_duty_plan") + f"?window={no_rest_window.pk}&start=2026-11-30"
        with time_machine.travel(SET_AT, tick=False):
            client.post(url, {"repeat": "1", "weeks": "1", "standing": "1"})
            page = client.get(url).content.decode()
        assert StandingRotation.objects.get(window=no_rest_window).weeks == 1
        assert 'id="standing-rotation"' in page and "2027-01-19" in page


@pytest.fixture
def other_no_rest_window(hall, department, make_user):
    from duty.models import Window

    window = Window.objects.create(
        hall=hall,
        number="B01",
        name="税务综合",
        is_no_rest=True,
        head=make_user("otherhead", "window_head", hall),
    )
    window.departments.add(department)
    return window


TODAY = at(2026, 12, 7, 8)


@pytest.mark.django_db
class TestCoverageToTheHorizon:
    @pytest.mark.parametrize(
        ("horizon", "last"), [(58, "2027-02-03 17:00"), (59, "2027-02-04 17:00")]
    )
    def test_gaps_are_alerted_up_to_the_booking_horizon_not_beyond_5_2(
        self, no_rest_window, head, supervisor, settings, horizon, last
    ):
        """Covered for 40 days (to Saturday 2027-01-16): the gaps from Sunday the 17th to the
        last day citizens can book (BOOKING_HORIZON_DAYS) are one alert per window and person,
        and the day after the horizon is not in it."""
        settings.BOOKING_HORIZON_DAYS = horizon
        roster_standing(no_rest_window, head, D(2026, 12, 7), D(2027, 1, 16))
        assert roster_sweep(now=TODAY).alerts == 2  # the head and the supervisor
        alert = Alert.objects.get(recipient=head)
        assert alert.kind == "roster_problem"
        assert "2027-01-17 09:00" in alert.text and f"{last}" in alert.text
        assert roster_sweep(now=TODAY).alerts == 0  # once a day

    def test_a_gap_within_roster_check_days_is_its_own_alert_5_2(
        self, no_rest_window, head, settings
    ):
        settings.BOOKING_HORIZON_DAYS = 14
        roster_standing(no_rest_window, head, D(2026, 12, 7), D(2026, 12, 21))
        Duty.objects.filter(start=at(2026, 12, 9, 17)).delete()
        roster_sweep(now=TODAY)
        texts = list(Alert.objects.filter(recipient=head).values_list("text", flat=True))
        assert len(texts) == 1 and "2026-12-09 17:00–18:00" in texts[0]

    def test_the_command_checks_to_the_booking_horizon_by_default_5_2(
        self, no_rest_window, head, capsys
    ):
        roster_standing(no_rest_window, head, D(2026, 12, 7), D(2027, 1, 16))
        with time_machine.travel(TODAY, tick=False), pytest.raises(SystemExit) as exited:
            call_command("duty_coverage", "--hall", "city")
        assert exited.value.code == 1
        out = capsys.readouterr().out
        assert "2026-12-07..2027-02-05" in out and "2027-02-04 17:00" in out

    def test_the_year_not_entered_is_not_alerted_to_window_heads_4(self, no_rest_window, head):
        """2027's arrangement is missing, but the heads cannot enter it (the city
        administrators' banner says so): a covered roster raises no alert."""
        roster_standing(no_rest_window, head, D(2026, 12, 7), D(2027, 2, 6))
        assert roster_sweep(now=TODAY).alerts == 0


@pytest.mark.django_db
class TestCitizenIsToldWhenSlotsOpen:
    def test_a_saturday_without_duty_says_by_when_its_slots_open_5_2(self, client, matter):
        """Saturday 2027-01-09 has no one on duty yet: its weekend slots open once the roster is
        set, at the latest ROSTER_CHECK_DAYS (14) before, on 2026-12-26."""
        with time_machine.travel(TODAY, tick=False):
            page = client.get(
                reverse("public:matter", args=[matter.pk]),
                {"from": "2027-01-09", "day": "2027-01-09"},
            ).content.decode()
        assert 'id="off-hours-waiting"' in page and "2026-12-26" in page

    def test_a_day_past_the_roster_deadline_says_call_the_hall_5_2(self, client, matter):
        with time_machine.travel(TODAY, tick=False):
            page = client.get(
                reverse("public:matter", args=[matter.pk]),
                {"from": "2026-12-12", "day": "2026-12-12"},
            ).content.decode()
        assert 'id="off-hours-waiting"' in page and "2026-11-28" not in page

    def test_a_staffed_day_has_no_such_notice_5_2(self, client, matter, no_rest_window, head):
        roster_standing(no_rest_window, head, D(2027, 1, 9), D(2027, 1, 9))
        with time_machine.travel(TODAY, tick=False):
            page = client.get(
                reverse("public:matter", args=[matter.pk]),
                {"from": "2027-01-09", "day": "2027-01-09"},
            ).content.decode()
        assert 'id="off-hours-waiting"' not in page

    def test_a_provisional_holiday_is_marked_to_the_citizen_4(self, client, matter):
        with time_machine.travel(TODAY, tick=False):
            page = client.get(
                reverse("public:matter", args=[matter.pk]),
                {"from": "2027-01-01", "day": "2027-01-01"},
            ).content.decode()
        assert 'id="provisional-holiday"' in page and "元旦" in page
