"""好差评 (DB1403/T 8.2; 国办发〔2019〕51号): the signed link, one rating per served booking with no
default level, paper forms only by permitted staff, bad-review cases with deadlines in working
days across National Day 2026, the overdue sweep, appeals (申诉复核), bad review → complaint,
and the SMS invitation."""

import datetime as dt

import pytest
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from appointments.management.commands.setup_schedules import SCHEDULES
from appointments.models import Appointment, Status
from appointments.services import appointment_check_in, appointment_register, appointment_serve
from complaints.models import Complaint, ComplaintChannel
from duty.models import Window
from evaluation.figures import rating_figures
from evaluation.models import BadReviewCase, BadReviewStep, Rating, RatingAppeal
from evaluation.ratings import (
    LINK_SALT,
    bad_review_close,
    bad_review_contact,
    bad_review_rectify,
    bad_review_reply,
    bad_review_to_complaint,
    bad_reviews_overdue,
    rating_appeal_file,
    rating_appeal_review,
    rating_link_make,
    rating_link_source,
    rating_submit,
    rating_token_check,
)
from evaluation.sweeps import bad_reviews_sweep
from sms.models import Alert, Message
from yuyue.sweeps import SWEEPS

from .conftest import START, at, field_code

M = dt.timedelta(minutes=1)
DAY = dt.timedelta(days=1)
GOOD = {"overall": 5, "efficiency": 4, "service_level": 5, "attitude": 5, "comment": ""}
BAD = {"overall": 1, "efficiency": 2, "service_level": 3, "attitude": 1, "comment": "态度差"}


@pytest.fixture
def serve(matter, no_rest_window, desk, window_staff):
    """A booking registered by the desk, checked in at ``start`` and served 10 minutes later."""

    def make(start=START, phone="13800138000", name="张伟"):
        appointment = appointment_register(
            matter=matter,
            window=no_rest_window,
            start=start,
            applicant_name=name,
            phone=phone,
            channel="onsite",
            actor=desk,
            now=start - dt.timedelta(hours=72),
        )
        appointment_check_in(appointment=appointment, actor=window_staff, now=start)
        return appointment_serve(appointment=appointment, actor=window_staff, now=start + 10 * M)

    return make


@pytest.fixture
def served(serve):
    return serve()


def rate(appointment, now, levels=GOOD, source="sms_link", **kw):
    return rating_submit(appointment=appointment, source=source, now=now, **{**levels, **kw})


def served_on(serve, day: dt.date):
    """A booking served at 12:10 on ``day`` (the no-rest window's lunch-time service)."""
    return serve(start=at(day.year, day.month, day.day, 12, 0))


# --- the signed link --------------------------------------------------------------------------


class TestLink:
    """DB1403/T 8.2: the SMS link is valid RATING_LINK_DAYS (7) after serving; tampered, unknown,
    expired and reused links are refused, each with its own message."""

    def test_valid_until_one_minute_before_seven_days(self, served):
        token = rating_link_make(appointment=served, now=served.served_at)
        last = served.served_at + 7 * DAY - M
        assert rating_token_check(token=token, now=last) == served
        assert rating_link_source(token=token) == "sms_link"

    def test_expired_at_seven_days(self, served):
        token = rating_link_make(appointment=served, now=served.served_at)
        with pytest.raises(ValidationError) as excinfo:
            rating_token_check(token=token, now=served.served_at + 7 * DAY)
        assert field_code(excinfo, "token") == "link_expired"
        assert "7" in excinfo.value.messages[0]

    def test_setting_changes_the_period(self, served, settings):
        settings.RATING_LINK_DAYS = 3
        token = rating_link_make(appointment=served, now=served.served_at)
        with pytest.raises(ValidationError):
            rating_token_check(token=token, now=served.served_at + 3 * DAY)

    def test_tampered_link_is_refused(self, served):
        token = rating_link_make(appointment=served, now=served.served_at)
        payload, signature = token.rsplit(":", 1)
        forged = signing.Signer(salt="other").sign_object({"a": served.pk, "s": "s"})
        for bad in (
            payload + ":" + signature[:-1] + ("A" if signature[-1] != "A" else "B"),
            payload[:-2] + ":" + signature,
            forged,
            "",
            "not-a-token",
            None,
        ):
            with pytest.raises(ValidationError) as excinfo:
                rating_token_check(token=bad, now=served.served_at)
            assert field_code(excinfo, "token") == "link_invalid"

    def test_unknown_booking(self, served):
        token = signing.Signer(salt=LINK_SALT).sign_object({"a": 999999, "s": "s"})
        with pytest.raises(ValidationError) as excinfo:
            rating_token_check(token=token, now=served.served_at)
        assert field_code(excinfo, "token") == "link_unknown"

    def test_reused_link_is_already_rated(self, served):
        token = rating_link_make(appointment=served, now=served.served_at)
        rate(rating_token_check(token=token, now=served.served_at), served.served_at + M)
        with pytest.raises(ValidationError) as excinfo:
            rating_token_check(token=token, now=served.served_at + 2 * M)
        assert field_code(excinfo, "token") == "already_rated"

    def test_no_link_for_a_booking_not_served(self, accepted):
        with pytest.raises(ValidationError) as excinfo:
            rating_link_make(appointment=accepted, now=START)
        assert field_code(excinfo, "status") == "not_served"

    def test_qr_link_records_the_window_qr(self, served):
        token = rating_link_make(appointment=served, now=served.served_at, source="window_qr")
        assert rating_link_source(token=token) == "window_qr"


