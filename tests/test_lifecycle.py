"""The booking lifecycle after registration: DB1403/T 5.1.3 c, 6.1.1, 6.1.3, 6.2.1–6.2.3."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from appointments import services as s
from appointments.models import (
    AppointmentEvent,
    ChangeRequest,
    ContactLog,
    NoShowFollowUp,
    Status,
)
from duty.models import Window

from .conftest import NEW_START, START, at, field_code, roster_test_dates

H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)


class TestConfirmOnline:
    """DB1403/T 5.1.3 c: online bookings are reconfirmed by phone or SMS, then accepted."""

    def test_confirm_records_method_who_and_when(self, online, window_staff, head):
        now = START - 70 * H
        appt = s.appointment_confirm(
            appointment=online, method="sms", actor=window_staff, now=now, note="已回复确认"
        )
        assert appt.status == Status.ACCEPTED
        assert (appt.accepted_at, appt.received_by, appt.responsible_staff) == (
            now,
            window_staff,
            window_staff,
        )
        assert appt.window_head == head
        contact = ContactLog.objects.get(appointment=appt)
        assert (contact.purpose, contact.method, contact.by, contact.at) == (
            "confirmation",
            "sms",
            window_staff,
            now,
        )

    def test_confirm_only_by_phone_or_sms(self, online, window_staff):
        with pytest.raises(ValidationError) as excinfo:
            s.appointment_confirm(
                appointment=online, method="in_person", actor=window_staff, now=START - 70 * H
            )
        assert field_code(excinfo, "method") == "method"

    def test_confirming_twice_is_refused(self, online, window_staff):
        s.appointment_confirm(
            appointment=online, method="phone", actor=window_staff, now=START - 70 * H
        )
        with pytest.raises(ValidationError) as excinfo:
            s.appointment_confirm(
                appointment=online, method="phone", actor=window_staff, now=START - 69 * H
            )
        assert field_code(excinfo, "status") == "invalid_status"
        assert ContactLog.objects.count() == 1

    def test_desk_cannot_confirm(self, online, desk):
        with pytest.raises(PermissionDenied):
            s.appointment_confirm(
                appointment=online, method="phone", actor=desk, now=START - 70 * H
            )

    def test_supervisor_reads_but_does_not_change(self, online, supervisor):
        with pytest.raises(PermissionDenied):
            s.appointment_confirm(
                appointment=online, method="phone", actor=supervisor, now=START - 70 * H
            )


class TestHandOver:
    """DB1403/T 6.1.3 and 6.2.5: hand-over, named contact, the one-time notice."""

    def test_hand_over_names_the_contact_as_responsible(self, handed_over, window_staff):
        assert handed_over.status == Status.HANDED_OVER
        assert handed_over.contact_person == window_staff
        assert handed_over.responsible_staff == window_staff
        assert handed_over.handed_over_at == START - 71 * H

    def test_one_time_notice_lists_every_material_and_the_time(self, handed_over, window_staff):
        contact = s.appointment_give_notice(
            appointment=handed_over,
            method="phone",
            time_reconfirmed=True,
            actor=window_staff,
            now=START - 70 * H,
            outcome="已知悉",
        )
        assert contact.purpose == ContactLog.Purpose.ONE_TIME_NOTICE
        assert contact.time_reconfirmed
        assert "1. 经营者身份证原件" in contact.text
        assert "2. 经营场所使用证明" in contact.text
        assert "委托办理的须提交委托书" in contact.text
        assert "2026-09-16 12:00" in contact.text
        assert handed_over.reference in contact.text

    def test_notice_comes_after_the_hand_over(self, accepted, window_staff):
        with pytest.raises(ValidationError) as excinfo:
            s.appointment_give_notice(
                appointment=accepted,
                method="phone",
                time_reconfirmed=True,
                actor=window_staff,
                now=START - 70 * H,
            )
        assert field_code(excinfo, "status") == "invalid_status"
        assert not ContactLog.objects.exists()

    def test_notice_is_in_the_history(self, handed_over, window_staff):
        s.appointment_give_notice(
            appointment=handed_over,
            method="sms",
            time_reconfirmed=False,
            actor=window_staff,
            now=START - 70 * H,
        )
        assert handed_over.events.filter(action="notice_given", actor=window_staff).exists()

    def test_contact_must_belong_to_the_hall(self, accepted, desk, make_user, other_hall):
        stranger = make_user("stranger", "window_staff", other_hall)
        with pytest.raises(ValidationError):
            s.appointment_hand_over(
                appointment=accepted, contact_person=stranger, actor=desk, now=START - 71 * H
            )

    def test_pending_online_booking_cannot_be_handed_over(self, online, desk, window_staff):
        with pytest.raises(ValidationError):
            s.appointment_hand_over(
                appointment=online, contact_person=window_staff, actor=desk, now=START - 71 * H
            )


@pytest.fixture
def other_window(hall, department, head, matter, make_user):
    window = Window.objects.create(
        hall=hall, number="A03", name="综合", is_no_rest=True, head=head, capacity_per_slot=1
    )
    window.departments.add(department)
    matter.windows.add(window)
    roster_test_dates(window, make_user("other-window", "window_staff", hall, window))
    return window


class TestReassign:
    """DB1403/T 6.1.1 a: a window that cannot serve reports to the agency and the booking goes
    to other staff or another window, with the reason kept."""

    def test_to_another_window_reported_to_the_agency(
        self, handed_over, head, approver, other_window
    ):
        appt = s.appointment_reassign(
            appointment=handed_over,
            window=other_window,
            reason="A01 系统故障",
            reported_to=approver,
            actor=head,
            now=START - 50 * H,
        )
        assert appt.window == other_window
        # The new window takes it over afresh: hand-over and one-time notice again (6.1.3).
        assert appt.status == Status.ACCEPTED
        assert appt.contact_person is None and appt.responsible_staff is None
        event = AppointmentEvent.objects.get(appointment=appt, action="reassigned")
        assert "A01 系统故障" in event.note and "approver" in event.note
        assert event.changes["window"] == ["A01 市场主体登记", "A03 综合"]

    def test_window_head_must_name_the_agency_approver(self, accepted, head, other_window):
        with pytest.raises(ValidationError) as excinfo:
            s.appointment_reassign(
                appointment=accepted,
                window=other_window,
                reason="故障",
                actor=head,
                now=START - 50 * H,
            )
        assert field_code(excinfo, "reported_to") == "required"

    def test_reported_to_must_be_an_approver(self, accepted, head, window_staff, other_window):
        with pytest.raises(ValidationError) as excinfo:
            s.appointment_reassign(
                appointment=accepted,
                window=other_window,
                reason="故障",
                reported_to=window_staff,
                actor=head,
                now=START - 50 * H,
            )
        assert field_code(excinfo, "reported_to") == "not_approver"

    def test_agency_approver_reassigns_directly(self, accepted, approver, other_window):
        appt = s.appointment_reassign(
            appointment=accepted,
            window=other_window,
            reason="故障",
            actor=approver,
            now=START - 50 * H,
        )
        assert appt.window == other_window

    def test_reason_is_required(self, accepted, head, window_staff, approver):
        with pytest.raises(ValidationError) as excinfo:
            s.appointment_reassign(
                appointment=accepted,
                responsible_staff=window_staff,
                reason=" ",
                reported_to=approver,
                actor=head,
                now=START - 50 * H,
            )
        assert field_code(excinfo, "reason") == "required"

    def test_to_a_full_window_is_refused(
        self, accepted, head, approver, matter, other_window, desk
    ):
        s.appointment_register(
            matter=matter,
            window=other_window,
            start=START,
            applicant_name="李娜",
            phone="13700137000",
            channel="onsite",
            actor=desk,
            now=START - 60 * H,
        )
        with pytest.raises(s.SlotFullError):
            s.appointment_reassign(
                appointment=accepted,
                window=other_window,
                reason="故障",
                reported_to=approver,
                actor=head,
                now=START - 50 * H,
            )
        accepted.refresh_from_db()
        assert accepted.window.number == "A01"

    def test_window_staff_cannot_reassign(self, accepted, window_staff):
        with pytest.raises(PermissionDenied):
            s.appointment_reassign(
                appointment=accepted,
                responsible_staff=window_staff,
                reason="x",
                actor=window_staff,
                now=START - 50 * H,
            )

    def test_not_while_a_change_is_under_way(
        self, accepted, head, approver, window_staff, other_window
    ):
        s.change_request_create(
            appointment=accepted,
            new_start=at(2026, 9, 17, 12, 0),
            reason="系统升级",
            actor=window_staff,
            now=START - 60 * H,
        )
        with pytest.raises(ValidationError) as excinfo:
            s.appointment_reassign(
                appointment=accepted,
                window=other_window,
                reason="故障",
                reported_to=approver,
                actor=head,
                now=START - 50 * H,
            )
        assert field_code(excinfo, "window") == "change_open"


@pytest.fixture
def parallel(matter, tax, hall, desk, make_user):
    tax_window = Window.objects.create(hall=hall, number="B01", name="税务", is_no_rest=True)
    tax_window.departments.add(tax)
    roster_test_dates(tax_window, make_user("tax-window", "window_staff", hall, tax_window))
    matter.departments.add(tax)
    matter.windows.add(tax_window)
    return s.appointment_register(
        matter=matter,
        window=matter.windows.get(number="A01"),
        start=START,
        applicant_name="李娜",
        phone="13700137000",
        channel="onsite",
        actor=desk,
        now=START - 60 * H,
    )


class TestParallelTasks:
    """DB1403/T 6.1.1 b: each department confirms its own part, once."""

    def test_each_department_confirms_once(self, parallel, tax, make_user, hall):
        tax_staff = make_user(
            "tax", "window_staff", hall, parallel.parallel_tasks.get(department=tax).window
        )
        task = parallel.parallel_tasks.get(department=tax)
        task = s.parallel_task_confirm(task=task, actor=tax_staff, now=START - 59 * H)
        assert task.confirmed_by == tax_staff
        with pytest.raises(ValidationError):
            s.parallel_task_confirm(task=task, actor=tax_staff, now=START - 58 * H)

    def test_another_department_cannot_confirm(self, parallel, tax, window_staff):
        task = parallel.parallel_tasks.get(department=tax)
        with pytest.raises(PermissionDenied):
            s.parallel_task_confirm(task=task, actor=window_staff, now=START - 59 * H)

    def test_reassigned_part_moves_and_must_be_confirmed_again(
        self, parallel, department, window_staff, head, approver, other_window
    ):
        own = parallel.parallel_tasks.get(department=department)
        s.parallel_task_confirm(task=own, actor=window_staff, now=START - 59 * H)
        s.appointment_reassign(
            appointment=parallel,
            window=other_window,
            reason="故障",
            reported_to=approver,
            actor=head,
            now=START - 50 * H,
        )
        own.refresh_from_db()
        assert own.window == other_window and own.confirmed_at is None

    def test_part_stays_with_its_department_when_the_booking_moves_elsewhere(
        self, parallel, department, tax, head, approver, make_user, hall
    ):
        tax_window = parallel.parallel_tasks.get(department=tax).window
        s.appointment_reassign(
            appointment=parallel,
            window=tax_window,
            reason="A01 故障",
            reported_to=approver,
            actor=head,
            now=START - 50 * H,
        )
        own = parallel.parallel_tasks.get(department=department)
        assert own.window.number == "A01"  # a tax window does not take market regulation's part
        tax_staff = make_user("tax", "window_staff", hall, tax_window)
        with pytest.raises(PermissionDenied):
            s.parallel_task_confirm(task=own, actor=tax_staff, now=START - 49 * H)

    def test_window_head_confirms_their_windows_part(self, parallel, tax, head):
        task = parallel.parallel_tasks.get(department=tax)
        task.window.head = head
        task.window.save()
        assert s.parallel_task_confirm(task=task, actor=head, now=START - 59 * H).confirmed_at

    def test_department_without_a_window_cannot_be_booked(self, matter, hall, desk):
        from duty.models import Department

        lonely = Department.objects.create(hall=hall, name="公安局")
        matter.departments.add(lonely)
        with pytest.raises(ValidationError) as excinfo:
            s.appointment_register(
                matter=matter,
                window=matter.windows.get(number="A01"),
                start=START,
                applicant_name="李娜",
                phone="13700137000",
                channel="onsite",
                actor=desk,
                now=START - 60 * H,
            )
        assert field_code(excinfo, "matter") == "no_parallel_window"


class TestAtTheWindow:
    """DB1403/T 5.1.2 and 6.2.1: check-in on the day, then served."""

    def test_check_in_and_serve(self, handed_over, window_staff):
        appt = s.appointment_check_in(
            appointment=handed_over, actor=window_staff, now=START - 5 * M
        )
        assert (appt.status, appt.arrived_at) == (Status.ARRIVED, START - 5 * M)
        appt = s.appointment_serve(appointment=appt, actor=window_staff, now=START + 10 * M)
        assert (appt.status, appt.served_at) == (Status.SERVED, START + 10 * M)

    def test_check_in_on_another_day_is_refused(self, handed_over, window_staff):
        with pytest.raises(ValidationError) as excinfo:
            s.appointment_check_in(
                appointment=handed_over, actor=window_staff, now=at(2026, 9, 15, 23, 59)
            )
        assert field_code(excinfo, "start") == "not_today"

    def test_pending_booking_must_be_confirmed_first(self, online, window_staff):
        with pytest.raises(ValidationError):
            s.appointment_check_in(appointment=online, actor=window_staff, now=START)

    def test_serving_without_arrival_is_refused(self, handed_over, window_staff):
        with pytest.raises(ValidationError):
            s.appointment_serve(appointment=handed_over, actor=window_staff, now=START)


class TestChanges:
    """DB1403/T 6.2.2: agency approval, and the applicant told at least 8 h before."""

    def test_approve_then_tell_at_exactly_8_hours(self, change, approver, window_staff):
        s.change_request_approve(change=change, actor=approver, now=START - 20 * H)
        appt = s.change_request_notify_and_apply(
            change=change, method="phone", actor=window_staff, now=START - 8 * H
        )
        assert appt.start == NEW_START
        change.refresh_from_db()
        assert (change.state, change.notified_at) == ("applied", START - 8 * H)
        assert ContactLog.objects.get(appointment=appt, purpose="change").method == "phone"
        event = AppointmentEvent.objects.get(appointment=appt, action="change_applied")
        assert event.changes["start"] == ["2026-09-16T12:00:00+08:00", "2026-09-17T12:00:00+08:00"]

    def test_telling_at_7_hours_59_minutes_is_refused(self, change, approver, window_staff):
        s.change_request_approve(change=change, actor=approver, now=START - 20 * H)
        with pytest.raises(ValidationError) as excinfo:
            s.change_request_notify_and_apply(
                change=change, method="phone", actor=window_staff, now=START - 8 * H + M
            )
        assert field_code(excinfo, "emergency_reason") == "under_8_hours"
        change.refresh_from_db()
        assert change.state == "approved" and change.appointment.start == START

    def test_approval_under_8_hours_only_as_emergency(self, change, approver, window_staff):
        with pytest.raises(ValidationError):
            s.change_request_approve(change=change, actor=approver, now=START - 8 * H + M)
        s.change_request_approve(
            change=change, actor=approver, now=START - 2 * H, emergency_reason="暴雪封路"
        )
        appt = s.change_request_notify_and_apply(
            change=change, method="sms", actor=window_staff, now=START - 1 * H
        )
        assert appt.start == NEW_START
        assert list(ChangeRequest.objects.filter(is_emergency=True)) == [change]

    def test_emergency_not_recorded_when_notice_is_in_time(self, change, approver):
        change = s.change_request_approve(
            change=change, actor=approver, now=START - 20 * H, emergency_reason="不需要"
        )
        assert not change.is_emergency

    def test_late_approved_change_can_be_rescued_as_an_emergency(
        self, change, approver, window_staff
    ):
        s.change_request_approve(change=change, actor=approver, now=START - 20 * H)
        s.change_request_record_emergency(
            change=change, reason="窗口停电", actor=approver, now=START - 3 * H
        )
        appt = s.change_request_notify_and_apply(
            change=change, method="phone", actor=window_staff, now=START - 2 * H
        )
        assert appt.start == NEW_START

    def test_only_agency_approvers_approve(self, change, window_staff, head):
        for actor in (window_staff, head):
            with pytest.raises(PermissionDenied):
                s.change_request_approve(change=change, actor=actor, now=START - 20 * H)

    def test_unapproved_change_cannot_be_applied(self, change, window_staff):
        with pytest.raises(ValidationError):
            s.change_request_notify_and_apply(
                change=change, method="phone", actor=window_staff, now=START - 20 * H
            )

    def test_rejected_change_leaves_the_booking(self, change, approver):
        s.change_request_reject(
            change=change, note="理由不充分", actor=approver, now=START - 20 * H
        )
        change.refresh_from_db()
        assert change.state == "rejected" and change.appointment.start == START

    def test_no_change_without_a_reason(self, accepted, window_staff):
        with pytest.raises(ValidationError) as excinfo:
            s.change_request_create(
                appointment=accepted,
                new_start=NEW_START,
                reason="",
                actor=window_staff,
                now=START - 30 * H,
            )
        assert field_code(excinfo, "reason") == "required"

    def test_one_change_at_a_time(self, change, accepted, window_staff):
        with pytest.raises(ValidationError):
            s.change_request_create(
                appointment=accepted,
                new_start=at(2026, 9, 17, 12, 30),
                reason="再改",
                actor=window_staff,
                now=START - 29 * H,
            )

    def test_applying_recounts_the_new_slot(
        self, change, approver, window_staff, matter, no_rest_window, desk
    ):
        s.change_request_approve(change=change, actor=approver, now=START - 20 * H)
        for name, phone in (("甲", "13700137000"), ("乙", "13700137001")):
            s.appointment_register(
                matter=matter,
                window=no_rest_window,
                start=NEW_START,
                applicant_name=name,
                phone=phone,
                channel="onsite",
                actor=desk,
                now=START - 19 * H,
            )
        with pytest.raises(s.SlotFullError):
            s.change_request_notify_and_apply(
                change=change, method="phone", actor=window_staff, now=START - 18 * H
            )


class TestNoShow:
    """DB1403/T 6.2.3: 30 min after the start without arrival, the window follows up."""

    def test_not_due_at_29_minutes(self, handed_over):
        assert list(s.no_show_candidates(now=START + 29 * M)) == []
        with pytest.raises(ValidationError) as excinfo:
            s.no_show_follow_up_open(appointment=handed_over, now=START + 29 * M)
        assert field_code(excinfo, "start") == "not_due"

    def test_due_at_30_minutes_and_assigned_to_the_contact(self, handed_over, window_staff):
        assert list(s.no_show_candidates(now=START + 30 * M)) == [handed_over]
        (follow_up,) = s.no_show_follow_ups_open(now=START + 30 * M)
        assert follow_up.due_at == START + 30 * M
        assert follow_up.assigned_to == window_staff

    def test_sweeping_twice_opens_one_follow_up(self, handed_over):
        s.no_show_follow_ups_open(now=START + 31 * M)
        assert s.no_show_follow_ups_open(now=START + 40 * M) == []
        assert NoShowFollowUp.objects.count() == 1

    def test_arrived_applicant_needs_no_follow_up(self, handed_over, window_staff):
        s.appointment_check_in(appointment=handed_over, actor=window_staff, now=START + 20 * M)
        assert s.no_show_follow_ups_open(now=START + 31 * M) == []

    def test_gave_up_closes_the_booking(self, handed_over, window_staff):
        (follow_up,) = s.no_show_follow_ups_open(now=START + 30 * M)
        s.no_show_follow_up_record(
            follow_up=follow_up,
            outcome="gave_up",
            method="phone",
            actor=window_staff,
            now=START + 35 * M,
        )
        handed_over.refresh_from_db()
        assert handed_over.status == Status.NO_SHOW
        assert ContactLog.objects.filter(purpose="no_show").count() == 1

    def test_on_the_way_then_arrives(self, handed_over, window_staff):
        (follow_up,) = s.no_show_follow_ups_open(now=START + 30 * M)
        s.no_show_follow_up_record(
            follow_up=follow_up,
            outcome="on_the_way",
            method="phone",
            actor=window_staff,
            now=START + 32 * M,
        )
        appt = s.appointment_check_in(
            appointment=handed_over, actor=window_staff, now=START + 45 * M
        )
        assert appt.status == Status.ARRIVED

    def test_rescheduled_moves_the_booking(self, handed_over, window_staff):
        (follow_up,) = s.no_show_follow_ups_open(now=START + 30 * M)
        s.no_show_follow_up_record(
            follow_up=follow_up,
            outcome="rescheduled",
            method="phone",
            actor=window_staff,
            now=START + 32 * M,
            new_start=at(2026, 9, 19, 9, 0),
        )
        handed_over.refresh_from_db()
        assert handed_over.start == at(2026, 9, 19, 9, 0)
        assert handed_over.status == Status.HANDED_OVER

    def test_rescheduled_under_24_hours_needs_a_reason(self, handed_over, window_staff):
        (follow_up,) = s.no_show_follow_ups_open(now=START + 30 * M)
        with pytest.raises(ValidationError) as excinfo:
            s.no_show_follow_up_record(
                follow_up=follow_up,
                outcome="rescheduled",
                method="phone",
                actor=window_staff,
                now=START + 32 * M,
                new_start=at(2026, 9, 16, 17, 0),
            )
        assert field_code(excinfo, "short_notice_reason") == "short_notice"
        follow_up.refresh_from_db()
        assert follow_up.outcome == ""

    def test_outcome_recorded_once(self, handed_over, window_staff):
        (follow_up,) = s.no_show_follow_ups_open(now=START + 30 * M)
        s.no_show_follow_up_record(
            follow_up=follow_up,
            outcome="on_the_way",
            method="phone",
            actor=window_staff,
            now=START + 32 * M,
        )
        with pytest.raises(ValidationError):
            s.no_show_follow_up_record(
                follow_up=follow_up,
                outcome="gave_up",
                method="phone",
                actor=window_staff,
                now=START + 50 * M,
            )


class TestCancel:
    def test_citizen_may_cancel_at_exactly_2_hours(self, online):
        appt = s.appointment_cancel_by_citizen(appointment=online, now=START - 2 * H)
        assert appt.status == Status.CANCELLED and appt.cancelled_at == START - 2 * H

    def test_citizen_may_not_cancel_at_1_hour_59_minutes(self, online):
        with pytest.raises(ValidationError) as excinfo:
            s.appointment_cancel_by_citizen(appointment=online, now=START - 2 * H + M)
        assert field_code(excinfo, "start") == "too_late"

    def test_cancellation_limit_is_a_setting(self, online, settings):
        settings.CITIZEN_CANCEL_MIN_HOURS = 24
        with pytest.raises(ValidationError):
            s.appointment_cancel_by_citizen(appointment=online, now=START - 23 * H)

    def test_staff_cancel_only_with_a_reason(self, accepted, desk):
        """DB1403/T 6.2.2: no cancellation without cause."""
        with pytest.raises(ValidationError) as excinfo:
            s.appointment_cancel_by_staff(
                at_applicants_request=True,
                appointment=accepted,
                reason="",
                actor=desk,
                now=START - 10 * H,
            )
        assert field_code(excinfo, "cancel_reason") == "required"
        appt = s.appointment_cancel_by_staff(
            at_applicants_request=True,
            appointment=accepted,
            reason="申请人来电取消",
            actor=desk,
            now=START - 10 * H,
        )
        assert appt.cancel_reason == "申请人来电取消"

    def test_served_booking_cannot_be_cancelled(self, handed_over, window_staff, desk):
        s.appointment_check_in(appointment=handed_over, actor=window_staff, now=START)
        with pytest.raises(ValidationError):
            s.appointment_cancel_by_staff(
                at_applicants_request=True,
                appointment=handed_over,
                reason="x",
                actor=desk,
                now=START + M,
            )


def test_history_records_who_did_what_and_when(handed_over, desk, window_staff):
    s.appointment_check_in(appointment=handed_over, actor=window_staff, now=START - 5 * M)
    events = list(handed_over.events.values_list("action", "actor__username", "at"))
    assert events == [
        ("registered", "desk", START - 72 * H),
        ("handed_over", "desk", START - 71 * H),
        ("arrived", "window", START - 5 * M),
    ]
    arrived = handed_over.events.get(action="arrived")
    assert arrived.changes["status"] == ["handed_over", "arrived"]


def test_records_name_themselves_in_shanghai_time(handed_over, window_staff):
    """Inline rows and lists show when things happened in the hall's time, not UTC."""
    s.appointment_give_notice(
        appointment=handed_over,
        method="phone",
        time_reconfirmed=True,
        actor=window_staff,
        now=at(2026, 9, 13, 20, 5),
    )
    event = handed_over.events.get(action="notice_given")
    assert str(event).startswith("2026-09-13 20:05")
    assert str(handed_over.contacts.get()).endswith("2026-09-13 20:05")
