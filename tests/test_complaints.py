"""Complaints per GB/T 36113 (DB1403/T 7.3): every step and refusal, deadlines in working days
across National Day 2026, the overdue sweep, and the complainant's confidentiality."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from complaints.models import (
    REFERENCE_ALPHABET,
    Complaint,
    ComplaintState,
    ComplaintStep,
    IdentityView,
)
from complaints.services import (
    complainant_shown,
    complaint_accept,
    complaint_archive,
    complaint_decide,
    complaint_follow_up,
    complaint_investigate,
    complaint_refer,
    complaint_refuse,
    complaint_register,
    complaint_reply,
    complaint_settle_on_spot,
    complaints_overdue,
    mask_name,
    mask_phone,
)
from complaints.sweeps import complaints_sweep
from sms.models import Alert
from yuyue.sweeps import SWEEPS

from .conftest import at, field_code

S = ComplaintState
NOW = at(2026, 9, 14, 10, 0)  # a Monday
LIST_URL = reverse("admin:complaints_complaint_changelist")
ADD_URL = reverse("admin:complaints_complaint_add")


@pytest.fixture
def complaint(desk, no_rest_window, head):
    return complaint_register(
        channel="on_site",
        category="attitude",
        complainant_name="李四",
        complainant_phone="13800138000",
        text="窗口人员态度生硬。",
        window=no_rest_window,
        staff=head,
        actor=desk,
        now=NOW,
    )


@pytest.fixture
def accepted(complaint, supervisor):
    return complaint_accept(complaint=complaint, actor=supervisor, now=NOW)


@pytest.fixture
def investigated(accepted, supervisor, department):
    complaint_refer(complaint=accepted, department=department, actor=supervisor, now=NOW)
    return complaint_investigate(
        complaint=accepted, findings="属实，态度生硬。", actor=supervisor, now=NOW
    )


@pytest.fixture
def decided(investigated, supervisor, no_rest_window, head):
    return complaint_decide(
        complaint=investigated,
        substantiated=True,
        window=no_rest_window,
        staff=head,
        measures="批评教育，通报。",
        actor=supervisor,
        now=NOW,
    )


def states(complaint):
    return list(complaint.steps.order_by("pk").values_list("from_state", "to_state"))


class TestRegister:
    def test_register_gives_a_tracking_number_and_a_deadline(self, complaint, desk):
        assert len(complaint.tracking_number) == 10
        assert set(complaint.tracking_number) <= set(REFERENCE_ALPHABET)
        assert complaint.state == S.REGISTERED
        assert complaint.accept_due == dt.date(2026, 9, 15)
        step = complaint.steps.get()
        assert (step.actor, step.from_state, step.to_state) == (desk, "", S.REGISTERED)
        assert complaint.complainant_phone.as_e164 == "+8613800138000"

    def test_bad_input_is_keyed_by_field_and_nothing_is_saved(self, desk):
        with pytest.raises(ValidationError) as excinfo:
            complaint_register(
                channel="fax",
                category="nonsense",
                complainant_name=" ",
                complainant_phone="12",
                text="x" * 5001,
                actor=desk,
                now=NOW,
            )
        assert set(excinfo.value.error_dict) == {
            "channel",
            "category",
            "complainant_name",
            "complainant_phone",
            "text",
        }
        assert field_code(excinfo, "text") == "too_long"
        assert not Complaint.objects.exists()

    def test_empty_text_is_refused(self, desk):
        with pytest.raises(ValidationError) as excinfo:
            complaint_register(
                channel="phone",
                category="delay",
                complainant_name="李四",
                text="",
                actor=desk,
                now=NOW,
            )
        assert field_code(excinfo, "text") == "required"

    def test_window_of_another_hall_is_refused(self, desk, other_hall):
        from duty.models import Window

        elsewhere = Window.objects.create(hall=other_hall, number="B1", name="x")
        with pytest.raises(ValidationError) as excinfo:
            complaint_register(
                channel="phone",
                category="delay",
                complainant_name="李四",
                text="慢",
                window=elsewhere,
                actor=desk,
                now=NOW,
            )
        assert field_code(excinfo, "window") == "other_hall"

    def test_window_staff_cannot_register(self, window_staff):
        with pytest.raises(PermissionDenied):
            complaint_register(
                channel="phone",
                category="delay",
                complainant_name="李四",
                text="慢",
                actor=window_staff,
                now=NOW,
            )

    def test_the_database_refuses_an_empty_text(self, complaint):
        with pytest.raises(IntegrityError), transaction.atomic():
            Complaint.objects.filter(pk=complaint.pk).update(text="")

    def test_clean_mirrors_the_constraints(self, complaint):
        complaint.state = S.NOT_ACCEPTED
        complaint.channel = "letter"
        complaint.reply_method = "phone"
        with pytest.raises(ValidationError) as excinfo:
            complaint.clean()
        assert set(excinfo.value.error_dict) == {"refusal_reason", "reply_method"}


class TestProcedure:
    def test_the_full_path_is_recorded_step_by_step(self, decided, supervisor, head):
        complaint_reply(
            complaint=decided, method="phone", text="已批评教育。", actor=supervisor, now=NOW
        )
        complaint_follow_up(complaint=decided, satisfied=True, actor=supervisor, now=NOW)
        complaint = complaint_archive(complaint=decided, actor=supervisor, now=NOW)
        assert complaint.state == S.ARCHIVED
        assert complaint.substantiated is True
        assert complaint.staff == head
        assert complaint.satisfied is True
        assert states(complaint) == [
            ("", S.REGISTERED),
            (S.REGISTERED, S.ACCEPTED),
            (S.ACCEPTED, S.REFERRED),
            (S.REFERRED, S.INVESTIGATED),
            (S.INVESTIGATED, S.DECIDED),
            (S.DECIDED, S.REPLIED),
            (S.REPLIED, S.FOLLOWED_UP),
            (S.FOLLOWED_UP, S.ARCHIVED),
        ]
        assert {s.actor for s in complaint.steps.all()[1:]} == {supervisor}

    def test_nobody_handles_a_complaint_about_themselves_gbt36113(
        self, desk, no_rest_window, supervisor, make_user, hall
    ):
        """GB/T 36113 (impartial handling): the supervisor complained about can neither take a
        step on the complaint nor be made its handler; another handler can."""
        other = make_user("supervisor2", "supervisor", hall)
        about_supervisor = complaint_register(
            channel="phone",
            category="attitude",
            complainant_name="李四",
            complainant_phone="13800138000",
            text="督查人员态度生硬。",
            window=no_rest_window,
            staff=supervisor,
            actor=desk,
            now=NOW,
        )
        with pytest.raises(PermissionDenied):
            complaint_accept(complaint=about_supervisor, actor=supervisor, now=NOW)
        with pytest.raises(ValidationError) as refused:
            complaint_accept(complaint=about_supervisor, actor=other, handler=supervisor, now=NOW)
        assert field_code(refused, "handler") == "handler_complained_about"
        accepted = complaint_accept(complaint=about_supervisor, actor=other, now=NOW)
        assert accepted.handler == other and accepted.state == S.ACCEPTED

    def test_accept_sets_handler_and_reply_deadline(self, accepted, supervisor):
        assert accepted.handler == supervisor
        assert accepted.accepted_at == NOW
        assert accepted.reply_due == dt.date(2026, 9, 16)

    def test_settled_on_the_spot_then_followed_up_and_archived(self, accepted, supervisor):
        complaint = complaint_settle_on_spot(
            complaint=accepted, result="当场协调，已办结。", actor=supervisor, now=NOW
        )
        assert complaint.state == S.SETTLED
        assert complaint.reply_method == "in_person"
        complaint_follow_up(complaint=complaint, satisfied=False, actor=supervisor, now=NOW)
        complaint = complaint_archive(complaint=complaint, actor=supervisor, now=NOW)
        assert complaint.state == S.ARCHIVED

    def test_investigated_without_referral(self, accepted, supervisor):
        complaint = complaint_investigate(
            complaint=accepted, findings="不属实", actor=supervisor, now=NOW
        )
        complaint = complaint_decide(
            complaint=complaint, substantiated=False, actor=supervisor, now=NOW
        )
        assert complaint.substantiated is False

    @pytest.mark.parametrize(
        "reason", ["no_target", "outside_service", "review_or_court", "duplicate"]
    )
    def test_refused_for_each_reason_then_archived(self, complaint, supervisor, reason):
        complaint = complaint_refuse(
            complaint=complaint, reason=reason, note="已电话告知", actor=supervisor, now=NOW
        )
        assert (complaint.state, complaint.refusal_reason) == (S.NOT_ACCEPTED, reason)
        complaint = complaint_archive(complaint=complaint, actor=supervisor, now=NOW)
        assert complaint.state == S.ARCHIVED

    def test_refusal_needs_one_of_the_four_reasons(self, complaint, supervisor):
        with pytest.raises(ValidationError) as excinfo:
            complaint_refuse(complaint=complaint, reason="busy", actor=supervisor, now=NOW)
        assert field_code(excinfo, "refusal_reason") == "invalid_choice"

    def test_referral_needs_a_department_of_the_hall(self, accepted, supervisor, other_hall):
        from duty.models import Department

        with pytest.raises(ValidationError) as excinfo:
            complaint_refer(complaint=accepted, department=None, actor=supervisor, now=NOW)
        assert field_code(excinfo, "referred_department") == "required"
        elsewhere = Department.objects.create(hall=other_hall, name="外区")
        with pytest.raises(ValidationError) as excinfo:
            complaint_refer(complaint=accepted, department=elsewhere, actor=supervisor, now=NOW)
        assert field_code(excinfo, "referred_department") == "other_hall"

    def test_investigation_needs_findings(self, accepted, supervisor):
        with pytest.raises(ValidationError) as excinfo:
            complaint_investigate(complaint=accepted, findings=" ", actor=supervisor, now=NOW)
        assert field_code(excinfo, "findings") == "required"

    def test_substantiated_needs_measures_and_a_target(self, investigated, supervisor):
        with pytest.raises(ValidationError) as excinfo:
            complaint_decide(complaint=investigated, substantiated=True, actor=supervisor, now=NOW)
        assert field_code(excinfo, "measures") == "required"
        investigated.window = None
        investigated.staff = None
        with pytest.raises(ValidationError) as excinfo:
            complaint_decide(
                complaint=investigated,
                substantiated=True,
                measures="整改",
                actor=supervisor,
                now=NOW,
            )
        assert field_code(excinfo, "window") == "required"
        with pytest.raises(ValidationError) as excinfo:
            complaint_decide(complaint=investigated, substantiated=None, actor=supervisor, now=NOW)
        assert field_code(excinfo, "substantiated") == "required"

    def test_reply_needs_a_known_method_and_text(self, decided, supervisor):
        with pytest.raises(ValidationError) as excinfo:
            complaint_reply(complaint=decided, method="pigeon", text="x", actor=supervisor, now=NOW)
        assert field_code(excinfo, "reply_method") == "invalid_choice"
        with pytest.raises(ValidationError) as excinfo:
            complaint_reply(complaint=decided, method="phone", text="", actor=supervisor, now=NOW)
        assert field_code(excinfo, "reply_text") == "required"

    def test_a_letter_gets_a_written_reply(self, decided, supervisor):
        Complaint.objects.filter(pk=decided.pk).update(channel="letter")
        decided.refresh_from_db()
        with pytest.raises(ValidationError) as excinfo:
            complaint_reply(complaint=decided, method="phone", text="x", actor=supervisor, now=NOW)
        assert field_code(excinfo, "reply_method") == "written_reply"
        complaint = complaint_reply(
            complaint=decided, method="letter", text="书面答复", actor=supervisor, now=NOW
        )
        assert complaint.state == S.REPLIED

    def test_follow_up_needs_an_answer(self, accepted, supervisor):
        complaint_settle_on_spot(complaint=accepted, result="好", actor=supervisor, now=NOW)
        with pytest.raises(ValidationError) as excinfo:
            complaint_follow_up(complaint=accepted, satisfied="yes", actor=supervisor, now=NOW)
        assert field_code(excinfo, "satisfied") == "required"

    @pytest.mark.parametrize(
        "step",
        ["accept", "refuse", "settle", "refer", "investigate", "decide", "reply", "follow_up"],
    )
    def test_a_step_out_of_order_is_refused(self, complaint, supervisor, department, step):
        # Registered, every later step is out of order; accepted, accepting again is.
        if step in ("accept", "refuse"):
            complaint_accept(complaint=complaint, actor=supervisor, now=NOW)
        calls = {
            "accept": lambda: complaint_accept(complaint=complaint, actor=supervisor, now=NOW),
            "refuse": lambda: complaint_refuse(
                complaint=complaint, reason="duplicate", actor=supervisor, now=NOW
            ),
            "settle": lambda: complaint_settle_on_spot(
                complaint=complaint, result="x", actor=supervisor, now=NOW
            ),
            "refer": lambda: complaint_refer(
                complaint=complaint, department=department, actor=supervisor, now=NOW
            ),
            "investigate": lambda: complaint_investigate(
                complaint=complaint, findings="x", actor=supervisor, now=NOW
            ),
            "decide": lambda: complaint_decide(
                complaint=complaint, substantiated=False, actor=supervisor, now=NOW
            ),
            "reply": lambda: complaint_reply(
                complaint=complaint, method="phone", text="x", actor=supervisor, now=NOW
            ),
            "follow_up": lambda: complaint_follow_up(
                complaint=complaint, satisfied=True, actor=supervisor, now=NOW
            ),
        }
        before = ComplaintStep.objects.count()
        with pytest.raises(ValidationError) as excinfo:
            calls[step]()
        assert field_code(excinfo, "state") == "invalid_state"
        assert ComplaintStep.objects.count() == before

    def test_archive_before_follow_up_is_refused(self, decided, supervisor):
        with pytest.raises(ValidationError) as excinfo:
            complaint_archive(complaint=decided, actor=supervisor, now=NOW)
        assert field_code(excinfo, "state") == "invalid_state"

    def test_only_handlers_take_steps(self, complaint, desk, head):
        for actor in (desk, head):
            with pytest.raises(PermissionDenied):
                complaint_accept(complaint=complaint, actor=actor, now=NOW)

    def test_a_handler_of_another_hall_is_refused(self, complaint, make_user, other_hall):
        stranger = make_user("elsewhere", "supervisor", other_hall)
        with pytest.raises(PermissionDenied):
            complaint_accept(complaint=complaint, actor=stranger, now=NOW)


class TestDeadlines:
    """National Day 2026: 10-01..10-07 off, Saturday 10-10 a make-up working day."""

    def register(self, desk, now, **kw):
        return complaint_register(
            channel="phone",
            category="delay",
            complainant_name="王五",
            text="办理太慢",
            actor=desk,
            now=now,
            **kw,
        )

    def test_accept_deadline_skips_the_holiday(self, desk):
        complaint = self.register(desk, at(2026, 9, 30, 16, 0))
        assert complaint.accept_due == dt.date(2026, 10, 8)

    def test_reply_deadline_counts_the_make_up_saturday(self, desk, supervisor):
        complaint = self.register(desk, at(2026, 10, 8, 9, 0))
        complaint = complaint_accept(
            complaint=complaint, actor=supervisor, now=at(2026, 10, 8, 10, 0)
        )
        # 10-09 (Friday) and 10-10 (make-up Saturday).
        assert complaint.reply_due == dt.date(2026, 10, 10)

    def test_complex_reply_deadline_across_the_holiday(self, desk, supervisor):
        complaint = self.register(desk, at(2026, 9, 30, 9, 0), is_complex=True)
        complaint = complaint_accept(
            complaint=complaint, actor=supervisor, now=at(2026, 9, 30, 10, 0)
        )
        # 10-08, 10-09, 10-10, 10-12, 10-13.
        assert complaint.reply_due == dt.date(2026, 10, 13)

    def test_accept_can_mark_complex(self, desk, supervisor):
        complaint = self.register(desk, at(2026, 10, 8, 9, 0))
        complaint = complaint_accept(
            complaint=complaint, is_complex=True, actor=supervisor, now=at(2026, 10, 8, 10, 0)
        )
        # 10-09, 10-10 (make-up Saturday), 10-12, 10-13, 10-14.
        assert complaint.reply_due == dt.date(2026, 10, 14)

    def test_deadlines_follow_the_settings(self, desk, settings):
        settings.COMPLAINT_ACCEPT_WORKING_DAYS = 3
        complaint = self.register(desk, at(2026, 9, 30, 9, 0))
        assert complaint.accept_due == dt.date(2026, 10, 10)

    def test_overdue_lists_late_acceptance_and_late_reply(self, desk, supervisor):
        late_accept = self.register(desk, at(2026, 9, 30, 9, 0))  # due 10-08
        late_reply = self.register(desk, at(2026, 10, 8, 9, 0))
        complaint_accept(complaint=late_reply, actor=supervisor, now=at(2026, 10, 8, 10, 0))
        assert list(complaints_overdue(at(2026, 10, 8, 23, 0))) == []
        assert list(complaints_overdue(at(2026, 10, 9, 9, 0))) == [late_accept]
        assert set(complaints_overdue(at(2026, 10, 11, 9, 0))) == {late_accept, late_reply}


class TestOverdueSweep:
    def test_sweep_alerts_handler_and_supervisors_once(self, desk, supervisor, make_user, hall):
        other_supervisor = make_user("supervisor2", "supervisor", hall)
        complaint = complaint_register(
            channel="hotline_12345",
            category="shirking",
            complainant_name="赵六",
            text="推诿扯皮",
            actor=desk,
            now=at(2026, 9, 30, 9, 0),
        )
        assert SWEEPS["complaints"] is complaints_sweep
        assert complaints_sweep(now=at(2026, 10, 8, 12, 0)).alerts == 0
        result = complaints_sweep(now=at(2026, 10, 9, 9, 0))
        assert result.alerts == 2
        alerts = Alert.objects.filter(kind=Alert.Kind.COMPLAINT_OVERDUE)
        assert {a.recipient for a in alerts} == {supervisor, other_supervisor}
        assert complaint.tracking_number in alerts[0].text
        assert "李" not in alerts[0].text and "赵六" not in alerts[0].text
        # Twice: nothing new.
        assert complaints_sweep(now=at(2026, 10, 9, 10, 0)).alerts == 0
        assert alerts.count() == 2
        # Accepted late, then the reply is late too: a new alert, to the handler as well.
        complaint_accept(complaint=complaint, actor=other_supervisor, now=at(2026, 10, 9, 11, 0))
        assert complaints_sweep(now=at(2026, 10, 14, 9, 0)).alerts == 2
        assert complaints_sweep(now=at(2026, 10, 14, 10, 0)).alerts == 0

    def test_schedule_runs_the_sweep_hourly(self):
        from appointments.management.commands.setup_schedules import SCHEDULES

        assert SCHEDULES["sweep complaints"][1:] == ("'complaints'", 60)


class TestConfidentiality:
    def test_masks(self):
        assert mask_name("李四") == "李*"
        assert mask_name("欧阳娜娜") == "欧***"
        assert mask_phone("13800138000") == "138****8000"

    def test_shown_to_a_handler_and_logged(self, complaint, supervisor):
        shown = complainant_shown(complaint, supervisor, where="test", now=NOW)
        assert shown == {"name": "李四", "phone": "138 0013 8000", "masked": False}
        view = IdentityView.objects.get()
        assert (view.user, view.complaint, view.at) == (supervisor, complaint, NOW)

    def test_masked_for_desk_and_window_staff_and_not_logged(self, complaint, desk, head):
        for user in (desk, head):
            shown = complainant_shown(complaint, user)
            assert shown == {"name": "李*", "phone": "138****8000", "masked": True}
        assert not IdentityView.objects.exists()

    def test_a_handler_complained_about_does_not_see(self, complaint, supervisor):
        Complaint.objects.filter(pk=complaint.pk).update(staff=supervisor)
        complaint.refresh_from_db()
        assert complainant_shown(complaint, supervisor)["masked"] is True

    def test_roles(self, desk, head, window_staff, supervisor, make_user, hall):
        admin_user = make_user("admin", "administrator", hall)
        perm = "complaints.view_complainant_identity"
        assert supervisor.has_perm(perm) and admin_user.has_perm(perm)
        assert supervisor.has_perm("complaints.handle_complaint")
        assert admin_user.has_perm("complaints.handle_complaint")
        assert desk.has_perm("complaints.add_complaint") and not desk.has_perm(perm)
        for user in (head, window_staff):
            assert not user.has_perm(perm)
            assert not user.has_perm("complaints.view_complaint")


class TestAdmin:
    def test_list_detail_and_search_masked_for_the_desk(self, client, complaint, desk):
        client.force_login(desk)
        page = client.get(LIST_URL).content.decode()
        assert complaint.tracking_number in page
        assert "李*" in page and "138****8000" in page
        assert "李四" not in page and "13800138000" not in page
        detail = client.get(
            reverse("admin:complaints_complaint_change", args=[complaint.pk])
        ).content.decode()
        assert "李*" in detail and "李四" not in detail and "0013" not in detail
        assert (
            complaint.tracking_number
            in client.get(LIST_URL, {"q": complaint.tracking_number}).content.decode()
        )
        # Searching by name or phone finds nothing: it would reveal who complained.
        for q in ("李四", "13800138000"):
            assert complaint.tracking_number not in client.get(LIST_URL, {"q": q}).content.decode()
        assert not IdentityView.objects.exists()

    def test_url_filters_on_the_identity_refused_without_the_permission(
        self, client, complaint, desk
    ):
        """GB/T 36113 (confidentiality): a filter in the address (?complainant_name=…) must not
        do what the search box refuses — tell whether a given person or number complained."""
        client.force_login(desk)
        for lookup, value in (
            ("complainant_name", "李四"),
            ("complainant_name__startswith", "李"),
            ("complainant_phone__contains", "0013"),
        ):
            response = client.get(LIST_URL, {lookup: value})
            assert complaint.tracking_number not in response.content.decode(), lookup

    def test_the_booking_on_the_detail_page_does_not_name_the_complainant(
        self, client, desk, matter, no_rest_window, head
    ):
        """GB/T 36113 (confidentiality): a complaint about the complainant's own booking (a bad
        review, an online complaint with its reference) must not show the booking's applicant
        name — the complainant — beside the masked name."""
        from appointments.services import appointment_register

        from .conftest import START

        booking = appointment_register(
            matter=matter,
            window=no_rest_window,
            start=START,
            applicant_name="王小明",
            phone="13900139000",
            channel="onsite",
            actor=desk,
            now=START - dt.timedelta(days=3),
        )
        complaint = complaint_register(
            channel="phone",
            category="attitude",
            complainant_name="王小明",
            complainant_phone="13900139000",
            text="态度生硬。",
            window=no_rest_window,
            staff=head,
            appointment=booking,
            actor=desk,
            now=START + dt.timedelta(hours=1),
        )
        client.force_login(desk)
        detail = client.get(
            reverse("admin:complaints_complaint_change", args=[complaint.pk])
        ).content.decode()
        assert booking.reference in detail and "王*" in detail
        assert "王小明" not in detail

    def test_handler_sees_identity_and_each_view_is_logged(self, client, complaint, supervisor):
        client.force_login(supervisor)
        page = client.get(LIST_URL, {"q": "李四"}).content.decode()
        assert complaint.tracking_number in page and "李四" in page
        client.get(reverse("admin:complaints_complaint_change", args=[complaint.pk]))
        assert IdentityView.objects.filter(user=supervisor, complaint=complaint).count() == 2

    def test_window_staff_has_no_complaint_list(self, client, complaint, head):
        client.force_login(head)
        assert client.get(LIST_URL).status_code == 403

    def test_other_hall_sees_nothing(self, client, complaint, make_user, other_hall):
        client.force_login(make_user("elsewhere", "supervisor", other_hall))
        assert complaint.tracking_number not in client.get(LIST_URL).content.decode()

    def test_add_form_registers_through_the_service(self, client, desk, no_rest_window):
        client.force_login(desk)
        data = {
            "channel": "phone",
            "category": "fees",
            "window": no_rest_window.pk,
            "complainant_name": "钱七",
            "complainant_phone": "139 0013 9000",
            "text": "收取了费用",
        }
        response = client.post(ADD_URL, data)
        assert response.status_code == 302, response.content.decode()[:2000]
        complaint = Complaint.objects.get()
        assert complaint.registered_by == desk
        assert complaint.steps.get().to_state == S.REGISTERED
        assert complaint.accept_due is not None

    def test_add_form_shows_errors(self, client, desk):
        client.force_login(desk)
        response = client.post(
            ADD_URL,
            {"channel": "phone", "category": "fees", "complainant_name": "钱七", "text": " "},
        )
        assert response.status_code == 200
        assert not Complaint.objects.exists()