# --- the rating -------------------------------------------------------------------------------


class TestRating:
    """DB1403/T 8.2, 国办发〔2019〕51号: 一次一评, voluntary, no default level."""

    def test_rating_copies_the_service(self, served, department, no_rest_window, window_staff):
        rating = rate(served, served.served_at + M, comment="  很好  ")
        assert rating.hall == no_rest_window.hall
        assert rating.window == no_rest_window
        assert rating.department == department
        # Nobody was named receiving staff: the one who served is rated.
        assert served.responsible_staff is None
        assert rating.staff == window_staff
        assert rating.comment == "很好"
        assert (rating.overall, rating.efficiency, rating.service_level, rating.attitude) == (
            5,
            4,
            5,
            5,
        )
        assert rating.source == "sms_link" and rating.entered_by is None

    def test_rated_staff_is_the_receiving_staff_when_named(self, served, head):
        Appointment.objects.filter(pk=served.pk).update(responsible_staff=head)
        served.refresh_from_db()
        assert rate(served, served.served_at + M).staff == head

    def test_rated_once_only(self, served):
        rate(served, served.served_at + M)
        with pytest.raises(ValidationError) as excinfo:
            rate(served, served.served_at + 2 * M, source="my_booking")
        assert field_code(excinfo, "appointment") == "already_rated"
        assert Rating.objects.filter(appointment=served).count() == 1

    @pytest.mark.parametrize("missing", ["overall", "efficiency", "service_level", "attitude"])
    def test_a_missing_level_is_refused_not_defaulted(self, served, missing):
        with pytest.raises(ValidationError) as excinfo:
            rate(served, served.served_at + M, **{missing: None})
        assert field_code(excinfo, missing) == "required"
        assert not Rating.objects.exists()

    @pytest.mark.parametrize("value", [0, 6, "x", True, 4.5, "10"])
    def test_only_the_five_levels(self, served, value):
        with pytest.raises(ValidationError) as excinfo:
            rate(served, served.served_at + M, overall=value)
        assert field_code(excinfo, "overall") == "invalid_choice"

    def test_level_as_form_text_is_accepted(self, served):
        assert rate(served, served.served_at + M, overall="3").overall == 3

    def test_comment_at_most_1000_characters(self, served):
        with pytest.raises(ValidationError) as excinfo:
            rate(served, served.served_at + M, comment="好" * 1001)
        assert field_code(excinfo, "comment") == "too_long"
        assert rate(served, served.served_at + M, comment="好" * 1000).comment == "好" * 1000

    def test_an_unrated_service_stays_unrated(self, served):
        """No default rating is ever recorded: the served booking counts as unrated."""
        assert not Rating.objects.exists()
        figures = rating_figures(Appointment.objects.filter(status=Status.SERVED))
        assert figures["served"] == 1 and figures["unrated"] == 1 and figures["rated"] == 0
        assert figures["good_rate"] is None and figures["unrated_rate"] == 1

    @pytest.mark.parametrize("fixture", ["accepted", "handed_over"])
    def test_a_booking_not_served_cannot_be_rated(self, db, request, fixture):
        appointment = request.getfixturevalue(fixture)
        with pytest.raises(ValidationError) as excinfo:
            rate(appointment, START)
        assert field_code(excinfo, "appointment") == "not_served"
        assert not Rating.objects.exists()

    def test_citizen_rating_closes_after_seven_days(self, served):
        with pytest.raises(ValidationError) as excinfo:
            rate(served, served.served_at + 7 * DAY)
        assert field_code(excinfo, "appointment") == "rating_closed"
        assert rate(served, served.served_at + 7 * DAY - M).pk

    def test_unknown_source_refused(self, served):
        with pytest.raises(ValidationError) as excinfo:
            rate(served, served.served_at + M, source="robot")
        assert field_code(excinfo, "source") == "invalid_source"


