"""The holidays of years whose official arrangement is not published yet (DB1403/T 4): the
statutory days computed from the law are provisional holidays everywhere, and the official
arrangement replaces them, listing the bookings whose day changes kind."""

import datetime as dt

import pytest
import time_machine
from chinese_calendar import constants
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from appointments.models import Appointment
from appointments.services import appointment_book_online
from appointments.slots import window_slots
from duty.calendar import TimeKind, day_info, days_info, time_kind, working_days_add
from duty.holiday_law import statutory_holidays
from duty.models import CalendarDay, DayType, Duty, HolidayYear
from duty.services import holiday_arrangement_enter
from sms.models import Alert

from .conftest import at, roster_standing
from .test_rosters import register

D = dt.date
TODAY = at(2026, 12, 7, 10)  # 2027's arrangement is not published; the horizon reaches February

SPRING_FESTIVAL_2027 = [D(2027, 2, 5), D(2027, 2, 6), D(2027, 2, 7), D(2027, 2, 8)]


class TestTheLawsDays:
    """《全国年节及纪念日放假办法》 (2024): the statutory days, from the lunar calendar."""

    @pytest.mark.parametrize("year", [2025, 2026])
    def test_every_statutory_day_is_a_holiday_of_the_published_arrangement(self, year):
        """Under the 2024 revision (2025 on), each day the law fixes is a holiday of the State
        Council's arrangement, under the same name; the arrangement adds bridging days."""
        official = {d: n for d, n in constants.holidays.items() if d.year == year}
        computed = statutory_holidays(year)
        assert len(computed) == 13
        assert set(computed) <= set(official)

    def test_lunar_dates_and_qingming_of_2024_match_its_arrangement(self):
        """2024 was arranged under the old law (no 除夕), but its lunar festivals and 清明 are
        the days the library computes."""
        official = {d for d in constants.holidays if d.year == 2024}
        computed = statutory_holidays(2024)
        del computed[D(2024, 2, 9)]  # 除夕, a statutory day only from 2025
        del computed[D(2024, 5, 2)]  # 劳动节 was one day before 2025
        assert set(computed) <= official
        assert computed[D(2024, 4, 4)] == "清明节"
        assert computed[D(2024, 6, 10)] == "端午节"
        assert computed[D(2024, 9, 17)] == "中秋节"

    def test_2027_spring_festival_is_chuxi_to_chusan(self):
        days = statutory_holidays(2027)
        assert [d for d, n in days.items() if n == "春节"] == SPRING_FESTIVAL_2027
        assert days[D(2027, 4, 5)] == "清明节"

    def test_two_festivals_on_one_day_name_both(self):
        # 中秋节 2028 falls on 3 October.
        assert statutory_holidays(2028)[D(2028, 10, 3)] == "中秋节、国庆节"


