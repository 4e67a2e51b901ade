"""Where lifecycle steps meet: cancellations, changes, follow-ups and moves must not undo or
outlive each other (DB1403/T 6.2.2, 6.2.3, 5.1.1), and capacity follows the window's settings."""

import datetime as dt
from collections import Counter

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from appointments import services as s
from appointments.models import Appointment, ChangeRequest, Slot, Status, new_reference
from appointments.slots import window_availability
from duty.models import Department

from .conftest import NEW_START, START, at, field_code, roster_test_dates

H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)


class TestCancellationClosesWhatDependsOnIt:
    def test_cancel_withdraws_the_open_change(self, change, accepted, desk, approver):
        s.appointment_cancel_by_staff(
            appointment=accepted,
            reason="申请人来电取消",
            at_applicants_request=True,
            actor=desk,
            now=START - 20 * H,
        )
        change.refresh_from_db()
        assert change.state == ChangeRequest.State.WITHDRAWN
        with pytest.raises(ValidationError):
            s.change_request_approve(change=change, actor=approver, now=START - 19 * H)

    def test_citizen_cancel_withdraws_the_open_change(self, online, window_staff):
        change = s.change_request_create(
            appointment=online,
            new_start=NEW_START,
            reason="升级",
            actor=window_staff,
            now=START - 30 * H,
        )
        s.appointment_cancel_by_citizen(appointment=online, now=START - 20 * H)
        change.refresh_from_db()
        assert change.state == ChangeRequest.State.WITHDRAWN

    def test_open_follow_up_is_answered_not_cancelled(self, accepted, desk):
        s.no_show_follow_ups_open(now=START + 30 * M)
        with pytest.raises(ValidationError) as excinfo:
            s.appointment_cancel_by_staff(
                appointment=accepted,
                reason="x",
                at_applicants_request=True,
                actor=desk,
                now=START + 40 * M,
            )
        assert field_code(excinfo, "status") == "follow_up_open"


class TestCancellationByTheHall:
    """DB1403/T 6.2.2: the hall cancels only with the agency's approval, 8 h ahead or as an
    emergency."""

    def test_desk_cannot_cancel_on_the_halls_initiative(self, accepted, desk):
        with pytest.raises(PermissionDenied):
            s.appointment_cancel_by_staff(
                appointment=accepted,
                reason="窗口停电",
                at_applicants_request=False,
                actor=desk,
                now=START - 20 * H,
            )

    def test_approver_cancels_at_8_hours(self, accepted, approver):
        appt = s.appointment_cancel_by_staff(
            appointment=accepted,
            reason="窗口停电",
            at_applicants_request=False,
            actor=approver,
            now=START - 8 * H,
        )
        assert appt.cancelled_by_hall and appt.status == Status.CANCELLED
        assert appt.cancel_emergency_reason == ""  # in time: no emergency to record

    def test_at_7_hours_59_minutes_only_as_an_emergency(self, accepted, approver):
        with pytest.raises(ValidationError) as excinfo:
            s.appointment_cancel_by_staff(
                appointment=accepted,
                reason="窗口停电",
                at_applicants_request=False,
                actor=approver,
                now=START - 8 * H + M,
            )
        assert field_code(excinfo, "emergency_reason") == "under_8_hours"
        appt = s.appointment_cancel_by_staff(
            appointment=accepted,
            reason="窗口停电",
            at_applicants_request=False,
            actor=approver,
            now=START - 8 * H + M,
            emergency_reason="突发停电",
        )
        assert appt.cancel_emergency_reason == "突发停电"
        assert list(Appointment.objects.exclude(cancel_emergency_reason="")) == [appt]