class TestPaperForm:
    """国办发〔2019〕51号: staff cannot rate for a citizen; a paper form the citizen filled in is
    typed in by someone with enter_paper_rating, and recorded as a paper form."""

    def test_desk_enters_a_paper_form(self, served, desk):
        rating = rate(served, served.served_at + DAY, source="paper", entered_by=desk)
        assert rating.source == "paper" and rating.entered_by == desk

    def test_paper_form_may_be_typed_in_after_seven_days(self, served, desk):
        assert rate(served, served.served_at + 8 * DAY, source="paper", entered_by=desk).pk

    def test_staff_without_the_permission_cannot(self, served, window_staff, head):
        for user in (window_staff, head):
            with pytest.raises(PermissionDenied):
                rate(served, served.served_at + M, source="paper", entered_by=user)
        assert not Rating.objects.exists()

    def test_desk_of_another_hall_cannot(self, served, make_user, other_hall):
        other = make_user("other_desk", "desk", other_hall)
        with pytest.raises(PermissionDenied):
            rate(served, served.served_at + M, source="paper", entered_by=other)

    def test_paper_needs_who_entered_it(self, served):
        with pytest.raises(ValidationError) as excinfo:
            rate(served, served.served_at + M, source="paper")
        assert field_code(excinfo, "entered_by") == "required"

    @pytest.mark.parametrize("source", ["sms_link", "window_qr", "my_booking"])
    def test_staff_cannot_rate_through_a_citizen_channel(self, served, desk, source):
        with pytest.raises(ValidationError) as excinfo:
            rate(served, served.served_at + M, source=source, entered_by=desk)
        assert field_code(excinfo, "entered_by") == "not_for_staff"
        assert not Rating.objects.exists()


# --- bad reviews --------------------------------------------------------------------------------


class TestBadReviewOpens:
    """好差评: a bad overall level (不满意, 非常不满意) opens a case, handled by the window head,
    contact within 1 and rectify within 5 working days (National Day 2026: 10-01..10-07 off,
    Saturday 10-10 a make-up working day)."""

    @pytest.mark.parametrize("overall", [3, 4, 5])
    def test_no_case_for_a_good_or_fair_review(self, served, overall):
        rate(served, served.served_at + M, overall=overall)
        assert not BadReviewCase.objects.exists()

    @pytest.mark.parametrize("overall", [1, 2])
    def test_bad_review_opens_a_case(self, served, head, overall):
        rating = rate(served, served.served_at + M, levels=BAD, overall=overall)
        case = rating.case
        assert case.state == "open" and case.handler == head
        assert case.opened_at == served.served_at + M
        assert list(case.steps.values_list("to_state", flat=True)) == ["open"]
        [alert] = Alert.objects.filter(kind=Alert.Kind.BAD_REVIEW)
        assert alert.recipient == head and served.reference in alert.text
        assert str(case.contact_due) in alert.text

    def test_deadlines_across_national_day(self, serve):
        appointment = served_on(serve, dt.date(2026, 9, 30))
        case = rate(appointment, appointment.served_at + M, levels=BAD).case
        assert case.contact_due == dt.date(2026, 10, 8)
        # 10-08, 10-09, 10-10 (make-up Saturday), 10-12, 10-13.
        assert case.rectify_due == dt.date(2026, 10, 13)

    def test_contact_due_on_the_make_up_saturday(self, serve):
        appointment = served_on(serve, dt.date(2026, 10, 9))  # a Friday
        case = rate(appointment, appointment.served_at + M, levels=BAD).case
        assert case.contact_due == dt.date(2026, 10, 10)
        # 10-10, 10-12, 10-13, 10-14, 10-15.
        assert case.rectify_due == dt.date(2026, 10, 15)

    def test_deadlines_follow_the_settings(self, serve, settings):
        settings.BAD_REVIEW_CONTACT_WORKING_DAYS = 2
        settings.BAD_REVIEW_RECTIFY_WORKING_DAYS = 10
        appointment = served_on(serve, dt.date(2026, 9, 30))
        case = rate(appointment, appointment.served_at + M, levels=BAD).case
        assert case.contact_due == dt.date(2026, 10, 9)
        assert case.rectify_due == dt.date(2026, 10, 20)


