"""The desk's day (DB1403/T 5.1.3, 6.2.1): the same caller registered twice is warned about,
the registration screen keeps what was typed, the QR check-in finds and checks in, and texts
the system wrote into a booking's records read in the reader's language."""

import datetime as dt
import re

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from appointments.models import Appointment, AppointmentEvent, Status, reference_from_scan
from appointments.services import (
    appointment_cancel_by_citizen,
    appointment_cancel_by_staff,
    appointment_register,
)
from yuyue.stored_texts import shown_text, stored_text

from .conftest import START, THREE_DAYS_BEFORE, at
from .test_admin import other_hall_booking  # noqa: F401 (fixture)

ADD_URL = reverse("admin:appointments_appointment_add")
CHECK_IN_URL = reverse("admin:appointments_check_in")


def register(matter, window, desk, start=START, phone="13800138000", **kw):
    return appointment_register(
        matter=matter,
        window=window,
        start=start,
        applicant_name=kw.pop("name", "张伟"),
        phone=phone,
        channel="phone",
        actor=desk,
        now=THREE_DAYS_BEFORE,
        **kw,
    )


class TestSameCallerTwice:
    """DB1403/T 5.1.3 b: a number with a live booking of the matter that day is most likely the
    same caller registered twice: warned, and registered only when the clerk says it is
    another booking."""

    def test_same_number_matter_and_day_is_warned(self, matter, no_rest_window, desk):
        first = register(matter, no_rest_window, desk)
        with pytest.raises(ValidationError) as excinfo:
            register(matter, no_rest_window, desk, start=START + dt.timedelta(minutes=30))
        error = excinfo.value.error_dict["allow_duplicate"][0]
        assert error.code == "possible_duplicate"
        assert first.reference in error.messages[0]
        assert Appointment.objects.count() == 1

    def test_the_clerk_may_register_it_anyway(self, matter, no_rest_window, desk):
        register(matter, no_rest_window, desk)
        register(matter, no_rest_window, desk, name="张小伟", allow_duplicate=True)
        assert Appointment.objects.filter(start=START).count() == 2

    def test_the_next_day_another_number_or_a_cancelled_booking_is_no_duplicate(
        self, matter, no_rest_window, desk
    ):
        first = register(matter, no_rest_window, desk)
        # The same local day ends at midnight: 12:00 the next day is another day.
        register(matter, no_rest_window, desk, start=START + dt.timedelta(days=1))
        register(matter, no_rest_window, desk, phone="13800138001", start=START)
        appointment_cancel_by_staff(
            appointment=first,
            reason="申请人来电取消",
            at_applicants_request=True,
            actor=desk,
            now=THREE_DAYS_BEFORE,
        )
        register(matter, no_rest_window, desk, start=START + dt.timedelta(minutes=30))
        assert Appointment.objects.count() == 4

    def test_console_shows_the_warning_with_its_checkbox(
        self, client, matter, no_rest_window, desk
    ):
        register(matter, no_rest_window, desk)
        client.force_login(desk)
        data = {
            "channel": "phone",
            "applicant_name": "张伟",
            "phone": "138 0013 8000",
            "matter": matter.pk,
            "slot": f"{no_rest_window.pk}|{timezone.localtime(START).isoformat()}",
        }
        with time_machine.travel(THREE_DAYS_BEFORE, tick=False):
            page = client.post(ADD_URL, data)
            assert page.status_code == 200
            form = page.context["adminform"].form
            first = Appointment.objects.get()
            assert first.reference in form.errors["allow_duplicate"][0]
            html = page.content.decode()
            assert 'name="allow_duplicate"' in html
            # The picked window and slot stand as they were.
            assert re.search(rf'value="{no_rest_window.pk}"\s+selected', html)
            assert re.search(rf'value="{re.escape(data["slot"])}"\s*checked', html)
            assert client.post(ADD_URL, {**data, "allow_duplicate": "on"}).status_code == 302
        assert Appointment.objects.count() == 2


