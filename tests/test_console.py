"""The desk console: front page, lifecycle steps per role, lists, search, hall scoping.

Every step is a small form that calls the service of its clause; the tests check who is offered
it, that others are refused (403), and that the service's errors stand next to their field.
"""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from appointments.models import (
    Appointment,
    ChangeRequest,
    ContactLog,
    Matter,
    NoShowFollowUp,
    Status,
)
from appointments.services import (
    appointment_check_in,
    appointment_register,
    change_request_approve,
)
from duty.models import Department, Window

from .conftest import NEW_START, START, THREE_DAYS_BEFORE, at, roster_test_dates

NOW = at(2026, 9, 14, 10, 0)  # a Monday morning: the phone line is open
LIST_URL = reverse("admin:appointments_appointment_changelist")
ROLES = ["desk", "window_staff", "window_head", "agency_approver", "supervisor", "administrator"]

# Who may take which step (from the roles' permissions, DB1403/T 6.2.5, 7): written out here so
# that a change of the roles shows up as a failing test.
ALLOWED = {
    "confirm": {"window_staff", "window_head"},
    "hand_over": {"desk", "window_staff", "window_head"},
    "notice": {"desk", "window_staff", "window_head"},
    "reassign": {"window_head", "agency_approver"},
    "check_in": {"desk", "window_staff", "window_head"},  # the desk too, from the QR code
    "serve": {"window_staff", "window_head"},
    "request_change": {"window_staff", "window_head"},
    "approve_change": {"agency_approver"},
    "reject_change": {"agency_approver"},
    "apply_change": {"window_staff", "window_head"},
    "follow_up": {"window_staff", "window_head"},
    "cancel": {"desk", "window_staff", "window_head", "agency_approver"},
}


def step_url(appointment, step):
    return reverse("admin:appointments_appointment_step", args=[appointment.pk, step])


def record_url(appointment):
    return reverse("admin:appointments_appointment_change", args=[appointment.pk])


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def role_user(make_user, hall):
    def make(role):
        return make_user(f"city-{role}", role, hall)

    return make


class TestStepPermissions:
    """Each step is offered to, and taken by, only the roles allowed to take it; supervisors
    read but do not change bookings."""

    @pytest.mark.parametrize("role", ROLES)
    @pytest.mark.parametrize("step", sorted(ALLOWED))
    def test_step_page_per_role(self, client, role_user, accepted, role, step, frozen):
        client.force_login(role_user(role))
        response = client.get(step_url(accepted, step))
        if role in ALLOWED[step]:
            assert response.status_code in (200, 302), (role, step)
        else:
            assert response.status_code == 403, (role, step)
            before = Appointment.objects.values().get(pk=accepted.pk)
            assert client.post(step_url(accepted, step), {}).status_code == 403
            assert Appointment.objects.values().get(pk=accepted.pk) == before

    @pytest.mark.parametrize("role", ROLES)
    def test_record_page_offers_only_the_roles_steps(self, client, role_user, change, role):
        """An accepted booking with a change waiting for approval (6.2.2)."""
        client.force_login(role_user(role))
        with time_machine.travel(START - dt.timedelta(hours=29), tick=False):
            page = client.get(record_url(change.appointment))
        assert page.status_code == 200
        offered = {s.name for s in page.context["steps"]}
        expected = {"hand_over", "reassign", "approve_change", "reject_change", "cancel"}
        assert offered == {s for s in expected if role in ALLOWED[s]}
        for name in offered:
            assert step_url(change.appointment, name) in page.content.decode()

    def test_supervisor_sees_no_buttons(self, client, supervisor, accepted, frozen):
        client.force_login(supervisor)
        page = client.get(record_url(accepted))
        assert page.status_code == 200 and page.context["steps"] == []
        assert "/step/" not in page.content.decode()

    def test_step_not_possible_now_goes_back_with_a_message(
        self, client, window_staff, accepted, frozen
    ):
        client.force_login(window_staff)
        response = client.get(step_url(accepted, "serve"), follow=True)
        assert response.redirect_chain[-1][0] == record_url(accepted)
        assert any("办结" in str(m) for m in response.context["messages"])