@pytest.mark.django_db
class TestProvisionalHolidays:
    """DB1403/T 4: without any import of 2027, its statutory days are holidays."""

    def test_new_year_spring_festival_and_qingming_2027_are_provisional_holidays(
        self, holidays_2026
    ):
        assert not HolidayYear.objects.filter(year=2027).exists()
        for day in [D(2027, 1, 1), *SPRING_FESTIVAL_2027, D(2027, 4, 5)]:
            info = day_info(day)
            assert (info.day_type, info.provisional, info.year_loaded) == (
                DayType.HOLIDAY,
                True,
                False,
            ), day
        # The days either side follow the weekday rule until the arrangement says otherwise.
        assert day_info(D(2027, 2, 4)).day_type == DayType.WORKDAY
        assert day_info(D(2027, 2, 9)).day_type == DayType.WORKDAY
        assert day_info(D(2027, 4, 6)).day_type == DayType.WORKDAY
        assert day_info(D(2027, 1, 1)).holiday_name == "元旦"
        assert day_info(D(2027, 1, 1)).kind_label == "法定节假日（暂定）"

    def test_a_loaded_year_has_no_provisional_days(self, holidays_2026):
        assert not any(
            info.provisional for info in days_info(D(2026, 1, 1), D(2026, 12, 31)).values()
        )

    def test_a_day_entered_ahead_wins_over_the_law(self, holidays_2026):
        CalendarDay.objects.create(date=D(2027, 2, 4), kind="holiday", name="春节")
        CalendarDay.objects.create(date=D(2027, 2, 5), kind="makeup", name="春节")
        assert day_info(D(2027, 2, 4)).day_type == DayType.HOLIDAY
        assert day_info(D(2027, 2, 5)).day_type == DayType.WORKDAY

    def test_time_kind_on_new_year_2027_is_holiday(self, hall):
        assert time_kind(hall=hall, moment=at(2027, 1, 1, 10)) == TimeKind.HOLIDAY
        assert time_kind(hall=hall, moment=at(2026, 12, 31, 10)) == TimeKind.WORKING

    def test_working_day_deadline_across_the_2027_spring_festival(self, holidays_2026):
        """Thursday 2027-02-04 + 1 working day: 5–8 February (除夕 to 初三, Saturday and
        Sunday among them) are holidays, so Tuesday 9 February; + 0 stays on the 4th."""
        assert working_days_add(start=D(2027, 2, 4), days=0) == D(2027, 2, 4)
        assert working_days_add(start=D(2027, 2, 3), days=1) == D(2027, 2, 4)
        assert working_days_add(start=D(2027, 2, 4), days=1) == D(2027, 2, 9)
        assert working_days_add(start=D(2027, 4, 2), days=1) == D(2027, 4, 6)  # 清明 on Monday

    def test_new_year_2027_offers_only_off_hours_holiday_slots(
        self, matter, no_rest_window, regular_window
    ):
        """Holidays are served by appointment at no-rest windows (DB1403/T 4, 5.2): no
        working-hours slot on 2027-01-01, and every slot there is a provisional holiday's."""
        assert not window_slots(
            window=regular_window, start_date=D(2027, 1, 1), end_date=D(2027, 1, 1)
        )
        slots = window_slots(
            window=no_rest_window, start_date=D(2027, 1, 1), end_date=D(2027, 1, 1)
        )
        assert slots and {(s.time_kind, s.provisional) for s in slots} == {(TimeKind.HOLIDAY, True)}

    def test_online_booking_at_9_on_new_year_2027_at_a_regular_window_is_refused(
        self, matter, regular_window
    ):
        with pytest.raises(ValidationError):
            appointment_book_online(
                matter=matter,
                window=regular_window,
                start=at(2027, 1, 1, 9),
                applicant_name="王芳",
                phone="13900139000",
                now=TODAY,
            )
        assert not Appointment.objects.exists()

    def test_the_api_marks_a_provisional_holidays_slots(self, client, matter, no_rest_window):
        with time_machine.travel(TODAY, tick=False):
            answer = client.get(
                "/api/v1/availability/",
                {"matter": matter.pk, "from": "2027-01-01", "to": "2027-01-01"},
            )
        assert answer.status_code == 200, answer.content
        slots = answer.json()
        assert slots and all(
            s["provisional_holiday"] and s["time_kind"] == "holiday" for s in slots
        )


@pytest.mark.django_db
class TestOfficialArrangement:
    """DB1403/T 4: the official arrangement replaces the provisional days; bookings whose day
    changes kind are listed for the desk, none moved or dropped."""

    def test_import_with_a_make_up_working_day_lists_the_booking_on_it(
        self, matter, no_rest_window, regular_window, desk, supervisor, head, capsys
    ):
        """2025 before its import: Sunday 26 January is a weekend day, Monday 3 February a
        working day, 28 January (除夕) a provisional holiday. The arrangement makes the 26th a
        make-up working day and the 3rd a bridging rest day; 除夕 stays a holiday."""
        now = at(2025, 1, 10, 10)
        roster_standing(no_rest_window, head, D(2025, 1, 20), D(2025, 2, 10))
        on_makeup = register(matter, no_rest_window, desk, at(2025, 1, 26, 10), now=now)
        on_bridge = register(matter, regular_window, desk, at(2025, 2, 3, 10), now=now)
        on_chuxi = register(matter, no_rest_window, desk, at(2025, 1, 28, 10), now=now)
        assert day_info(D(2025, 1, 28)).provisional

        call_command("import_holidays", "2025")

        out = capsys.readouterr().out
        assert "2025-01-26: weekend -> workday" in out
        assert "2025-02-03: workday -> holiday" in out
        assert on_makeup.reference in out and on_bridge.reference in out
        assert on_chuxi.reference not in out
        alerts = Alert.objects.filter(kind="calendar_changed")
        assert {a.recipient_id for a in alerts} == {desk.pk, supervisor.pk}
        text = alerts.first().text
        assert on_makeup.reference in text and "周末 → 工作日" in text
        assert on_bridge.reference in text and "工作日 → 法定节假日" in text
        assert on_chuxi.reference not in text
        # Nothing moved or dropped.
        for booking in (on_makeup, on_bridge, on_chuxi):
            fresh = Appointment.objects.get(pk=booking.pk)
            assert (fresh.start, fresh.status) == (booking.start, booking.status)
        # Entering the same arrangement again changes no kind and lists nothing.
        call_command("import_holidays", "2025")
        assert Alert.objects.filter(kind="calendar_changed").count() == 2

    def test_arrangement_days_outside_the_year_or_both_kinds_are_refused(self, holidays_2026):
        with pytest.raises(ValidationError) as excinfo:
            holiday_arrangement_enter(
                year=2027,
                holidays={D(2026, 12, 31): "元旦"},
                makeup_days={},
                source="test",
                now=TODAY,
            )
        assert excinfo.value.error_dict["days"][0].code == "other_year"
        with pytest.raises(ValidationError) as excinfo:
            holiday_arrangement_enter(
                year=2027,
                holidays={D(2027, 2, 6): "春节"},
                makeup_days={D(2027, 2, 6): "春节"},
                source="test",
                now=TODAY,
            )
        assert excinfo.value.error_dict["days"][0].code == "both"
        assert not HolidayYear.objects.filter(year=2027).exists()