@pytest.fixture
def case(served):
    return rate(served, served.served_at + M, levels=BAD).case


class TestBadReviewSteps:
    """好差评: contact and verify → rectify → reply (SMS to the rater) → close; out of order
    refused; each step recorded with who and when."""

    def test_the_full_procedure(self, case, head, served):
        t = served.served_at + DAY
        case = bad_review_contact(case=case, actor=head, verified=True, note="电话核实属实", now=t)
        assert (case.state, case.verified, case.contacted_at) == ("contacted", True, t)
        case = bad_review_rectify(case=case, actor=head, rectification="加强培训", now=t + DAY)
        assert case.state == "rectified" and case.rectification == "加强培训"
        case = bad_review_reply(
            case=case, actor=head, reply_text="已整改，感谢监督。", now=t + 2 * DAY
        )
        assert case.state == "replied" and case.replied_at == t + 2 * DAY
        reply = Message.objects.get(purpose=Message.Purpose.RATING_REPLY)
        assert "已整改，感谢监督。" in reply.text and reply.phone == served.phone
        case = bad_review_close(case=case, actor=head, now=t + 3 * DAY)
        assert case.state == "closed"
        steps = list(BadReviewStep.objects.filter(case=case).order_by("at", "pk"))
        assert [(s.from_state, s.to_state) for s in steps] == [
            ("", "open"),
            ("open", "contacted"),
            ("contacted", "rectified"),
            ("rectified", "replied"),
            ("replied", "closed"),
        ]
        assert steps[0].actor is None and all(s.actor == head for s in steps[1:])

    def test_an_unverified_review_is_replied_to_without_rectification(self, case, head, served):
        t = served.served_at + DAY
        case = bad_review_contact(case=case, actor=head, verified=False, note="误评", now=t)
        with pytest.raises(ValidationError) as excinfo:
            bad_review_rectify(case=case, actor=head, rectification="x", now=t)
        assert field_code(excinfo, "state") == "invalid_state"
        case = bad_review_reply(case=case, actor=head, reply_text="已向您说明。", now=t)
        assert case.state == "replied"

    def test_steps_out_of_order_are_refused(self, case, head, served):
        t = served.served_at + DAY
        for step in (
            lambda: bad_review_rectify(case=case, actor=head, rectification="x", now=t),
            lambda: bad_review_reply(case=case, actor=head, reply_text="x", now=t),
            lambda: bad_review_close(case=case, actor=head, now=t),
        ):
            with pytest.raises(ValidationError) as excinfo:
                step()
            assert field_code(excinfo, "state") == "invalid_state"
            assert "open" in str(excinfo.value) or "待" in str(excinfo.value)
        bad_review_contact(case=case, actor=head, verified=True, note="属实", now=t)
        with pytest.raises(ValidationError):
            bad_review_contact(case=case, actor=head, verified=True, note="again", now=t)
        case.refresh_from_db()
        assert case.state == "contacted"

    def test_contact_needs_a_note_and_a_verdict(self, case, head, served):
        t = served.served_at + DAY
        with pytest.raises(ValidationError) as excinfo:
            bad_review_contact(case=case, actor=head, verified=True, note="  ", now=t)
        assert field_code(excinfo, "contact_note") == "required"
        with pytest.raises(ValidationError) as excinfo:
            bad_review_contact(case=case, actor=head, verified=None, note="x", now=t)
        assert field_code(excinfo, "verified") == "required"

    def test_only_the_head_of_the_rated_window(self, case, window_staff, make_user, hall, served):
        other_window = Window.objects.create(hall=hall, number="B01", name="其他")
        other_head = make_user("other_head", "window_head", hall)
        other_window.head = other_head
        other_window.save()
        t = served.served_at + DAY
        for user in (window_staff, other_head):
            with pytest.raises(PermissionDenied):
                bad_review_contact(case=case, actor=user, verified=True, note="x", now=t)

    def test_reply_to_a_landline_is_not_texted(self, serve, head):
        appointment = serve(phone="0353-2021234")
        case = rate(appointment, appointment.served_at + M, levels=BAD).case
        t = appointment.served_at + DAY
        case = bad_review_contact(case=case, actor=head, verified=False, note="x", now=t)
        bad_review_reply(case=case, actor=head, reply_text="已电话答复。", now=t)
        assert not Message.objects.filter(purpose=Message.Purpose.RATING_REPLY).exists()