class TestStepsCallTheServices:
    def test_confirm_online_booking(self, client, window_staff, online, frozen):
        """5.1.3 c: reconfirmed by phone or SMS, then accepted."""
        client.force_login(window_staff)
        response = client.post(step_url(online, "confirm"), {"method": "sms", "note": "已回复"})
        assert response.status_code == 302
        online.refresh_from_db()
        assert online.status == Status.ACCEPTED and online.received_by == window_staff
        assert ContactLog.objects.get(appointment=online).method == "sms"

    def test_hand_over_then_one_time_notice(self, client, desk, window_staff, accepted, frozen):
        """6.1.3: handed to the window's contact, who tells everything at once."""
        client.force_login(desk)
        page = client.get(step_url(accepted, "hand_over"))
        assert "window" in [
            u.username for u in page.context["form"].fields["contact_person"].queryset
        ]
        client.post(step_url(accepted, "hand_over"), {"contact_person": window_staff.pk})
        accepted.refresh_from_db()
        assert accepted.status == Status.HANDED_OVER and accepted.contact_person == window_staff
        client.force_login(window_staff)
        page = client.get(step_url(accepted, "notice"))
        assert "经营者身份证原件" in page.context["notice_text"]
        client.post(
            step_url(accepted, "notice"),
            {"method": "phone", "time_reconfirmed": "on", "outcome": "已知悉"},
        )
        notice = ContactLog.objects.get(appointment=accepted, purpose="notice")
        assert notice.time_reconfirmed and "经营者身份证原件" in notice.text

    def test_service_error_stands_next_to_its_field(
        self, client, make_user, hall, accepted, regular_window, frozen
    ):
        """6.1.1 a: a reassignment to a window that does not serve that time is refused at the
        window field."""
        head = make_user("head2", "window_head", hall)
        approver = make_user("approver2", "agency_approver", hall)
        client.force_login(head)
        response = client.post(
            step_url(accepted, "reassign"),
            {"reason": "窗口人员病假", "window": regular_window.pk, "reported_to": approver.pk},
        )
        assert response.status_code == 200
        form = response.context["form"]
        assert "A02" in form.errors["window"][0], form.errors
        accepted.refresh_from_db()
        assert accepted.window != regular_window

    def test_reassign_to_other_staff(
        self, client, make_user, hall, handed_over, window_staff, frozen
    ):
        head = make_user("head2", "window_head", hall)
        approver = make_user("approver2", "agency_approver", hall)
        client.force_login(head)
        response = client.post(
            step_url(handed_over, "reassign"),
            {"reason": "病假", "responsible_staff": head.pk, "reported_to": approver.pk},
        )
        assert response.status_code == 302, response.context["form"].errors
        handed_over.refresh_from_db()
        assert handed_over.responsible_staff == head
        assert "approver2" in handed_over.events.last().note

    def test_check_in_and_serve_on_the_day(self, client, window_staff, handed_over):
        """5.1.2, 6.2.1"""
        client.force_login(window_staff)
        with time_machine.travel(START - dt.timedelta(minutes=5), tick=False):
            assert client.post(step_url(handed_over, "check_in")).status_code == 302
            assert client.post(step_url(handed_over, "serve")).status_code == 302
        handed_over.refresh_from_db()
        assert handed_over.status == Status.SERVED

    def test_change_requested_approved_told_and_applied(
        self, client, window_staff, approver, accepted
    ):
        """6.2.2: requested by the window, approved by the agency, applied when told."""
        client.force_login(window_staff)
        with time_machine.travel(START - dt.timedelta(hours=30), tick=False):
            response = client.post(
                step_url(accepted, "request_change"),
                {"new_start_0": "2026-09-17", "new_start_1": "12:00:00", "reason": "系统升级"},
            )
            assert response.status_code == 302, response.context["form"].errors
            client.force_login(approver)
            assert client.post(step_url(accepted, "approve_change"), {}).status_code == 302
            client.force_login(window_staff)
            assert (
                client.post(step_url(accepted, "apply_change"), {"method": "phone"}).status_code
                == 302
            )
        accepted.refresh_from_db()
        assert accepted.start == NEW_START
        assert ChangeRequest.objects.get().state == ChangeRequest.State.APPLIED

    def test_late_approval_asks_for_the_emergency(self, client, approver, change):
        """6.2.2: under 8 h only as a recorded emergency, asked for at its field."""
        client.force_login(approver)
        with time_machine.travel(START - dt.timedelta(hours=7), tick=False):
            response = client.post(step_url(change.appointment, "approve_change"), {})
            assert "emergency_reason" in response.context["form"].errors
            response = client.post(
                step_url(change.appointment, "approve_change"), {"emergency_reason": "停电"}
            )
        assert response.status_code == 302
        change.refresh_from_db()
        assert change.is_emergency

    def test_reject_change(self, client, approver, change):
        client.force_login(approver)
        with time_machine.travel(START - dt.timedelta(hours=29), tick=False):
            client.post(step_url(change.appointment, "reject_change"), {"decision_note": "不同意"})
        change.refresh_from_db()
        assert change.state == ChangeRequest.State.REJECTED

    def test_no_show_outcome_recorded(self, client, window_staff, handed_over):
        """6.2.3: 30 min after the start without arrival, the outcome is recorded."""
        client.force_login(window_staff)
        with time_machine.travel(START + dt.timedelta(minutes=29), tick=False):
            assert client.get(step_url(handed_over, "follow_up")).status_code == 302  # not due
        with time_machine.travel(START + dt.timedelta(minutes=31), tick=False):
            response = client.post(
                step_url(handed_over, "follow_up"),
                {"outcome": "gave_up", "method": "phone", "note": "有事"},
            )
        assert response.status_code == 302, response.context["form"].errors
        handed_over.refresh_from_db()
        assert handed_over.status == Status.NO_SHOW
        assert NoShowFollowUp.objects.get().outcome == "gave_up"

    def test_cancel_at_the_applicants_request(self, client, desk, accepted, frozen):
        client.force_login(desk)
        response = client.post(step_url(accepted, "cancel"), {"at_applicants_request": "1"})
        assert "cancel_reason" in response.context["form"].errors
        client.post(
            step_url(accepted, "cancel"),
            {"cancel_reason": "申请人来电取消", "at_applicants_request": "1"},
        )
        accepted.refresh_from_db()
        assert accepted.status == Status.CANCELLED

    def test_cancel_by_the_hall_is_the_agencys_decision(self, client, desk, accepted, frozen):
        """6.2.2: the desk cannot cancel on the hall's behalf; the form says why."""
        client.force_login(desk)
        response = client.post(
            step_url(accepted, "cancel"),
            {"cancel_reason": "设备故障", "at_applicants_request": "0"},
        )
        assert response.status_code == 200 and response.context["form"].non_field_errors()
        accepted.refresh_from_db()
        assert accepted.status == Status.ACCEPTED


