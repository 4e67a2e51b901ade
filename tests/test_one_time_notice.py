"""DB1403/T 6.1.3 watched: the window's contact gives the one-time notice and reconfirms the
time; a handed-over booking not told ONE_TIME_NOTICE_DEADLINE_HOURS (8) before its start alerts
the contact and the window head, stands under "needs attention" on the desk's front page and
list, and its check-in shows and records that the notice was never given."""

import datetime as dt

import time_machine
from django.urls import reverse

from appointments.models import AppointmentEvent
from appointments.services import appointment_give_notice, appointment_hand_over
from appointments.sweeps import one_time_notice_sweep
from sms.models import Alert
from tests.conftest import START

LIST_URL = reverse("admin:appointments_appointment_changelist")
DEADLINE = START - dt.timedelta(hours=8)
MINUTE = dt.timedelta(minutes=1)


def notice_alerts():
    return list(Alert.objects.filter(kind=Alert.Kind.NOTICE_NOT_GIVEN).order_by("recipient_id"))


def give_notice(appointment, window_staff, now):
    appointment_give_notice(
        appointment=appointment, method="phone", time_reconfirmed=True, actor=window_staff, now=now
    )


def overdue_count(client, now) -> int:
    with time_machine.travel(now, tick=False):
        response = client.get(LIST_URL, {"attention": "notice_overdue"})
    assert response.status_code == 200
    return response.context["cl"].result_count


class TestSweep:
    def test_alerted_at_8_hours_before_not_8_hours_1_minute_6_1_3(
        self, handed_over, window_staff, head
    ):
        """DB1403/T 6.1.3: 8 h 1 min before the start nothing; at 8 h the contact and the
        window head are alerted."""
        assert one_time_notice_sweep(now=DEADLINE - MINUTE).alerts == 0
        assert one_time_notice_sweep(now=DEADLINE).alerts == 2
        assert [a.recipient for a in notice_alerts()] == sorted(
            [window_staff, head], key=lambda u: u.pk
        )
        assert all(handed_over.reference in a.text for a in notice_alerts())

    def test_running_twice_alerts_once_6_1_3(self, handed_over):
        one_time_notice_sweep(now=DEADLINE)
        assert one_time_notice_sweep(now=DEADLINE + dt.timedelta(minutes=5)).alerts == 0
        assert len(notice_alerts()) == 2

    def test_notice_given_raises_nothing_6_1_3(self, handed_over, window_staff):
        give_notice(handed_over, window_staff, DEADLINE - dt.timedelta(hours=1))
        assert one_time_notice_sweep(now=DEADLINE).alerts == 0

    def test_notice_before_a_new_hand_over_does_not_count_6_1_3(
        self, handed_over, window_staff, desk
    ):
        """A booking handed over afresh (here after a reassignment put it back to accepted) is
        told afresh: the old notice was about another window."""
        from appointments.models import Appointment, Status

        give_notice(handed_over, window_staff, DEADLINE - dt.timedelta(hours=10))
        Appointment.objects.filter(pk=handed_over.pk).update(
            status=Status.ACCEPTED, handed_over_at=None
        )
        handed_over.refresh_from_db()
        appointment_hand_over(
            appointment=handed_over,
            contact_person=window_staff,
            actor=desk,
            now=DEADLINE - dt.timedelta(hours=9),
        )
        assert one_time_notice_sweep(now=DEADLINE).alerts == 2

    def test_begun_booking_is_the_no_show_sweeps_6_1_3(self, handed_over):
        assert one_time_notice_sweep(now=START).alerts == 0


class TestNeedsAttention:
    def test_listed_from_8_hours_before_6_1_3(self, client, desk, handed_over):
        client.force_login(desk)
        assert overdue_count(client, DEADLINE - MINUTE) == 0
        assert overdue_count(client, DEADLINE) == 1

    def test_front_page_counts_and_links_it_6_1_3(self, client, desk, handed_over):
        client.force_login(desk)
        with time_machine.travel(DEADLINE, tick=False):
            page = client.get(reverse("admin:index")).content.decode()
        assert "attention=notice_overdue" in page
        assert "未按时一次性告知（6.1.3）" in page

    def test_off_the_list_once_told_6_1_3(self, client, desk, handed_over, window_staff):
        give_notice(handed_over, window_staff, DEADLINE + MINUTE)
        client.force_login(desk)
        assert overdue_count(client, DEADLINE + 2 * MINUTE) == 0


class TestCheckIn:
    def check_in(self, client, appointment, window_staff):
        client.force_login(window_staff)
        url = reverse("admin:appointments_appointment_step", args=[appointment.pk, "check_in"])
        with time_machine.travel(START - dt.timedelta(minutes=5), tick=False):
            page = client.get(url).content.decode()
            assert client.post(url).status_code == 302
        return page

    def test_check_in_shows_and_records_the_notice_never_given_6_1_3(
        self, client, handed_over, window_staff
    ):
        page = self.check_in(client, handed_over, window_staff)
        assert 'id="notice-never-given"' in page
        event = AppointmentEvent.objects.filter(appointment=handed_over).latest("pk")
        assert event.action == "arrived" and "6.1.3" in event.note

    def test_check_in_after_the_notice_says_nothing_6_1_3(self, client, handed_over, window_staff):
        give_notice(handed_over, window_staff, DEADLINE - dt.timedelta(hours=1))
        page = self.check_in(client, handed_over, window_staff)
        assert 'id="notice-never-given"' not in page
        event = AppointmentEvent.objects.filter(appointment=handed_over).latest("pk")
        assert event.action == "arrived" and event.note == ""

    def test_check_in_of_a_booking_never_handed_over_warns_too_6_1_3(
        self, client, accepted, window_staff
    ):
        page = self.check_in(client, accepted, window_staff)
        assert 'id="notice-never-given"' in page
        event = AppointmentEvent.objects.filter(appointment=accepted).latest("pk")
        assert event.action == "arrived" and "6.1.3" in event.note
