"""The service calendar, DB1403/T 4 and 5.1.3 b."""

import datetime as dt

import pytest
from django.core.management import CommandError, call_command

from duty.calendar import (
    TimeKind,
    day_info,
    missing_holiday_years,
    phone_line_is_open,
    time_kind,
    working_days_add,
)
from duty.models import CalendarDay, DayType, HolidayYear

from .conftest import at

D = dt.date


@pytest.mark.django_db
class TestDayTypes:
    """DB1403/T 4: working days, weekends, statutory holidays, make-up working days."""

    def test_plain_days(self, holidays_2026):
        assert day_info(D(2026, 9, 16)).day_type == DayType.WORKDAY
        assert day_info(D(2026, 9, 19)).day_type == DayType.WEEKEND

    def test_national_day_is_a_holiday(self, holidays_2026):
        info = day_info(D(2026, 10, 1))
        assert info.day_type == DayType.HOLIDAY
        assert info.holiday_name == "国庆节"

    def test_make_up_saturday_is_a_working_day(self, holidays_2026):
        """2026-10-10 is a Saturday worked in lieu (调休上班)."""
        assert day_info(D(2026, 10, 10)).day_type == DayType.WORKDAY
        assert day_info(D(2026, 9, 20)).day_type == DayType.WORKDAY

    def test_year_not_entered_keeps_the_weekday_rule_beside_its_statutory_days(self, holidays_2026):
        saturday, monday = D(2027, 3, 6), D(2027, 3, 8)
        assert day_info(saturday).day_type == DayType.WEEKEND
        assert day_info(monday).day_type == DayType.WORKDAY
        assert day_info(monday).year_loaded is False
        assert missing_holiday_years([2026, 2027]) == [2027]

    def test_administrator_entered_day_counts_for_an_unloaded_year(self, holidays_2026):
        CalendarDay.objects.create(date=D(2027, 1, 1), kind="holiday", name="元旦")
        assert day_info(D(2027, 1, 1)).day_type == DayType.HOLIDAY


@pytest.mark.django_db
class TestTimeKind:
    """DB1403/T 3.2 and 4: working hours, off-hours on a working day, weekend, holiday."""

    @pytest.mark.parametrize(
        ("moment", "kind"),
        [
            (at(2026, 9, 16, 8, 59), TimeKind.OFF_HOURS),
            (at(2026, 9, 16, 9, 0), TimeKind.WORKING),
            (at(2026, 9, 16, 11, 59), TimeKind.WORKING),
            (at(2026, 9, 16, 12, 0), TimeKind.OFF_HOURS),
            (at(2026, 9, 16, 13, 0), TimeKind.WORKING),
            (at(2026, 9, 16, 17, 0), TimeKind.OFF_HOURS),
            (at(2026, 9, 19, 10, 0), TimeKind.WEEKEND),
            (at(2026, 10, 1, 10, 0), TimeKind.HOLIDAY),
            (at(2026, 10, 10, 10, 0), TimeKind.WORKING),
            (at(2027, 3, 6, 10, 0), TimeKind.WEEKEND),
        ],
    )
    def test_kind_of_moment(self, hall, moment, kind):
        assert time_kind(hall=hall, moment=moment) == kind

    def test_utc_moment_is_judged_in_shanghai_time(self, hall):
        # 2026-09-16 04:30 UTC is 12:30 in Shanghai: the lunch break.
        moment = dt.datetime(2026, 9, 16, 4, 30, tzinfo=dt.UTC)
        assert time_kind(hall=hall, moment=moment) == TimeKind.OFF_HOURS
        # 2026-09-30 17:00 UTC is already 1 October in Shanghai: a holiday.
        moment = dt.datetime(2026, 9, 30, 17, 0, tzinfo=dt.UTC)
        assert time_kind(hall=hall, moment=moment) == TimeKind.HOLIDAY

    def test_naive_datetime_is_refused(self, hall):
        with pytest.raises(ValueError):
            time_kind(hall=hall, moment=dt.datetime(2026, 9, 16, 12))


