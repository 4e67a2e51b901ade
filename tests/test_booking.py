"""Creating bookings: DB1403/T 5.1.1, 5.1.2, 5.1.3, 5.2, 6.1.2 and bad input."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from appointments.models import Appointment, AppointmentEvent, ParallelTask, Status
from appointments.services import (
    SlotFullError,
    appointment_book_online,
    appointment_register,
)
from appointments.slots import window_availability
from duty.models import Window
from sms.models import Message
from sms.services import message_deliver

from .conftest import at

LUNCH = at(2026, 9, 16, 12, 0)  # Wednesday lunch break: no-rest service
H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)


def register(matter, window, actor, start=LUNCH, now=None, **kw):
    kw.setdefault("applicant_name", "张伟")
    kw.setdefault("phone", "13800138000")
    kw.setdefault("channel", "onsite")
    # One caller booking again: these tests are about other rules than the desk's warning.
    kw.setdefault("allow_duplicate", True)
    return appointment_register(
        matter=matter,
        window=window,
        start=start,
        actor=actor,
        now=now or start - 48 * H,
        **kw,
    )


def book(matter, window, start=LUNCH, now=None, **kw):
    kw.setdefault("applicant_name", "王芳")
    kw.setdefault("phone", "13900139000")
    return appointment_book_online(
        matter=matter, window=window, start=start, now=now or start - 48 * H, **kw
    )


def field_error(excinfo, field):
    return excinfo.value.message_dict[field][0]


class TestLeadTime:
    """DB1403/T 5.1.1: bookings at least 24 h ahead."""

    def test_online_at_exactly_24_hours_is_accepted(self, matter, no_rest_window):
        appt = book(matter, no_rest_window, now=LUNCH - 24 * H)
        assert appt.status == Status.PENDING

    def test_online_at_23_hours_59_minutes_is_refused(self, matter, no_rest_window):
        with pytest.raises(ValidationError) as excinfo:
            book(matter, no_rest_window, now=LUNCH - 24 * H + M)
        assert "24" in field_error(excinfo, "start")
        assert not Appointment.objects.exists()

    def test_desk_under_24_hours_needs_a_reason(self, matter, no_rest_window, desk):
        with pytest.raises(ValidationError) as excinfo:
            register(matter, no_rest_window, desk, now=LUNCH - 24 * H + M)
        assert "short_notice_reason" in excinfo.value.message_dict

    def test_desk_under_24_hours_with_reason_is_recorded(self, matter, no_rest_window, desk):
        appt = register(
            matter, no_rest_window, desk, now=LUNCH - 2 * H, short_notice_reason="急需办理"
        )
        assert appt.is_short_notice and appt.short_notice_reason == "急需办理"

    def test_desk_at_24_hours_needs_no_reason_and_keeps_none(self, matter, no_rest_window, desk):
        appt = register(
            matter, no_rest_window, desk, now=LUNCH - 24 * H, short_notice_reason="不需要"
        )
        assert not appt.is_short_notice

    def test_window_staff_may_not_accept_short_notice(
        self, matter, no_rest_window, make_user, hall
    ):
        # Window staff do not register bookings at all; the desk does.
        staff = make_user("w2", "window_staff", hall)
        with pytest.raises(PermissionDenied):
            register(matter, no_rest_window, staff, now=LUNCH - 2 * H, short_notice_reason="x")


class TestPhoneChannel:
    """DB1403/T 5.1.3 b: a phone booking taken while the line is closed is flagged."""

    @pytest.mark.parametrize(
        ("now", "flagged"),
        [
            (at(2026, 9, 14, 8, 59), True),
            (at(2026, 9, 14, 9, 0), False),
            (at(2026, 9, 14, 16, 59), False),
            (at(2026, 9, 14, 17, 0), True),
            (at(2026, 10, 1, 10, 0), True),  # National Day: the line is closed
        ],
    )
    def test_flag_outside_phone_hours(self, matter, no_rest_window, desk, now, flagged):
        start = at(2026, 10, 8, 12, 0)
        appt = register(matter, no_rest_window, desk, start=start, now=now, channel="phone")
        assert appt.outside_phone_hours is flagged

    def test_on_site_registration_is_never_flagged(self, matter, no_rest_window, desk):
        appt = register(matter, no_rest_window, desk, now=at(2026, 9, 14, 20, 0))
        assert appt.outside_phone_hours is False

    def test_desk_cannot_register_an_online_booking(self, matter, no_rest_window, desk):
        with pytest.raises(ValidationError) as excinfo:
            register(matter, no_rest_window, desk, channel="online")
        assert "channel" in excinfo.value.message_dict


class TestRegisterRecord:
    """DB1403/T 6.1.2, 5.1.3 a and 6.2.5: what the register holds."""

    def test_fields_of_the_register(self, matter, no_rest_window, desk, head):
        appt = register(
            matter,
            no_rest_window,
            desk,
            content="设立个体户",
            remarks="需要停车位",
            phone="138 0013 8000",
        )
        appt.refresh_from_db()
        assert appt.status == Status.ACCEPTED
        assert appt.accepted_at == LUNCH - 48 * H
        assert appt.received_by == desk
        assert appt.window_head == head
        assert str(appt.phone) == "138 0013 8000"
        assert appt.phone.as_e164 == "+8613800138000"
        assert appt.end == LUNCH + 30 * M
        assert (appt.content, appt.remarks) == ("设立个体户", "需要停车位")
        assert AppointmentEvent.objects.get(appointment=appt).action == "registered"

    def test_stored_in_utc_shown_in_shanghai(self, matter, no_rest_window, desk):
        appt = register(matter, no_rest_window, desk)
        raw = Appointment.objects.filter(pk=appt.pk).values_list("start", flat=True).get()
        assert raw.utcoffset() == dt.timedelta(0)
        assert raw.hour == 4  # 12:00 in Shanghai is 04:00 UTC
        assert timezone.localtime(raw).strftime("%H:%M") == "12:00"

    def test_reference_is_neither_sequential_nor_guessable(self, matter, no_rest_window, desk):
        refs = [
            register(matter, no_rest_window, desk, start=LUNCH + i * 30 * M).reference
            for i in range(2)
        ]
        assert all(len(r) == 8 and r.isalnum() for r in refs)
        assert refs[0] != refs[1]
        assert not set("01OIL") & set("".join(refs))


class TestRegisteredApplicantIsTexted:
    """A booking the desk registers by phone or on site: the applicant gets its reference, time,
    place and the link to "My booking" by SMS (DB1403/T 5.1.3 a/b, 6.1.3), once."""

    @pytest.mark.parametrize("channel", ["phone", "onsite"])
    def test_the_text_has_reference_time_place_and_link(
        self, matter, no_rest_window, desk, sms_inbox, settings, channel
    ):
        settings.SITE_URL = "https://yuyue.example.cn"
        appt = register(matter, no_rest_window, desk, channel=channel)
        message = Message.objects.about(appt).get()
        message_deliver(message_id=message.pk, now=LUNCH - 47 * H)
        [text] = sms_inbox.messages("+8613800138000")
        assert appt.reference in text and "2026-09-16" in text and "12:00" in text
        assert no_rest_window.hall.name in text and str(no_rest_window) in text
        assert f"https://yuyue.example.cn/my/?reference={appt.reference}" in text
        assert message.purpose == Message.Purpose.BOOKING_REGISTERED

    def test_the_link_opens_my_booking_with_the_reference_filled_in(
        self, client, matter, no_rest_window, desk
    ):
        appt = register(matter, no_rest_window, desk, channel="phone")
        page = client.get("/my/", {"reference": appt.reference}).content.decode()
        assert f'value="{appt.reference}"' in page

    def test_a_booking_served_before_its_text_went_out_is_not_texted(
        self, matter, no_rest_window, desk, sms_inbox
    ):
        appt = register(matter, no_rest_window, desk, channel="phone")
        Appointment.objects.filter(pk=appt.pk).update(status=Status.SERVED)
        message = message_deliver(message_id=Message.objects.about(appt).get().pk, now=LUNCH)
        assert message.status == Message.Status.SKIPPED and not sms_inbox.messages()

    def test_a_landline_gets_no_text(self, matter, no_rest_window, desk):
        appt = register(matter, no_rest_window, desk, channel="phone", phone="0353-2021234")
        assert not Message.objects.about(appt).exists()

    def test_a_refused_registration_sends_nothing(self, matter, no_rest_window, desk):
        with pytest.raises(ValidationError):
            register(matter, no_rest_window, desk, channel="phone", now=LUNCH - 23 * H)
        assert not Message.objects.exists()


class TestWhereAndWhen:
    """DB1403/T 4, 5.1.2 and 5.2: the window and time must be served."""

    def test_regular_window_is_not_bookable_at_lunch(self, matter, regular_window, desk):
        with pytest.raises(ValidationError) as excinfo:
            register(matter, regular_window, desk)
        assert "A02" in field_error(excinfo, "start")

    def test_regular_window_is_bookable_in_working_hours(self, matter, regular_window, desk):
        assert register(matter, regular_window, desk, start=at(2026, 9, 16, 9, 0)).pk

    def test_no_rest_window_serves_weekends_and_holidays(self, matter, no_rest_window, desk):
        assert register(matter, no_rest_window, desk, start=at(2026, 9, 19, 9, 30)).pk
        assert register(matter, no_rest_window, desk, start=at(2026, 10, 2, 14, 0)).pk

    def test_regular_window_does_not_serve_a_holiday(self, matter, regular_window, desk):
        with pytest.raises(ValidationError):
            register(matter, regular_window, desk, start=at(2026, 10, 2, 9, 0))

    def test_make_up_saturday_has_working_hours(self, matter, regular_window, desk):
        """2026-10-10 is worked in lieu: regular windows serve it like a weekday."""
        assert register(matter, regular_window, desk, start=at(2026, 10, 10, 9, 0)).pk

    def test_unloaded_year_still_books_by_the_weekday_rule(self, matter, regular_window, desk):
        assert register(matter, regular_window, desk, start=at(2027, 3, 8, 9, 0)).pk
        with pytest.raises(ValidationError):
            register(matter, regular_window, desk, start=at(2027, 3, 6, 9, 0))

    @pytest.mark.parametrize(
        "start",
        [at(2026, 9, 16, 7, 0), at(2026, 9, 16, 12, 10), at(2026, 9, 16, 18, 0)],
        ids=["before-opening", "not-a-slot-start", "after-closing"],
    )
    def test_times_not_served_are_refused(self, matter, no_rest_window, desk, start):
        with pytest.raises(ValidationError) as excinfo:
            register(matter, no_rest_window, desk, start=start)
        assert excinfo.value.message_dict["start"][0]

    def test_past_time_is_refused(self, matter, no_rest_window, desk):
        with pytest.raises(ValidationError) as excinfo:
            register(matter, no_rest_window, desk, now=LUNCH + M)
        assert excinfo.value.error_dict["start"][0].code == "past"

    def test_window_that_does_not_handle_the_matter(self, matter, hall, desk):
        other = Window.objects.create(hall=hall, number="B01", name="税务", is_no_rest=True)
        with pytest.raises(ValidationError) as excinfo:
            register(matter, other, desk)
        assert "B01" in field_error(excinfo, "window")

    def test_inactive_matter(self, matter, no_rest_window, desk):
        matter.is_active = False
        matter.save()
        with pytest.raises(ValidationError) as excinfo:
            register(matter, no_rest_window, desk)
        assert "matter" in excinfo.value.message_dict

    def test_messages_are_in_chinese(self, matter, regular_window, desk):
        with pytest.raises(ValidationError) as excinfo:
            register(matter, regular_window, desk)
        assert "窗口" in field_error(excinfo, "start")


class TestPhoneAndName:
    @pytest.mark.parametrize("phone", ["12345", "", "abc", "+86 138 0013 800"])
    def test_invalid_phone(self, matter, no_rest_window, desk, phone):
        with pytest.raises(ValidationError) as excinfo:
            register(matter, no_rest_window, desk, phone=phone)
        assert "phone" in excinfo.value.message_dict

    @pytest.mark.parametrize("phone", ["138 0013 8000", "+86 13800138000", "13800138000"])
    def test_phone_in_any_format(self, matter, no_rest_window, phone):
        assert book(matter, no_rest_window, phone=phone).phone.as_e164 == "+8613800138000"

    def test_landline_accepted_from_the_desk(self, matter, no_rest_window, desk):
        assert register(matter, no_rest_window, desk, phone="0353-2021012").pk

    def test_landline_refused_online(self, matter, no_rest_window):
        with pytest.raises(ValidationError) as excinfo:
            book(matter, no_rest_window, phone="0353-2021012")
        assert excinfo.value.error_dict["phone"][0].code == "not_mobile"

    def test_name_required(self, matter, no_rest_window):
        with pytest.raises(ValidationError) as excinfo:
            book(matter, no_rest_window, applicant_name="  ")
        assert "applicant_name" in excinfo.value.message_dict


class TestCapacity:
    """Lock the slot, recount, then insert (docs/CONFORMANCE.md, "no overbooking"); a full slot
    says so."""

    def test_full_slot_is_refused_and_nothing_is_saved(self, matter, no_rest_window, desk):
        register(matter, no_rest_window, desk)
        register(matter, no_rest_window, desk)
        with pytest.raises(SlotFullError) as excinfo:
            book(matter, no_rest_window)
        assert excinfo.value.error_dict["start"][0].code == "slot_full"
        assert Appointment.objects.count() == 2
        assert not AppointmentEvent.objects.filter(action="booked").exists()

    def test_cancelled_booking_frees_its_place(self, matter, no_rest_window, desk):
        from appointments.services import appointment_cancel_by_staff

        first = register(matter, no_rest_window, desk)
        register(matter, no_rest_window, desk)
        appointment_cancel_by_staff(
            at_applicants_request=True,
            appointment=first,
            reason="申请人来电取消",
            actor=desk,
            now=LUNCH - 40 * H,
        )
        assert book(matter, no_rest_window).pk

    def test_availability_counts_places(self, matter, no_rest_window, desk):
        register(matter, no_rest_window, desk)
        slots = window_availability(
            window=no_rest_window,
            start_date=LUNCH.date(),
            end_date=LUNCH.date(),
            not_before=LUNCH - 48 * H,
        )
        by_start = {s.slot.start: s for s in slots}
        assert by_start[LUNCH].remaining == 1
        assert by_start[LUNCH].slot.is_off_hours
        assert by_start[at(2026, 9, 16, 9, 0)].remaining == 2
        assert not by_start[at(2026, 9, 16, 9, 0)].slot.is_off_hours


class TestParallelProcessing:
    """DB1403/T 6.1.1 b: a matter of several departments opens one task per department."""

    def test_one_task_per_department(self, matter, no_rest_window, desk, tax, hall):
        tax_window = Window.objects.create(hall=hall, number="B01", name="税务", is_no_rest=True)
        tax_window.departments.add(tax)
        matter.departments.add(tax)
        matter.windows.add(tax_window)
        appt = register(matter, no_rest_window, desk)
        tasks = {
            t.department.name: t.window.number
            for t in ParallelTask.objects.filter(appointment=appt)
        }
        assert tasks == {"市场监督管理局": "A01", "税务局": "B01"}

    def test_single_department_has_no_tasks(self, matter, no_rest_window, desk):
        appt = register(matter, no_rest_window, desk)
        assert not appt.parallel_tasks.exists()


class TestHalls:
    def test_desk_cannot_register_into_another_hall(
        self, matter, no_rest_window, make_user, other_hall
    ):
        stranger = make_user("stranger", "desk", other_hall)
        with pytest.raises(PermissionDenied):
            register(matter, no_rest_window, stranger)
        assert not Appointment.objects.exists()