class TestChangesMeetOtherMoves:
    def test_stale_change_is_not_applied(self, change, accepted, approver, window_staff):
        s.change_request_approve(change=change, actor=approver, now=START - 20 * H)
        # The booking moved by another path since the change was requested.
        Appointment.objects.filter(pk=accepted.pk).update(
            start=at(2026, 9, 16, 12, 30), end=at(2026, 9, 16, 13, 0)
        )
        with pytest.raises(ValidationError) as excinfo:
            s.change_request_notify_and_apply(
                change=change, method="phone", actor=window_staff, now=START - 19 * H
            )
        assert field_code(excinfo, "state") == "stale"

    def test_new_time_under_24_hours_needs_a_reason(self, accepted, window_staff):
        """DB1403/T 5.1.1 holds for changes too."""
        soon = at(2026, 9, 16, 17, 0)
        with pytest.raises(ValidationError) as excinfo:
            s.change_request_create(
                appointment=accepted,
                new_start=soon,
                reason="提前办理",
                actor=window_staff,
                now=START - 10 * H,
            )
        assert field_code(excinfo, "short_notice_reason") == "short_notice"

    def test_new_time_under_24_hours_with_reason_is_recorded(
        self, accepted, window_staff, approver
    ):
        soon = at(2026, 9, 16, 17, 0)
        change = s.change_request_create(
            appointment=accepted,
            new_start=soon,
            reason="提前办理",
            short_notice_reason="申请人要求提前",
            actor=window_staff,
            now=START - 10 * H,
        )
        s.change_request_approve(change=change, actor=approver, now=START - 9.5 * H)
        appt = s.change_request_notify_and_apply(
            change=change, method="phone", actor=window_staff, now=START - 9 * H
        )
        assert appt.start == soon and appt.short_notice_reason == "申请人要求提前"

    def test_change_that_became_short_notice_while_waiting_is_refused(
        self, accepted, window_staff, approver
    ):
        soon = at(2026, 9, 16, 17, 0)  # 25 h away when requested, 23 h when told
        change = s.change_request_create(
            appointment=accepted,
            new_start=soon,
            reason="提前办理",
            actor=window_staff,
            now=START - 20 * H,
        )
        s.change_request_approve(change=change, actor=approver, now=START - 19 * H)
        with pytest.raises(ValidationError) as excinfo:
            s.change_request_notify_and_apply(
                change=change, method="phone", actor=window_staff, now=START - 18 * H
            )
        assert field_code(excinfo, "short_notice_reason") == "short_notice"

    def test_emergency_only_when_the_8_hours_are_gone(self, change, approver):
        s.change_request_approve(change=change, actor=approver, now=START - 20 * H)
        with pytest.raises(ValidationError) as excinfo:
            s.change_request_record_emergency(
                change=change, reason="停电", actor=approver, now=START - 8 * H
            )
        assert field_code(excinfo, "emergency_reason") == "in_time"

    def test_approver_of_another_agency_cannot_decide(self, change, make_user, hall):
        tax = Department.objects.create(hall=hall, name="税务局")
        tax_approver = make_user("tax-approver", "agency_approver", hall)
        tax_approver.staff_profile.department = tax
        tax_approver.staff_profile.save()
        with pytest.raises(PermissionDenied):
            s.change_request_approve(change=change, actor=tax_approver, now=START - 20 * H)


class TestNoShowOutcomes:
    def test_unreachable_applicant_who_turns_up_is_still_served(self, accepted, window_staff):
        (follow_up,) = s.no_show_follow_ups_open(now=START + 30 * M)
        s.no_show_follow_up_record(
            follow_up=follow_up,
            outcome="unreachable",
            method="phone",
            actor=window_staff,
            now=START + 35 * M,
        )
        accepted.refresh_from_db()
        assert accepted.status == Status.NO_SHOW
        appt = s.appointment_check_in(appointment=accepted, actor=window_staff, now=START + 50 * M)
        assert appt.status == Status.ARRIVED

    def test_follow_up_goes_to_the_window_head_before_hand_over(self, accepted, head):
        (follow_up,) = s.no_show_follow_ups_open(now=START + 30 * M)
        assert follow_up.assigned_to == head

    def test_online_booking_rescheduled_at_short_notice(self, online, window_staff):
        s.appointment_confirm(
            appointment=online, method="phone", actor=window_staff, now=START - 70 * H
        )
        (follow_up,) = s.no_show_follow_ups_open(now=START + 30 * M)
        s.no_show_follow_up_record(
            follow_up=follow_up,
            outcome="rescheduled",
            method="phone",
            actor=window_staff,
            now=START + 32 * M,
            new_start=at(2026, 9, 16, 17, 0),
            short_notice_reason="申请人堵车，改到傍晚",
        )
        online.refresh_from_db()
        assert online.start == at(2026, 9, 16, 17, 0)
        assert online.short_notice_reason == "申请人堵车，改到傍晚"