@pytest.mark.django_db
class TestPhoneLine:
    """DB1403/T 5.1.3 b: Mon–Sun 9:00–12:00 and 13:00–17:00, not on statutory holidays."""

    @pytest.mark.parametrize(
        ("hour", "minute", "open_"),
        [
            (8, 59, False),
            (9, 0, True),
            (11, 59, True),
            (12, 0, False),
            (12, 59, False),
            (13, 0, True),
            (16, 59, True),
            (17, 0, False),
        ],
    )
    def test_hours_on_a_working_day(self, hall, hour, minute, open_):
        assert phone_line_is_open(hall=hall, now=at(2026, 9, 16, hour, minute)) is open_

    def test_open_at_the_weekend(self, hall):
        assert phone_line_is_open(hall=hall, now=at(2026, 9, 19, 10)) is True

    def test_closed_on_a_statutory_holiday(self, hall):
        assert phone_line_is_open(hall=hall, now=at(2026, 10, 1, 10)) is False

    def test_open_on_a_make_up_working_day(self, hall):
        assert phone_line_is_open(hall=hall, now=at(2026, 10, 10, 10)) is True

    def test_hall_may_open_the_line_on_holidays(self, hall):
        hall.phone_line_on_holidays = True
        hall.save()
        assert phone_line_is_open(hall=hall, now=at(2026, 10, 1, 10)) is True


@pytest.mark.django_db
class TestWorkingDays:
    """Deadlines counted in working days skip weekends and holidays, count make-up days."""

    def test_over_a_weekend(self, holidays_2026):
        assert working_days_add(start=D(2026, 9, 11), days=1) == D(2026, 9, 14)

    def test_zero_days_is_the_same_day(self, holidays_2026):
        assert working_days_add(start=D(2026, 9, 18), days=0) == D(2026, 9, 18)

    def test_make_up_sunday_counts(self, holidays_2026):
        # Friday 18 Sep + 1 working day: Sunday 20 Sep is worked in lieu (Mid-Autumn/National Day).
        assert working_days_add(start=D(2026, 9, 18), days=1) == D(2026, 9, 20)
        assert working_days_add(start=D(2026, 9, 19), days=1) == D(2026, 9, 20)

    def test_across_national_day(self, holidays_2026):
        # 30 Sep (Wed) + 1: 1–7 Oct are holidays, 8 Oct (Thu) is the next working day.
        assert working_days_add(start=D(2026, 9, 30), days=1) == D(2026, 10, 8)
        # + 3: 8 Oct, 9 Oct, then Saturday 10 Oct, a make-up working day.
        assert working_days_add(start=D(2026, 9, 30), days=3) == D(2026, 10, 10)

    def test_into_a_year_not_entered_skips_its_provisional_new_year_4(self, holidays_2026):
        """Thursday 2026-12-31 + 1 working day: 2027-01-01 (Friday) is a provisional holiday,
        then the weekend: Monday 2027-01-04."""
        assert working_days_add(start=D(2026, 12, 30), days=1) == D(2026, 12, 31)
        assert working_days_add(start=D(2026, 12, 31), days=1) == D(2027, 1, 4)
        assert working_days_add(start=D(2026, 12, 31), days=2) == D(2027, 1, 5)


@pytest.mark.django_db
class TestImportHolidays:
    def test_import_is_repeatable(self, capsys):
        call_command("import_holidays", "2026")
        call_command("import_holidays", "2026")
        assert HolidayYear.objects.filter(year=2026).count() == 1
        assert CalendarDay.objects.filter(date__year=2026, kind="makeup").count() == 6
        assert CalendarDay.objects.get(date=D(2026, 10, 10)).kind == "makeup"
        assert "Loaded 2026" in capsys.readouterr().out

    def test_dry_run_saves_nothing(self, capsys):
        call_command("import_holidays", "2025", "--dry-run")
        assert not CalendarDay.objects.exists()
        assert "Would load 2025" in capsys.readouterr().out

    def test_unknown_year_is_a_clear_error(self):
        with pytest.raises(CommandError, match="no data for 2099"):
            call_command("import_holidays", "2099")
        assert not HolidayYear.objects.exists()