class TestRegistrationScreen:
    """5.1.3 b: nothing typed is lost, without JavaScript too."""

    def test_show_free_slots_keeps_everything_and_saves_nothing(
        self, client, matter, no_rest_window, regular_window, desk
    ):
        client.force_login(desk)
        with time_machine.travel(THREE_DAYS_BEFORE, tick=False):
            page = client.post(
                ADD_URL,
                {
                    "_refresh": "1",
                    "channel": "phone",
                    "applicant_name": "李娜",
                    "phone": "139 0013 9000",
                    "matter": matter.pk,
                },
            )
        assert page.status_code == 200 and not Appointment.objects.exists()
        html = page.content.decode()
        assert 'value="李娜"' in html and 'value="139 0013 9000"' in html
        assert re.search(r'value="phone"[^>]*checked', html)
        windows = [w for w, _days in page.context["free_slots"]]
        assert windows == [no_rest_window, regular_window]
        assert "errornote" not in html

    def test_window_list_holds_only_the_matters_windows(
        self, client, matter, no_rest_window, hall, desk
    ):
        from duty.models import Window

        other = Window.objects.create(hall=hall, number="C09", name="不动产登记")
        client.force_login(desk)
        page = client.get(ADD_URL, {"matter": matter.pk, "_slots": "1"})
        html = page.content.decode()
        assert f'value="{no_rest_window.pk}"' in html and f'value="{other.pk}"' not in html

    def test_the_slot_picker_names_holidays_provisional_ones_included(
        self, client, matter, no_rest_window, desk
    ):
        """DB1403/T 4: the desk sees a day's kind before picking its slot — 2027-01-01, a
        statutory holiday computed from the law while the 2027 arrangement is not entered, says
        so; a weekend says weekend; a working day says nothing."""
        with time_machine.travel(at(2026, 12, 29, 9), tick=False):
            client.force_login(desk)
            page = client.get(ADD_URL, {"matter": matter.pk, "_slots": "1"})
        days = {
            day: kind for _window, rows in page.context["slot_groups"] for day, kind, _s in rows
        }
        assert days[dt.date(2027, 1, 1)].provisional
        html = page.content.decode()
        assert '<span class="day-kind holiday">法定节假日（暂定） 元旦</span>' in html
        assert '<span class="day-kind weekend">周末</span>' in html  # 2027-01-02, 01-03
        assert days[dt.date(2026, 12, 30)].is_workday


class TestCheckInByQrCode:
    """DB1403/T 6.2.1: the desk finds the booking from its QR code and checks the applicant in,
    on the day of the booking only."""

    def test_what_the_scanner_types_finds_the_booking(self):
        assert reference_from_scan(" ab2c d3ef\n") == "AB2CD3EF"
        assert reference_from_scan("https://yuyue.example/bookings/AB2CD3EF/") == "AB2CD3EF"

    def test_desk_checks_in_on_the_day(self, client, accepted, desk):
        client.force_login(desk)
        with time_machine.travel(START - dt.timedelta(hours=1), tick=False):
            page = client.get(CHECK_IN_URL, {"reference": accepted.reference.lower()})
            assert page.context["appointment"] == accepted and page.context["may_check_in"]
            done = client.post(CHECK_IN_URL, {"reference": accepted.reference})
        assert done.status_code == 302
        accepted.refresh_from_db()
        assert accepted.status == Status.ARRIVED
        assert AppointmentEvent.objects.get(action="arrived").actor == desk

    def test_the_day_before_is_refused(self, client, accepted, desk):
        client.force_login(desk)
        with time_machine.travel(START - dt.timedelta(hours=13), tick=False):  # 23:00 before
            page = client.post(CHECK_IN_URL, {"reference": accepted.reference})
        assert page.status_code == 200 and page.context["error"]
        accepted.refresh_from_db()
        assert accepted.status == Status.ACCEPTED

    def test_another_halls_booking_is_not_found(
        self,
        client,
        other_hall_booking,  # noqa: F811 (the fixture)
        desk,
    ):
        client.force_login(desk)
        page = client.get(CHECK_IN_URL, {"reference": other_hall_booking.reference})
        assert page.context["appointment"] is None and page.context["not_found"]


class TestStoredTexts:
    """Texts the system writes into records are translated when shown."""

    def test_cancellation_on_the_english_site_reads_in_each_readers_language(self, online):
        with translation.override("en"):
            appointment_cancel_by_citizen(appointment=online, now=at(2026, 9, 14, 12))
        event = AppointmentEvent.objects.get(action="cancelled")
        for language, text in (
            ("zh-hans", "申请人自行取消。"),
            ("en", "Cancelled by the applicant."),
        ):
            with translation.override(language):
                assert AppointmentEvent.objects.get(pk=event.pk).note == text
                assert Appointment.objects.get(pk=online.pk).cancel_reason == text

    def test_a_stored_text_is_saved_back_as_stored(self, online):
        appointment_cancel_by_citizen(appointment=online, now=at(2026, 9, 14, 12))
        with translation.override("en"):
            booking = Appointment.objects.get(pk=online.pk)
            booking.save()  # every column, the reason too
        with translation.override("zh-hans"):
            assert Appointment.objects.get(pk=online.pk).cancel_reason == "申请人自行取消。"

    def test_parameters_and_free_text(self):
        text = stored_text("%(reason)s (reported to %(agency)s)", reason="请假", agency="赵刚")
        with translation.override("zh-hans"):
            assert shown_text(text) == "请假（已报告 赵刚）"
        assert shown_text("申请人来电取消") == "申请人来电取消"