@pytest.mark.django_db
class TestArrangementPage:
    """The console page where a city administrator enters a year's arrangement (DB1403/T 4)."""

    URL = "admin:duty_holidayyear_enter"

    def test_page_starts_from_the_statutory_days_of_the_year(self, client, make_user, hall):
        client.force_login(make_user("city-admin", "administrator", hall))
        form = client.get(reverse(self.URL), {"year": "2027"}).context["form"]
        assert form.initial["year"] == 2027
        assert "2027-02-05~2027-02-08 春节" in form.initial["holidays"]
        assert "2027-04-05 清明节" in form.initial["holidays"]

    def test_adding_a_year_goes_to_the_arrangement_page(self, client, make_user, hall):
        client.force_login(make_user("city-admin", "administrator", hall))
        answer = client.get(reverse("admin:duty_holidayyear_add"))
        assert answer.status_code == 302 and answer.url == reverse(self.URL)

    def test_only_city_administrators_may_enter(self, client, desk, make_user, other_hall):
        client.force_login(desk)
        assert client.get(reverse(self.URL)).status_code == 403
        client.force_login(make_user("jq-admin", "administrator", other_hall))
        assert client.get(reverse(self.URL)).status_code == 403

    def test_entering_2027_lists_the_booking_on_a_new_make_up_saturday(
        self, client, make_user, hall, matter, no_rest_window, desk
    ):
        """A booking on Saturday 2027-01-30 (weekend service); the arrangement entered makes
        the 30th a make-up working day: the page and the desk's alert list it."""
        with time_machine.travel(TODAY, tick=False):
            booking = register(matter, no_rest_window, desk, at(2027, 1, 30, 10), now=TODAY)
            client.force_login(make_user("city-admin", "administrator", hall))
            page = client.post(
                reverse(self.URL),
                {
                    "year": "2027",
                    "holidays": "2027-01-01 元旦\n2027-02-05~2027-02-11 春节\n2027-04-05 清明节",
                    "makeup_days": "2027-01-30 春节\n2027-02-20 春节",
                },
            )
        assert page.status_code == 200
        content = page.content.decode()
        assert 'id="affected-bookings"' in content and booking.reference in content
        assert HolidayYear.objects.filter(year=2027).exists()
        assert day_info(D(2027, 1, 30)).day_type == DayType.WORKDAY
        assert day_info(D(2027, 2, 9)).day_type == DayType.HOLIDAY
        assert not day_info(D(2027, 2, 9)).provisional
        # The provisional 端午节 is gone with the arrangement entered (it named no such day).
        assert day_info(D(2027, 6, 9)).day_type == DayType.WORKDAY
        alert = Alert.objects.get(kind="calendar_changed", recipient=desk)
        assert booking.reference in alert.text
        assert Appointment.objects.get(pk=booking.pk).start == at(2027, 1, 30, 10)
        # The standing roster's weekend duties of the 30th no longer fit a working day: removed,
        # listed, the head alerted; the new working day's lunch and evening are gaps to plan.
        assert 'id="removed-duties"' in content and "2027-01-30 09:00–12:00" in content
        assert not Duty.objects.filter(date=D(2027, 1, 30)).exists()
        assert not Duty.objects.filter(date=D(2027, 2, 9)).exists()  # now a bridging rest day
        assert Duty.objects.filter(date=D(2027, 2, 1)).exists()  # unchanged days keep theirs
        head_alert = Alert.objects.get(kind="roster_problem", recipient=no_rest_window.head)
        assert "2027-01-30 13:00–17:00" in head_alert.text

    def test_a_bad_line_is_shown_beside_its_field(self, client, make_user, hall):
        client.force_login(make_user("city-admin", "administrator", hall))
        page = client.post(
            reverse(self.URL), {"year": "2027", "holidays": "2027-02-30 春节", "makeup_days": ""}
        )
        assert page.context["form"].errors["holidays"]
        assert not HolidayYear.objects.filter(year=2027).exists()