class TestHistory:
    def test_history_names_who_did_what_in_words(self, client, desk, handed_over, frozen):
        client.force_login(desk)
        page = client.get(record_url(handed_over)).content.decode()
        assert "已转交窗口" in page  # status label, not "handed_over"
        assert "window" in page  # the contact person by name (the fixture's name is its login)


@pytest.fixture
def other_hall_booking(other_hall, make_user):
    department = Department.objects.create(hall=other_hall, name="市场监督管理局")
    window = Window.objects.create(hall=other_hall, number="J01", name="郊区窗口", is_no_rest=True)
    window.departments.add(department)
    matter = Matter.objects.create(hall=other_hall, name="郊区事项")
    matter.departments.add(department)
    matter.windows.add(window)
    desk = make_user("jiaoqu-desk", "desk", other_hall)
    roster_test_dates(window, make_user("jiaoqu-window", "window_staff", other_hall, window))
    return appointment_register(
        matter=matter,
        window=window,
        start=START,
        applicant_name="郊区申请人",
        phone="13800138000",
        channel="onsite",
        actor=desk,
        now=THREE_DAYS_BEFORE,
    )


class TestHallScoping:
    """A user of one hall never sees or acts on another hall's bookings."""

    @pytest.mark.parametrize("step", sorted(ALLOWED))
    def test_steps_on_another_halls_booking_are_not_found(
        self, client, make_user, hall, other_hall_booking, step, frozen
    ):
        user = make_user("city-head", "window_head", hall)
        user.groups.add(*make_user("city-approver", "agency_approver", hall).groups.all())
        client.force_login(user)
        assert client.get(step_url(other_hall_booking, step)).status_code == 404
        assert client.post(step_url(other_hall_booking, step), {}).status_code == 404

    def test_search_by_phone_finds_only_the_own_hall(
        self, client, desk, accepted, other_hall_booking
    ):
        client.force_login(desk)  # both applicants have 13800138000
        response = client.get(LIST_URL, {"q": "138 0013 8000"})
        assert [a.pk for a in response.context["cl"].result_list] == [accepted.pk]

    def test_front_page_counts_only_the_own_hall(
        self, client, desk, online, other_hall_booking, frozen
    ):
        client.force_login(desk)
        page = client.get(reverse("admin:index"))
        assert "郊区申请人" not in page.content.decode()
        tallies = {t.label: t.count for t in page.context["summary"].counts}
        assert tallies["尚未转交窗口"] == 0  # the other hall's accepted booking is not counted