class TestBadReviewToComplaint:
    """A substantiated bad review becomes a complaint (channel "bad rating", GB/T 36113)."""

    def test_verified_bad_review_becomes_a_complaint(self, case, head, supervisor, served):
        t = served.served_at + DAY
        case = bad_review_contact(case=case, actor=head, verified=True, note="属实", now=t)
        complaint = bad_review_to_complaint(case=case, actor=supervisor, now=t + M)
        assert complaint.channel == ComplaintChannel.BAD_RATING
        assert complaint.category == "attitude"
        assert complaint.window == case.rating.window
        assert complaint.staff == case.rating.staff
        assert complaint.appointment == served
        assert complaint.complainant_name == served.applicant_name
        assert complaint.received_at == case.rating.rated_at
        case.refresh_from_db()
        assert case.complaint == complaint
        with pytest.raises(ValidationError):
            bad_review_to_complaint(case=case, actor=supervisor, now=t + 2 * M)
        assert Complaint.objects.count() == 1

    def test_not_before_verification(self, case, supervisor, head, served):
        with pytest.raises(ValidationError) as excinfo:
            bad_review_to_complaint(case=case, actor=supervisor, now=served.served_at + DAY)
        assert field_code(excinfo, "state") == "invalid_state"
        t = served.served_at + DAY
        case = bad_review_contact(case=case, actor=head, verified=False, note="误评", now=t)
        with pytest.raises(ValidationError):
            bad_review_to_complaint(case=case, actor=supervisor, now=t)

    def test_the_rated_window_cannot_register_it(self, case, head, served):
        t = served.served_at + DAY
        case = bad_review_contact(case=case, actor=head, verified=True, note="属实", now=t)
        with pytest.raises(PermissionDenied):
            bad_review_to_complaint(case=case, actor=head, now=t)
        assert not Complaint.objects.exists()


class TestOverdue:
    """好差评 deadlines: late contact and late rectification alert the handler and the hall's
    supervisors, once per late step (the hourly ``bad_reviews`` sweep)."""

    @pytest.fixture
    def late_case(self, serve):
        appointment = served_on(serve, dt.date(2026, 9, 30))
        return rate(appointment, appointment.served_at + M, levels=BAD).case  # contact by 10-08

    def test_contact_overdue_from_the_day_after(self, late_case):
        assert list(bad_reviews_overdue(at(2026, 10, 8, 23, 59))) == []
        assert list(bad_reviews_overdue(at(2026, 10, 9, 0, 0))) == [late_case]

    def test_sweep_alerts_once_per_late_step(self, late_case, head, supervisor):
        assert bad_reviews_sweep(now=at(2026, 10, 8, 23, 59)).alerts == 0
        assert bad_reviews_sweep(now=at(2026, 10, 9, 0, 0)).alerts == 2
        assert bad_reviews_sweep(now=at(2026, 10, 9, 1, 0)).alerts == 0
        alerts = Alert.objects.filter(kind=Alert.Kind.BAD_REVIEW_OVERDUE)
        assert {a.recipient for a in alerts} == {head, supervisor}
        assert all(a.subject_id == late_case.rating.appointment_id for a in alerts)
        # Rectification due 10-13: late from 10-14, a second step.
        assert bad_reviews_sweep(now=at(2026, 10, 13, 23, 59)).alerts == 0
        assert bad_reviews_sweep(now=at(2026, 10, 14, 0, 0)).alerts == 2
        assert Alert.objects.filter(kind=Alert.Kind.BAD_REVIEW_OVERDUE).count() == 4

    def test_contacted_case_is_not_late_for_contact(self, late_case, head):
        bad_review_contact(
            case=late_case, actor=head, verified=True, note="x", now=at(2026, 10, 8, 9)
        )
        assert list(bad_reviews_overdue(at(2026, 10, 13, 12))) == []
        assert list(bad_reviews_overdue(at(2026, 10, 14, 0))) == [late_case]
        bad_review_rectify(case=late_case, actor=head, rectification="x", now=at(2026, 10, 13, 9))
        assert list(bad_reviews_overdue(at(2026, 10, 20))) == []

    def test_sweep_is_registered_hourly(self):
        assert SWEEPS["bad_reviews"] is bad_reviews_sweep
        assert SCHEDULES["sweep bad_reviews"][1:] == ("'bad_reviews'", 60)


