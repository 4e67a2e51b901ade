"""Background work: the sweeps at their thresholds, with a fixed `now`, run twice
(DB1403/T 5.1.3 c, 6.1.1 a, 6.1.3, 6.2.2, 6.2.3)."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django_q.conf import Conf
from django_q.models import Schedule

from appointments.models import ChangeRequest, NoShowFollowUp, Status
from appointments.services import (
    appointment_book_online,
    appointment_cancel_by_staff,
    change_request_approve,
)
from appointments.sweeps import (
    change_notice_sweep,
    hand_over_sweep,
    no_show_sweep,
    reminder_sweep,
    unconfirmed_sweep,
)
from sms.models import Alert, Message, MessageTemplate
from sms.services import messages_deliver_due
from sms.templates import template_clean
from tests.conftest import START, at
from yuyue.worker import worker_heartbeat_write, worker_is_alive


@pytest.fixture
def sync_worker(monkeypatch, django_capture_on_commit_callbacks):
    """django-q2 in sync mode: queued tasks run at once, when the transaction commits."""
    monkeypatch.setattr(Conf, "SYNC", True)
    return django_capture_on_commit_callbacks


def alerts(kind):
    return list(Alert.objects.filter(kind=kind).order_by("pk"))


# --- 6.2.3: no-shows --------------------------------------------------------------------------


class TestNoShowSweep:
    def test_follow_up_opens_at_30_not_29_minutes(self, handed_over, window_staff):
        """DB1403/T 6.2.3: 29 minutes after the start nothing; at 30 a task and an alert."""
        result = no_show_sweep(now=START + dt.timedelta(minutes=29))
        assert (result.follow_ups, result.alerts) == (0, 0)
        result = no_show_sweep(now=START + dt.timedelta(minutes=30))
        assert (result.follow_ups, result.alerts) == (1, 1)
        [alert] = alerts(Alert.Kind.NO_SHOW_DUE)
        assert alert.recipient == window_staff and handed_over.reference in alert.text

    def test_running_twice_opens_and_alerts_once(self, handed_over):
        for _ in range(2):
            no_show_sweep(now=START + dt.timedelta(minutes=31))
        assert NoShowFollowUp.objects.count() == 1
        assert len(alerts(Alert.Kind.NO_SHOW_DUE)) == 1


# --- reminders --------------------------------------------------------------------------------


class TestReminders:
    def test_sent_at_18_00_the_day_before_not_17_59(self, accepted):
        day_before = START.date() - dt.timedelta(days=1)
        assert reminder_sweep(now=at(2026, 9, 15, 17, 59)).messages == 0
        assert reminder_sweep(now=at(day_before.year, 9, 15, 18, 0)).messages == 1
        [message] = Message.objects.filter(purpose=Message.Purpose.REMINDER)
        assert message.subject == accepted
        for expected in ("2026-09-16 12:00", "A01", "经营者身份证原件", accepted.reference):
            assert expected in message.text

    def test_running_twice_sends_once(self, accepted, sms_inbox, sync_worker):
        for minute in (0, 5):
            with sync_worker(execute=True):
                reminder_sweep(now=at(2026, 9, 15, 18, minute))
        reminders = [t for t in sms_inbox.messages("+8613800138000") if "温馨提醒" in t]
        assert len(reminders) == 1

    def test_a_moved_booking_is_reminded_for_its_new_time(self, accepted):
        reminder_sweep(now=at(2026, 9, 15, 18, 0))
        type(accepted).objects.filter(pk=accepted.pk).update(
            start=START + dt.timedelta(minutes=30), end=START + dt.timedelta(minutes=60)
        )
        assert reminder_sweep(now=at(2026, 9, 15, 19, 0)).messages == 1

    def test_cancelled_between_queueing_and_sending_is_skipped(
        self, accepted, desk, sms_inbox, caplog
    ):
        reminder_sweep(now=at(2026, 9, 15, 18, 0))
        appointment_cancel_by_staff(
            appointment=accepted,
            reason="申请人来电取消",
            at_applicants_request=True,
            actor=desk,
            now=at(2026, 9, 15, 18, 1),
        )
        messages_deliver_due(now=at(2026, 9, 15, 18, 2))
        message = Message.objects.get(purpose=Message.Purpose.REMINDER)
        assert message.status == Message.Status.SKIPPED and "cancelled" in message.error
        assert sms_inbox.messages() == []
        assert "skipped" in caplog.text

    def test_landlines_are_not_texted(self, matter, no_rest_window, desk):
        from appointments.services import appointment_register

        appointment_register(
            matter=matter,
            window=no_rest_window,
            start=START,
            applicant_name="赵强",
            phone="0353 1234567",
            channel="phone",
            actor=desk,
            now=START - dt.timedelta(days=3),
        )
        assert reminder_sweep(now=at(2026, 9, 15, 18, 0)).messages == 0


# --- 5.1.3 c, 6.1.1 a: unconfirmed online bookings --------------------------------------------


@pytest.fixture
def booked_monday_lunch(matter, no_rest_window):
    """Booked online on Monday 2026-09-14 at 12:30 (lunch: working hours resume at 13:00) for
    Thursday 09-17 12:00."""
    return appointment_book_online(
        matter=matter,
        window=no_rest_window,
        start=at(2026, 9, 17, 12, 0),
        applicant_name="王芳",
        phone="13900139000",
        now=at(2026, 9, 14, 12, 30),
    )


class TestUnconfirmed:
    def test_window_head_alerted_after_2_working_hours(self, booked_monday_lunch, head):
        """DB1403/T 5.1.3 c: 13:00 + 2 h = 15:00; at 14:59 nothing yet."""
        assert unconfirmed_sweep(now=at(2026, 9, 14, 14, 59)).alerts == 0
        assert unconfirmed_sweep(now=at(2026, 9, 14, 15, 0)).alerts == 1
        [alert] = alerts(Alert.Kind.UNCONFIRMED)
        assert alert.recipient == head
        assert unconfirmed_sweep(now=at(2026, 9, 14, 15, 5)).alerts == 0  # once

    def test_working_hours_skip_the_weekend_and_holidays(self, matter, no_rest_window, head):
        """Booked Wednesday 2026-09-30 at 16:30: 30 working minutes that day, none in the
        National Day holidays (10-01..10-07), the rest from 9:00 on Thursday 10-08."""
        appointment_book_online(
            matter=matter,
            window=no_rest_window,
            start=at(2026, 10, 12, 12, 0),
            applicant_name="王芳",
            phone="13900139000",
            now=at(2026, 9, 30, 16, 30),
        )
        assert unconfirmed_sweep(now=at(2026, 10, 7, 23, 0)).alerts == 0
        assert unconfirmed_sweep(now=at(2026, 10, 8, 10, 29)).alerts == 0
        assert unconfirmed_sweep(now=at(2026, 10, 8, 10, 30)).alerts == 1

    def test_agency_alerted_24_hours_before_the_start(self, booked_monday_lunch, approver):
        """DB1403/T 6.1.1 a: still unconfirmed 24 h before, the agency is told."""
        unconfirmed_sweep(now=at(2026, 9, 16, 11, 59))
        assert alerts(Alert.Kind.UNCONFIRMED_24H) == []
        unconfirmed_sweep(now=at(2026, 9, 16, 12, 0))
        [alert] = alerts(Alert.Kind.UNCONFIRMED_24H)
        assert alert.recipient == approver

    def test_approver_of_another_agency_is_not_alerted(
        self, booked_monday_lunch, make_user, hall, tax
    ):
        from duty.models import StaffProfile

        other = make_user("tax-approver", "agency_approver", hall)
        StaffProfile.objects.filter(user=other).update(department=tax)
        unconfirmed_sweep(now=at(2026, 9, 16, 12, 0))
        assert alerts(Alert.Kind.UNCONFIRMED_24H) == []


# --- 6.1.3: hand-over -------------------------------------------------------------------------


class TestHandOver:
    def test_desk_alerted_30_not_29_minutes_after_accepting(self, accepted, desk):
        accepted_at = accepted.accepted_at
        assert hand_over_sweep(now=accepted_at + dt.timedelta(minutes=29)).alerts == 0
        assert hand_over_sweep(now=accepted_at + dt.timedelta(minutes=30)).alerts == 1
        [alert] = alerts(Alert.Kind.NOT_HANDED_OVER)
        assert alert.recipient == desk

    def test_handed_over_bookings_are_left_alone(self, handed_over):
        assert hand_over_sweep(now=handed_over.accepted_at + dt.timedelta(hours=2)).alerts == 0


# --- 6.2.2: the change notice -----------------------------------------------------------------


class TestChangeNotice:
    def test_approved_change_is_applied_when_its_sms_is_sent(
        self, change, approver, sms_inbox, sync_worker
    ):
        """DB1403/T 6.2.2: the notice goes out at once; the 8 h rule is judged at its delivery
        time (the file backend delivers at once), which is recorded with the change."""
        approved_at = START - dt.timedelta(hours=20)
        # The worker's task reads the clock: it is the moment of approval.
        with time_machine.travel(approved_at, tick=False), sync_worker(execute=True):
            change_request_approve(change=change, actor=approver, now=approved_at)
        change.refresh_from_db()
        message = Message.objects.get(purpose=Message.Purpose.CHANGE_NOTICE)
        assert message.status == Message.Status.DELIVERED
        assert change.state == ChangeRequest.State.APPLIED
        assert change.notice_method == "sms"
        assert change.notified_at == message.sent_at
        assert change.appointment.start == change.new_start
        assert "2026-09-17 12:00" in sms_inbox.messages("+8613800138000")[-1]

    def test_notice_due_under_8_hours_before_is_not_sent_and_staff_phone(
        self, change, approver, sms_inbox
    ):
        """DB1403/T 6.2.2: approved at 8 h 0 min, but the SMS could only go out at 7 h 59 min
        (the gateway was down): it is not sent at all (the applicant is never told of a change
        that is then not applied), the change stays approved, and at the mark the approver is
        alerted to phone."""
        change_request_approve(change=change, actor=approver, now=START - dt.timedelta(hours=8))
        messages_deliver_due(now=START - dt.timedelta(hours=7, minutes=59))
        change.refresh_from_db()
        assert change.state == ChangeRequest.State.APPROVED
        message = Message.objects.get(purpose=Message.Purpose.CHANGE_NOTICE)
        assert message.status == Message.Status.SKIPPED
        # Only the desk's registration text went out: nothing names the new time.
        assert [t for t in sms_inbox.messages() if "2026-09-17" in t] == []
        change_notice_sweep(now=START - dt.timedelta(hours=7, minutes=59))
        assert approver in {alert.recipient for alert in alerts(Alert.Kind.CHANGE_PHONE_DUE)}

    def test_a_landline_is_told_by_phone_not_sms(self, change, approver):
        type(change.appointment).objects.filter(pk=change.appointment_id).update(
            phone="+863531234567"
        )
        change_request_approve(change=change, actor=approver, now=START - dt.timedelta(hours=20))
        assert not Message.objects.filter(purpose=Message.Purpose.CHANGE_NOTICE).exists()

    def test_notice_sent_exactly_8_hours_before_is_applied(self, change, approver):
        change_request_approve(change=change, actor=approver, now=START - dt.timedelta(hours=9))
        messages_deliver_due(now=START - dt.timedelta(hours=8))
        change.refresh_from_db()
        assert change.state == ChangeRequest.State.APPLIED


# --- templates --------------------------------------------------------------------------------


class TestTemplates:
    def test_unknown_placeholder_is_refused(self):
        with pytest.raises(ValidationError, match="unknown"):
            template_clean(purpose="reminder", text="{time} {unknown}")

    @pytest.mark.parametrize("text", ["{time} {name.__class__}", "{time} {0}", "{time} {", "x"])
    def test_malformed_or_incomplete_templates_are_refused(self, text):
        with pytest.raises(ValidationError):
            template_clean(purpose="reminder", text=text)

    def test_administrators_wording_is_used(self, accepted):
        MessageTemplate.objects.create(purpose="reminder", text="明天{time}请到{window}。")
        reminder_sweep(now=at(2026, 9, 15, 18, 0))
        reminder = Message.objects.get(purpose="reminder")
        assert reminder.text == "明天2026-09-16 12:00请到A01 市场主体登记。"

    def test_template_saved_through_the_console_is_checked(self, admin_client):
        response = admin_client.post(
            "/admin/sms/messagetemplate/add/", {"purpose": "reminder", "text": "{time} {oops}"}
        )
        assert response.status_code == 200 and "{oops}" in response.content.decode()
        assert not MessageTemplate.objects.exists()


# --- the worker's heartbeat, schedules and commands -------------------------------------------


class TestWorker:
    def test_staff_pages_warn_when_the_worker_is_silent(self, client, desk):
        client.force_login(desk)
        assert 'id="worker-down"' in client.get("/admin/").content.decode()
        from django.utils import timezone

        worker_heartbeat_write(now=timezone.now())
        assert 'id="worker-down"' not in client.get("/admin/").content.decode()

    def test_heartbeat_is_fresh_for_two_minutes(self, db):
        beat = at(2026, 9, 16, 12, 0)
        worker_heartbeat_write(now=beat)
        assert worker_is_alive(now=beat + dt.timedelta(seconds=120))
        assert not worker_is_alive(now=beat + dt.timedelta(seconds=121))

    def test_setup_schedules_is_idempotent(self, db):
        out = StringIO()
        call_command("setup_schedules", "--dry-run", stdout=out)
        assert not Schedule.objects.exists() and "would create" in out.getvalue()
        call_command("setup_schedules", stdout=StringIO())
        count = Schedule.objects.count()
        out = StringIO()
        call_command("setup_schedules", stdout=out)
        assert Schedule.objects.count() == count >= 6
        assert "created" not in out.getvalue() and "unchanged" in out.getvalue()
        assert Schedule.objects.get(name="sweep no_shows").minutes == 1

    def test_sweep_command_replays_a_moment(self, handed_over):
        out = StringIO()
        call_command("sweep", "no_shows", "--now", "2026-09-16T12:30", stdout=out)
        assert "follow_ups=1" in out.getvalue()
        assert NoShowFollowUp.objects.count() == 1

    def test_sweep_command_refuses_a_bad_moment(self, db):
        with pytest.raises(CommandError, match="not a date"):
            call_command("sweep", "all", "--now", "yesterday")

    def test_alerts_show_on_staff_pages_and_can_be_marked_read(self, client, handed_over):
        no_show_sweep(now=START + dt.timedelta(minutes=30))
        alert = Alert.objects.get()
        client.force_login(alert.recipient)
        assert 'id="unread-alerts"' in client.get("/admin/").content.decode()
        client.post("/admin/sms/alert/", {"action": "mark_read", "_selected_action": [alert.pk]})
        alert.refresh_from_db()
        assert alert.read_at is not None


def test_status_of_the_booking_is_untouched_by_sweeps(online):
    unconfirmed_sweep(now=START - dt.timedelta(hours=1))
    online.refresh_from_db()
    assert online.status == Status.PENDING


class TestSweepsStayFlat:
    """A sweep's queries do not grow with the bookings in the database, only with what is due."""

    @staticmethod
    def seed(matter, window, count):
        from appointments.models import Appointment, Channel
        from appointments.models import Status as S

        # Half served in the spring, half handed over for November: none is due for anything.
        Appointment.objects.bulk_create(
            Appointment(
                reference=f"S{count:05d}{n:05d}",  # fits the 12 characters
                channel=Channel.ONLINE,
                status=S.SERVED if n % 2 else S.HANDED_OVER,
                matter=matter,
                window=window,
                start=(at(2026, 3, 2, 12) if n % 2 else at(2026, 11, 2, 12))
                + dt.timedelta(days=n % 100),
                end=(at(2026, 3, 2, 12, 30) if n % 2 else at(2026, 11, 2, 12, 30))
                + dt.timedelta(days=n % 100),
                applicant_name="历史",
                phone="+8613900139000",
                created_at=at(2026, 2, 1),
                accepted_at=at(2026, 2, 1),
            )
            for n in range(count)
        )

    @pytest.mark.parametrize(
        "sweep", [no_show_sweep, reminder_sweep, unconfirmed_sweep, hand_over_sweep]
    )
    def test_queries_do_not_grow_with_the_bookings(
        self,
        sweep,
        accepted,
        online,
        matter,
        no_rest_window,
        django_assert_num_queries,
        django_assert_max_num_queries,
    ):
        now = START - dt.timedelta(hours=18)
        self.seed(matter, no_rest_window, 20)
        with django_assert_max_num_queries(30) as few:
            sweep(now=now)
        Alert.objects.all().delete()
        Message.objects.all().delete()
        self.seed(matter, no_rest_window, 2000)
        with django_assert_num_queries(len(few.captured_queries)):
            sweep(now=now)