class TestSearch:
    @pytest.mark.parametrize(
        "query",
        ["138 0013 8000", "+86 13800138000", "13800138000", "138-0013-8000", "+8613800138000"],
    )
    def test_phone_in_any_format(self, client, desk, accepted, matter, no_rest_window, query):
        appointment_register(
            matter=matter,
            window=no_rest_window,
            start=START,
            applicant_name="王芳",
            phone="13900139000",
            channel="onsite",
            actor=desk,
            now=THREE_DAYS_BEFORE,
        )
        client.force_login(desk)
        response = client.get(LIST_URL, {"q": query})
        assert [a.applicant_name for a in response.context["cl"].result_list] == ["张伟"]

    def test_landline_with_area_code(self, client, desk, matter, no_rest_window):
        appointment_register(
            matter=matter,
            window=no_rest_window,
            start=START,
            applicant_name="孙艳",
            phone="0353-2021012",
            channel="phone",
            actor=desk,
            now=THREE_DAYS_BEFORE,
        )
        client.force_login(desk)
        for query in ("0353 2021012", "0353-202-1012", "+86 353 2021012"):
            assert client.get(LIST_URL, {"q": query}).context["cl"].result_count == 1, query

    def test_by_name_and_reference(self, client, desk, accepted):
        client.force_login(desk)
        assert client.get(LIST_URL, {"q": "张伟"}).context["cl"].result_count == 1
        assert client.get(LIST_URL, {"q": accepted.reference}).context["cl"].result_count == 1


def bulk_bookings(matter, window, desk, count):
    """``count`` accepted bookings straight into the table (the list reads, it does not book)."""
    rows = [
        Appointment(
            reference=f"T{i:07}",
            channel=("onsite", "phone")[i % 2],
            status="accepted",
            matter=matter,
            window=window,
            start=START + dt.timedelta(minutes=30 * i),
            end=START + dt.timedelta(minutes=30 * i + 30),
            applicant_name=f"申请人{i}",
            phone="+8613800138000",
            created_at=THREE_DAYS_BEFORE,
            accepted_at=THREE_DAYS_BEFORE,
            received_by=desk,
            window_head=window.head,
        )
        for i in range(Appointment.objects.count(), count)
    ]
    Appointment.objects.bulk_create(rows)


class TestListQueries:
    """The number of queries of a list page does not grow with its rows (10 vs 500)."""

    @pytest.mark.parametrize(
        "params",
        [
            {},
            {"status__exact": "accepted", "channel__exact": "phone"},
            {"attention": "not_handed_over", "when": "from_today"},
            {"q": "138 0013 8000"},
        ],
        ids=["plain", "status-channel", "attention", "phone-search"],
    )
    def test_flat_at_10_and_500_rows(
        self, client, desk, matter, no_rest_window, params, django_assert_max_num_queries, frozen
    ):
        client.force_login(desk)
        params = {**params, "all": ""}  # every row on one page
        counts = []
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        for total in (10, 500):
            bulk_bookings(matter, no_rest_window, desk, total)
            with CaptureQueriesContext(connection) as queries:
                response = client.get(LIST_URL, params)
            assert response.status_code == 200
            assert len(response.context["cl"].result_list) > 0
            counts.append(len(queries))
        assert counts[0] == counts[1], counts
        with django_assert_max_num_queries(counts[0]):
            client.get(LIST_URL, params)