# --- appeals --------------------------------------------------------------------------------------


@pytest.fixture
def administrator(make_user, hall):
    return make_user("admin", "administrator", hall)


@pytest.fixture
def rating(served):
    return rate(served, served.served_at + M, levels=BAD)


class TestAppeal:
    """申诉复核 (国办发〔2019〕51号): the rated window appeals; a supervisor other than the
    appellant decides; an upheld appeal marks the rating, which is never deleted."""

    def test_head_files_and_supervisors_are_alerted(self, rating, head, supervisor):
        appeal = rating_appeal_file(
            rating=rating, actor=head, reason="评价人误操作", now=rating.rated_at + DAY
        )
        assert appeal.state == "pending" and appeal.appealed_by == head
        alert = Alert.objects.get(kind=Alert.Kind.RATING_APPEAL)
        assert alert.recipient == supervisor and "评价人误操作" in alert.text

    def test_upheld_appeal_excludes_but_keeps_the_rating(self, rating, head, supervisor):
        t = rating.rated_at + DAY
        appeal = rating_appeal_file(rating=rating, actor=head, reason="恶意差评", now=t)
        appeal = rating_appeal_review(
            appeal=appeal, actor=supervisor, upheld=True, note="经核实系恶意评价", now=t + DAY
        )
        assert appeal.state == "upheld" and appeal.reviewed_by == supervisor
        rating.refresh_from_db()
        assert rating.excluded and rating.excluded_reason == "经核实系恶意评价"
        assert Rating.objects.filter(pk=rating.pk).exists()
        figures = rating_figures(Appointment.objects.filter(status=Status.SERVED))
        assert figures["rated"] == 0 and figures["bad"] == 0 and figures["unrated"] == 0
        # Its case is closed and no longer overdue.
        rating.case.refresh_from_db()
        assert rating.case.state == "closed"
        assert list(bad_reviews_overdue(t + 30 * DAY)) == []

    def test_rejected_appeal_leaves_the_rating(self, rating, head, supervisor):
        t = rating.rated_at + DAY
        appeal = rating_appeal_file(rating=rating, actor=head, reason="误评", now=t)
        appeal = rating_appeal_review(
            appeal=appeal, actor=supervisor, upheld=False, note="评价有据", now=t
        )
        rating.refresh_from_db()
        assert appeal.state == "rejected" and not rating.excluded
        with pytest.raises(ValidationError) as excinfo:
            rating_appeal_review(appeal=appeal, actor=supervisor, upheld=True, note="x", now=t)
        assert field_code(excinfo, "state") == "decided"
        # A new appeal may follow a decided one.
        assert rating_appeal_file(rating=rating, actor=head, reason="新情况", now=t).pk

    def test_filing_without_the_right_is_refused(self, rating, window_staff, desk, make_user, hall):
        other_head = make_user("other_head", "window_head", hall)
        Window.objects.create(hall=hall, number="B01", name="其他", head=other_head)
        for user in (window_staff, desk, other_head):
            with pytest.raises(PermissionDenied):
                rating_appeal_file(rating=rating, actor=user, reason="x", now=rating.rated_at)
        assert not RatingAppeal.objects.exists()

    def test_one_pending_appeal_and_a_reason(self, rating, head):
        t = rating.rated_at
        with pytest.raises(ValidationError) as excinfo:
            rating_appeal_file(rating=rating, actor=head, reason="  ", now=t)
        assert field_code(excinfo, "reason") == "required"
        rating_appeal_file(rating=rating, actor=head, reason="误评", now=t)
        with pytest.raises(ValidationError) as excinfo:
            rating_appeal_file(rating=rating, actor=head, reason="再次", now=t)
        assert field_code(excinfo, "rating") == "pending"

    def test_review_without_the_right_or_by_the_appellant(self, rating, head, administrator):
        t = rating.rated_at
        appeal = rating_appeal_file(rating=rating, actor=administrator, reason="误评", now=t)
        for user in (head, administrator):
            with pytest.raises(PermissionDenied):
                rating_appeal_review(appeal=appeal, actor=user, upheld=True, note="x", now=t)
        appeal.refresh_from_db()
        assert appeal.state == "pending"

    def test_supervisor_of_another_hall_cannot_review(self, rating, head, make_user, other_hall):
        other = make_user("other_sup", "supervisor", other_hall)
        appeal = rating_appeal_file(rating=rating, actor=head, reason="误评", now=rating.rated_at)
        with pytest.raises(PermissionDenied):
            rating_appeal_review(
                appeal=appeal, actor=other, upheld=True, note="x", now=rating.rated_at
            )