class TestContactMethods:
    @pytest.mark.parametrize("method", ["carrier pigeon!!", "", None])
    def test_unknown_method_is_a_field_error(self, accepted, desk, window_staff, method):
        appt = s.appointment_hand_over(
            appointment=accepted, contact_person=window_staff, actor=desk, now=START - 71 * H
        )
        with pytest.raises(ValidationError) as excinfo:
            s.appointment_give_notice(
                appointment=appt,
                method=method,
                time_reconfirmed=True,
                actor=window_staff,
                now=START - 70 * H,
            )
        assert field_code(excinfo, "method") == "method"

    def test_inactive_contact_person_is_refused(self, accepted, desk, window_staff):
        window_staff.is_active = False
        window_staff.save()
        with pytest.raises(ValidationError) as excinfo:
            s.appointment_hand_over(
                appointment=accepted, contact_person=window_staff, actor=desk, now=START - 71 * H
            )
        assert field_code(excinfo, "contact_person") == "staff"


class TestCapacityFollowsSettings:
    def test_window_capacity_change_reaches_existing_slots(self, accepted, matter, no_rest_window):
        assert Slot.objects.get().capacity is None
        no_rest_window.capacity_per_slot = 1
        no_rest_window.save()
        with pytest.raises(s.SlotFullError):
            s.appointment_book_online(
                matter=matter,
                window=no_rest_window,
                start=START,
                applicant_name="王芳",
                phone="13900139000",
                now=START - 48 * H,
            )

    def test_a_closed_slot_takes_no_booking(self, accepted, matter, no_rest_window):
        Slot.objects.filter(start=START).update(capacity=0)
        (slot,) = [
            a
            for a in window_availability(
                window=no_rest_window,
                start_date=START.date(),
                end_date=START.date(),
                not_before=START - 48 * H,
            )
            if a.slot.start == START
        ]
        assert slot.remaining == 0
        with pytest.raises(s.SlotFullError):
            s.appointment_book_online(
                matter=matter,
                window=no_rest_window,
                start=START,
                applicant_name="王芳",
                phone="13900139000",
                now=START - 48 * H,
            )


class TestRegister:
    """附录A holds what the hall accepted; an online booking only once reconfirmed."""

    def test_register_membership(self, accepted, online, window_staff, matter, no_rest_window):
        never_confirmed = s.appointment_book_online(
            matter=matter,
            window=no_rest_window,
            start=at(2026, 9, 16, 12, 30),
            applicant_name="李娜",
            phone="13700137000",
            now=START - 72 * H,
        )
        s.appointment_cancel_by_citizen(appointment=never_confirmed, now=START - 60 * H)
        assert list(Appointment.objects.in_register()) == [accepted]
        s.appointment_confirm(
            appointment=online, method="sms", actor=window_staff, now=START - 70 * H
        )
        assert set(Appointment.objects.in_register()) == {accepted, online}


def test_references_are_random_not_sequential():
    references = [new_reference() for _ in range(2000)]
    assert len(set(references)) == len(references)
    # Every position uses the whole alphabet evenly: nothing counts up.
    for position in range(8):
        counts = Counter(r[position] for r in references)
        assert len(counts) == 31
        assert max(counts.values()) < 2000 / 31 * 2


class TestStuckChangesCanBeWithdrawn:
    def test_change_that_can_no_longer_apply_is_withdrawn_and_asked_again(
        self, accepted, window_staff, approver
    ):
        soon = at(2026, 9, 16, 17, 0)  # 25 h away when requested, 23 h when told
        change = s.change_request_create(
            appointment=accepted,
            new_start=soon,
            reason="提前办理",
            actor=window_staff,
            now=START - 20 * H,
        )
        s.change_request_approve(change=change, actor=approver, now=START - 19 * H)
        with pytest.raises(ValidationError):
            s.change_request_notify_and_apply(
                change=change, method="phone", actor=window_staff, now=START - 18 * H
            )
        s.change_request_withdraw(
            change=change, reason="新时间不足24小时", actor=window_staff, now=START - 18 * H
        )
        again = s.change_request_create(
            appointment=accepted,
            new_start=soon,
            reason="提前办理",
            short_notice_reason="申请人要求",
            actor=window_staff,
            now=START - 18 * H,
        )
        assert again.state == ChangeRequest.State.REQUESTED

    def test_withdrawing_needs_a_reason(self, change, window_staff):
        with pytest.raises(ValidationError) as excinfo:
            s.change_request_withdraw(
                change=change, reason="", actor=window_staff, now=START - 20 * H
            )
        assert field_code(excinfo, "decision_note") == "required"

    def test_no_show_outcome_withdraws_the_open_change(self, change, accepted, window_staff):
        (follow_up,) = s.no_show_follow_ups_open(now=START + 30 * M)
        s.no_show_follow_up_record(
            follow_up=follow_up,
            outcome="gave_up",
            method="phone",
            actor=window_staff,
            now=START + 35 * M,
        )
        change.refresh_from_db()
        assert change.state == ChangeRequest.State.WITHDRAWN