class TestFrontPage:
    """The desk's front page: today's and tomorrow's bookings, the phone line, and counts that
    link to their lists (DB1403/T 5.1.3 b, 5.1.3 c, 6.1.3, 6.2.3, 6.2.2, 5.1.1)."""

    def test_counts_link_to_lists_with_the_same_rows(
        self, client, desk, window_staff, online, accepted, handed_over, matter, no_rest_window
    ):
        appointment_register(
            matter=matter,
            window=no_rest_window,
            start=at(2026, 9, 16, 12, 30),
            applicant_name="急办",
            phone="13700137000",
            channel="phone",
            short_notice_reason="急需",
            actor=desk,
            now=at(2026, 9, 15, 20, 0),
        )
        client.force_login(desk)
        with time_machine.travel(at(2026, 9, 16, 12, 45), tick=False):
            page = client.get(reverse("admin:index"))
            summary = page.context["summary"]
            tallies = {t.label: t for t in summary.counts}
            assert tallies["网上预约待确认"].count == 1
            assert tallies["尚未转交窗口"].count == 1
            assert tallies["未到场待跟进"].count == 1  # 12:00 handed over, not arrived
            assert tallies["不足24小时登记"].count == 1
            assert tallies["非电话受理时间登记的电话预约"].count == 1
            for tally in summary.counts:
                listed = client.get(tally.url).context["cl"].result_count
                assert listed == tally.count, tally.label
            label, day, windows, url = summary.days[0]
            assert day == dt.date(2026, 9, 16)
            assert [b.applicant_name for b in windows[0][1]] == ["王芳", "张伟", "急办"]
            assert client.get(url).context["cl"].result_count == 3

    @pytest.mark.parametrize(
        "moment, text",
        [(at(2026, 9, 14, 10, 0), "当前接听中"), (at(2026, 9, 14, 19, 30), "当前不在接听时间")],
    )
    def test_phone_line_open_or_closed(self, client, desk, moment, text):
        """5.1.3 b: Mon–Sun 9:00–12:00 and 13:00–17:00."""
        client.force_login(desk)
        with time_machine.travel(moment, tick=False):
            assert text in client.get(reverse("admin:index")).content.decode()


class TestRegistrationScreen:
    """5.1.3 a/b: matter → its windows with free slots → the applicant → save."""

    def test_matter_shows_its_windows_and_free_slots(
        self, client, desk, matter, no_rest_window, regular_window, accepted, frozen
    ):
        client.force_login(desk)
        page = client.get(reverse("admin:appointments_appointment_add"), {"matter": matter.pk})
        windows = [w for w, _days in page.context["free_slots"]]
        assert windows == [no_rest_window, regular_window]
        no_rest_days = dict(page.context["free_slots"][0][1])
        lunch = [s for s in no_rest_days[dt.date(2026, 9, 16)] if s.slot.start == START][0]
        assert lunch.remaining == 1  # one of two places taken by the fixture's booking

    def test_chosen_slot_fills_window_and_time(self, client, desk, matter, no_rest_window, frozen):
        client.force_login(desk)
        page = client.get(
            reverse("admin:appointments_appointment_add"),
            {"matter": matter.pk, "window": no_rest_window.pk, "start": START.isoformat()},
        )
        form = page.context["adminform"].form
        assert str(form["window"].value()) == str(no_rest_window.pk)
        assert form["start"].value() == [dt.date(2026, 9, 16), dt.time(12, 0)] or form[
            "start"
        ].initial == dt.datetime(2026, 9, 16, 12, 0)

    def test_another_halls_matter_shows_nothing(self, client, desk, other_hall_booking, frozen):
        client.force_login(desk)
        page = client.get(
            reverse("admin:appointments_appointment_add"),
            {"matter": other_hall_booking.matter_id},
        )
        assert "free_slots" not in page.context


def test_approved_change_is_offered_to_apply(client, window_staff, approver, change):
    with time_machine.travel(START - dt.timedelta(hours=29), tick=False):
        change_request_approve(change=change, actor=approver, now=START - dt.timedelta(hours=29))
        client.force_login(window_staff)
        steps = {s.name for s in client.get(record_url(change.appointment)).context["steps"]}
    assert "apply_change" in steps and "request_change" not in steps


def test_checked_in_booking_offers_serve_only_on_the_day(client, window_staff, handed_over):
    with time_machine.travel(START, tick=False):
        appointment_check_in(appointment=handed_over, actor=window_staff, now=START)
        client.force_login(window_staff)
        steps = {s.name for s in client.get(record_url(handed_over)).context["steps"]}
    assert steps == {"serve"}