def test_failed_messages_show_on_the_booking_and_the_desk_front_page(client, desk, accepted):
    """Delivery status per booking; failed messages listed for the desk to call instead."""
    Message.objects.create(
        phone=accepted.phone,
        text="提醒",
        purpose=Message.Purpose.REMINDER,
        subject=accepted,
        subject_reference=accepted.reference,
        status=Message.Status.FAILED,
        error="gateway answered 503",
        created_at=START - dt.timedelta(days=1),
    )
    client.force_login(desk)
    with time_machine.travel(START - dt.timedelta(hours=20), tick=False):
        summary = client.get("/admin/").context["summary"]
        [tally] = [t for t in summary.counts if "短信" in t.label]
        assert tally.count == 1
        assert client.get(tally.url).context["cl"].result_count == 1
        page = client.get(f"/admin/appointments/appointment/{accepted.pk}/change/")
    assert "gateway answered 503" in page.content.decode()


@pytest.mark.no_standing_roster
class TestDutySweeps:
    def test_absence_alerts_the_head_and_supervisors_at_15_minutes(
        self, no_rest_window, window_staff, head, supervisor
    ):
        """DB1403/T 6.2.1: no check-in 14 minutes after the start is not yet an absence; 15 is,
        and the window head and the supervisor are told once."""
        from duty.sweeps import duty_absence_sweep
        from tests.conftest import roster_standing

        roster_standing(no_rest_window, window_staff, START.date(), START.date())
        assert duty_absence_sweep(now=START + dt.timedelta(minutes=14)).alerts == 0
        assert duty_absence_sweep(now=START + dt.timedelta(minutes=15)).alerts == 2
        assert duty_absence_sweep(now=START + dt.timedelta(minutes=20)).alerts == 0
        recipients = {a.recipient for a in alerts(Alert.Kind.DUTY_ABSENT)}
        assert recipients == {head, supervisor}

    def test_roster_gaps_alert_once_a_day_until_filled(self, no_rest_window, head, supervisor):
        """DB1403/T 5.2: a no-rest window with nobody rostered: its head and the supervisor hear
        of it each day, once."""
        from duty.sweeps import roster_sweep

        first = roster_sweep(now=at(2026, 9, 14, 8, 0)).alerts
        assert first > 0
        assert roster_sweep(now=at(2026, 9, 14, 9, 0)).alerts == 0
        assert roster_sweep(now=at(2026, 9, 15, 8, 0)).alerts > 0
        assert {a.recipient for a in alerts(Alert.Kind.ROSTER_PROBLEM)} == {head, supervisor}