class TestChangeLeadTime:
    """DB1403/T 5.1.1 for changes: exactly 24 h needs no reason, 23 h 59 min does."""

    NEW = at(2026, 9, 16, 12, 30)

    def test_new_time_exactly_24_hours_away(self, accepted, window_staff):
        change = s.change_request_create(
            appointment=accepted,
            new_start=self.NEW,
            reason="改期",
            actor=window_staff,
            now=self.NEW - 24 * H,
        )
        assert change.short_notice_reason == ""

    def test_new_time_23_hours_59_minutes_away(self, accepted, window_staff):
        with pytest.raises(ValidationError) as excinfo:
            s.change_request_create(
                appointment=accepted,
                new_start=self.NEW,
                reason="改期",
                actor=window_staff,
                now=self.NEW - 24 * H + M,
            )
        assert field_code(excinfo, "short_notice_reason") == "short_notice"


class TestChangeToAnotherWindow:
    def test_the_new_window_takes_it_over_afresh(
        self, handed_over, window_staff, approver, hall, department, matter, head
    ):
        from duty.models import Window

        other = Window.objects.create(
            hall=hall, number="A03", name="综合", is_no_rest=True, head=head
        )
        other.departments.add(department)
        matter.windows.add(other)
        roster_test_dates(other, head)
        change = s.change_request_create(
            appointment=handed_over,
            new_start=NEW_START,
            new_window=other,
            reason="A01 整修",
            actor=window_staff,
            now=START - 30 * H,
        )
        s.change_request_approve(change=change, actor=approver, now=START - 29 * H)
        appt = s.change_request_notify_and_apply(
            change=change, method="phone", actor=window_staff, now=START - 28 * H
        )
        assert (appt.window, appt.start, appt.status) == (other, NEW_START, Status.ACCEPTED)
        assert appt.contact_person is None


class TestAgencies:
    """DB1403/T 6.2.2, 6.1.1 a: an approver decides for their own agency's windows."""

    @pytest.fixture
    def tax_approver(self, make_user, hall):
        tax = Department.objects.create(hall=hall, name="税务局")
        user = make_user("tax-approver", "agency_approver", hall)
        user.staff_profile.department = tax
        user.staff_profile.save()
        return user

    def test_other_agency_cannot_reject(self, change, tax_approver):
        with pytest.raises(PermissionDenied):
            s.change_request_reject(
                change=change, note="不同意", actor=tax_approver, now=START - 20 * H
            )

    def test_other_agency_cannot_record_an_emergency(self, change, approver, tax_approver):
        s.change_request_approve(change=change, actor=approver, now=START - 20 * H)
        with pytest.raises(PermissionDenied):
            s.change_request_record_emergency(
                change=change, reason="停电", actor=tax_approver, now=START - 2 * H
            )

    def test_other_agency_cannot_cancel_for_the_hall(self, accepted, tax_approver):
        with pytest.raises(PermissionDenied):
            s.appointment_cancel_by_staff(
                appointment=accepted,
                reason="停电",
                at_applicants_request=False,
                actor=tax_approver,
                now=START - 20 * H,
            )

    def test_other_agency_cannot_reassign(self, accepted, tax_approver, window_staff):
        with pytest.raises(PermissionDenied):
            s.appointment_reassign(
                appointment=accepted,
                responsible_staff=window_staff,
                reason="病假",
                actor=tax_approver,
                now=START - 20 * H,
            )

    def test_report_must_go_to_the_windows_agency(self, accepted, head, tax_approver, window_staff):
        with pytest.raises(ValidationError) as excinfo:
            s.appointment_reassign(
                appointment=accepted,
                responsible_staff=window_staff,
                reason="病假",
                reported_to=tax_approver,
                actor=head,
                now=START - 20 * H,
            )
        assert field_code(excinfo, "reported_to") == "not_approver"