# --- the SMS invitation -----------------------------------------------------------------------


class TestInvitation:
    """国办发〔2019〕51号: the applicant is invited by SMS when served, with the signed link;
    a landline is not texted."""

    def test_invitation_is_queued_on_serving(self, served, settings):
        message = Message.objects.get(purpose=Message.Purpose.RATING_INVITATION)
        assert message.subject == served and message.phone == served.phone
        assert message.dedupe_key == f"rating_invitation:{served.pk}"
        assert settings.SITE_URL + "/rate/" in message.text
        token = message.text.split("/rate/")[1].split("/")[0]
        assert rating_token_check(token=token, now=served.served_at) == served
        assert rating_link_source(token=token) == "sms_link"
        assert "7" in message.text

    def test_sent_after_the_serving_commits(
        self, matter, no_rest_window, desk, window_staff, sms_inbox, monkeypatch,
        django_capture_on_commit_callbacks,
    ):  # fmt: skip
        from django_q.conf import Conf

        monkeypatch.setattr(Conf, "SYNC", True)
        appointment = appointment_register(
            matter=matter,
            window=no_rest_window,
            start=START,
            applicant_name="张伟",
            phone="13800138000",
            channel="onsite",
            actor=desk,
            now=START - 3 * DAY,
        )
        appointment_check_in(appointment=appointment, actor=window_staff, now=START)
        with django_capture_on_commit_callbacks(execute=True):
            appointment_serve(appointment=appointment, actor=window_staff, now=START + 10 * M)
        texts = sms_inbox.messages("+8613800138000")
        assert any("/rate/" in text for text in texts)

    def test_landline_is_not_texted(self, serve):
        appointment = serve(phone="0353-2021234")
        assert appointment.status == Status.SERVED
        assert not Message.objects.filter(purpose=Message.Purpose.RATING_INVITATION).exists()

    def test_link_uses_the_site_url(self, serve, settings):
        settings.SITE_URL = "https://yuyue.example.cn"
        serve()
        message = Message.objects.get(purpose=Message.Purpose.RATING_INVITATION)
        assert "https://yuyue.example.cn/rate/" in message.text
        assert reverse("rate:thanks") == "/rate/thanks/"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_tabs_rating_at_once_record_one_rating(serve):
    """一次一评 (DB1403/T 8.2) under concurrency: the booking row's lock lets one of several
    simultaneous submissions win; the others are told it is already rated."""
    from functools import partial

    from .test_concurrency import race

    appointment = serve()
    attempts = [
        partial(rate, Appointment.objects.get(pk=appointment.pk), appointment.served_at + M)
        for _ in range(4)
    ]
    outcomes = race(attempts)
    assert sorted(outcomes) == ["refused"] * 3 + ["won"], outcomes
    assert Rating.objects.filter(appointment=appointment).count() == 1