class TestReviewedEdges:
    def test_a_code_waiting_in_the_log_is_never_sent_by_the_sweep(self, db, sms_inbox):
        """The log holds codes masked; only the request that made a code sends it."""
        Message.objects.create(
            phone="+8613700137000",
            text="您的验证码是******",
            purpose=Message.Purpose.VERIFICATION,
            created_at=at(2026, 9, 15, 18),
        )
        assert messages_deliver_due(now=at(2026, 9, 15, 18, 5)) == 0
        assert sms_inbox.messages() == []

    def test_a_reminder_for_a_time_the_booking_no_longer_has_is_skipped(self, accepted):
        reminder_sweep(now=at(2026, 9, 15, 18, 0))
        type(accepted).objects.filter(pk=accepted.pk).update(
            start=START + dt.timedelta(minutes=30), end=START + dt.timedelta(minutes=60)
        )
        messages_deliver_due(now=at(2026, 9, 15, 18, 1))
        old = Message.objects.get(purpose=Message.Purpose.REMINDER)
        assert old.status == Message.Status.SKIPPED and "moved" in old.error

    def test_an_open_follow_up_without_its_alert_is_alerted_next_time(self, handed_over):
        from appointments.services import no_show_follow_up_open

        no_show_follow_up_open(appointment=handed_over, now=START + dt.timedelta(minutes=30))
        assert no_show_sweep(now=START + dt.timedelta(minutes=31)).alerts == 1

    @pytest.mark.parametrize(
        "args, message",
        [
            (["no_shows", "--now", "2099-01-01T12:00"], "future"),
            (["sms", "--now", "2026-09-16T12:00"], "send times"),
            (["all", "--now", "2026-09-16T12:00"], "send times"),
            (["no_shows", "--now", "2026-02-30T12:00"], "not a date"),
        ],
    )
    def test_sweep_command_refuses_a_moment_it_cannot_honour(self, db, args, message):
        with pytest.raises(CommandError, match=message):
            call_command("sweep", *args)
