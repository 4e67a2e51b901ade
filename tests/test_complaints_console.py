"""Complaints in the staff console (GB/T 36113; DB1403/T 7.3, 7.4): a step form for each step
for handlers only, service refusals shown as messages (never a 500), investigation documents
checked by their bytes and served to handlers only, the overdue filter and flag, the monthly
figures (hand-counted) and the substantiated counts for the assessment."""

import datetime as dt

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from complaints.models import Complaint, ComplaintAttachment, ComplaintState
from complaints.services import (
    complaint_accept,
    complaint_archive,
    complaint_decide,
    complaint_figures,
    complaint_follow_up,
    complaint_investigate,
    complaint_refuse,
    complaint_register,
    complaint_reply,
    complaint_settle_on_spot,
    substantiated_complaints,
)
from duty.models import Window
from tests.conftest import at

S = ComplaintState
NOW = at(2026, 9, 14, 10, 0)  # a Monday
LIST_URL = reverse("admin:complaints_complaint_changelist")
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"0" * 64


def step_url(complaint, step):
    return reverse("admin:complaints_complaint_step", args=[complaint.pk, step])


def change_url(complaint):
    return reverse("admin:complaints_complaint_change", args=[complaint.pk])


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def register(desk, no_rest_window, head):
    def make(now=NOW, **extra):
        return complaint_register(
            **{
                "channel": "on_site",
                "category": "attitude",
                "complainant_name": "李四",
                "complainant_phone": "13800138000",
                "text": "窗口人员态度生硬。",
                "window": no_rest_window,
                "staff": head,
                "actor": desk,
                "now": now,
                **extra,
            }
        )

    return make


@pytest.fixture
def complaint(register):
    return register()


@pytest.fixture
def handler(client, supervisor):
    client.force_login(supervisor)
    return client


def state_of(complaint):
    return Complaint.objects.get(pk=complaint.pk).state


# --- steps in the console ---------------------------------------------------------------------


class TestSteps:
    def test_buttons_are_offered_by_state_and_only_to_handlers(
        self, client, complaint, supervisor, desk
    ):
        """GB/T 36113: a registered complaint offers accept / do not accept to handlers."""
        client.force_login(supervisor)
        page = client.get(change_url(complaint)).content.decode()
        assert step_url(complaint, "accept") in page and step_url(complaint, "refuse") in page
        assert step_url(complaint, "reply") not in page
        client.force_login(desk)
        page = client.get(change_url(complaint)).content.decode()
        assert "/step/" not in page
        assert client.get(step_url(complaint, "accept")).status_code == 403

    def test_the_whole_procedure_through_the_console(
        self, handler, complaint, supervisor, department, no_rest_window, head
    ):
        """GB/T 36113, DB1403/T 7.3: every step through its form, recorded with who."""
        posts = [
            ("accept", {"handler": supervisor.pk}),
            ("refer", {"referred_department": department.pk, "note": "转市场监管局"}),
            (
                "investigate",
                {
                    "findings": "属实",
                    "attachment": SimpleUploadedFile("photo.jpg", JPEG, "image/jpeg"),
                },
            ),
            ("attach", {"attachment": SimpleUploadedFile("report.pdf", PDF, "application/pdf")}),
            (
                "decide",
                {
                    "substantiated": "yes",
                    "window": no_rest_window.pk,
                    "staff": head.pk,
                    "measures": "批评教育",
                },
            ),
            ("reply", {"reply_method": "phone", "reply_text": "已处理"}),
            ("follow_up", {"satisfied": "yes", "note": ""}),
            ("archive", {}),
        ]
        for step, data in posts:
            response = handler.post(step_url(complaint, step), data)
            assert response.status_code == 302, (step, response.content.decode()[-3000:])
            assert response["Location"] == change_url(complaint)
        complaint.refresh_from_db()
        assert complaint.state == S.ARCHIVED
        assert complaint.substantiated is True and complaint.satisfied is True
        assert complaint.decided_at is not None
        assert complaint.attachments.count() == 2
        assert {s.actor for s in complaint.steps.exclude(to_state=S.REGISTERED)} == {supervisor}

    def test_refuse_settle_and_complex_accept(self, handler, register):
        refused = register()
        response = handler.post(
            step_url(refused, "refuse"), {"refusal_reason": "duplicate", "note": "已告知"}
        )
        assert response.status_code == 302 and state_of(refused) == S.NOT_ACCEPTED
        settled = register()
        handler.post(step_url(settled, "accept"), {"is_complex": "on"})
        assert Complaint.objects.get(pk=settled.pk).is_complex is True
        handler.post(step_url(settled, "settle"), {"result": "当场协调解决"})
        assert state_of(settled) == S.SETTLED

    def test_a_step_out_of_order_is_a_message_not_an_error(self, handler, complaint):
        """GB/T 36113: replying to a registered complaint is refused with a message."""
        response = handler.post(
            step_url(complaint, "reply"), {"reply_method": "phone", "reply_text": "x"}, follow=True
        )
        assert response.status_code == 200
        assert "“答复”" in response.content.decode() or "Reply" in response.content.decode()
        assert state_of(complaint) == S.REGISTERED

    def test_a_state_change_meanwhile_is_shown_by_the_form(self, handler, complaint, supervisor):
        """Another handler refused the complaint while this one had the accept form open."""
        page = handler.get(step_url(complaint, "accept"))
        assert page.status_code == 200
        complaint_refuse(complaint=complaint, reason="duplicate", actor=supervisor, now=NOW)
        response = handler.post(step_url(complaint, "accept"), {}, follow=True)
        assert response.status_code == 200
        assert state_of(complaint) == S.NOT_ACCEPTED

    @pytest.mark.parametrize(
        "step, data, field",
        [
            ("refuse", {"refusal_reason": "busy"}, "refusal_reason"),
            ("investigate", {"findings": "   "}, "findings"),
        ],
    )
    def test_bad_fields_are_shown_next_to_the_field(
        self, handler, complaint, supervisor, step, data, field
    ):
        if step == "investigate":
            complaint_accept(complaint=complaint, actor=supervisor, now=NOW)
        response = handler.post(step_url(complaint, step), data)
        assert response.status_code == 200
        assert f"field-{field} errors" in response.content.decode()

    def test_decide_substantiated_without_measures_is_refused(self, handler, complaint, supervisor):
        complaint_accept(complaint=complaint, actor=supervisor, now=NOW)
        complaint_investigate(complaint=complaint, findings="属实", actor=supervisor, now=NOW)
        response = handler.post(step_url(complaint, "decide"), {"substantiated": "yes"})
        assert response.status_code == 200
        assert "field-measures errors" in response.content.decode()
        assert state_of(complaint) == S.INVESTIGATED

    def test_unknown_step_or_complaint_is_404(self, handler, complaint):
        assert handler.get(step_url(complaint, "teleport")).status_code == 404
        url = reverse("admin:complaints_complaint_step", args=[999999, "accept"])
        assert handler.get(url).status_code == 404

    def test_a_handler_of_another_hall_gets_no_buttons(
        self, client, complaint, make_user, other_hall
    ):
        client.force_login(make_user("elsewhere", "supervisor", other_hall))
        assert client.get(step_url(complaint, "accept")).status_code == 404


# --- attachments ------------------------------------------------------------------------------


class TestAttachments:
    @pytest.fixture
    def investigating(self, complaint, supervisor):
        return complaint_accept(complaint=complaint, actor=supervisor, now=NOW)

    @pytest.mark.parametrize(
        "name, content",
        [
            ("photo.jpg", JPEG),
            ("photo.JPEG", JPEG),
            ("scan.png", PNG),
            ("report.pdf", PDF),
        ],
    )
    def test_images_and_pdfs_are_accepted(self, handler, investigating, name, content):
        response = handler.post(
            step_url(investigating, "attach"), {"attachment": SimpleUploadedFile(name, content)}
        )
        assert response.status_code == 302
        attachment = ComplaintAttachment.objects.get()
        assert attachment.original_name == name and attachment.size == len(content)
        assert name not in attachment.file.name  # stored under a random name

    @pytest.mark.parametrize(
        "name, content",
        [
            ("evil.pdf", b"MZ\x90\x00 not a pdf"),  # the name lies
            ("photo.exe", JPEG),  # the name is not an image's
            ("page.html", b"<html><script>alert(1)</script>"),
            ("empty.png", b""),
        ],
    )
    def test_other_files_are_refused_and_the_investigation_not_saved(
        self, handler, investigating, name, content
    ):
        """GB/T 36113 调查核实: only JPEG/PNG/PDF by their bytes; nothing half-saved."""
        response = handler.post(
            step_url(investigating, "investigate"),
            {"findings": "属实", "attachment": SimpleUploadedFile(name, content)},
        )
        assert response.status_code == 200
        assert "field-attachment errors" in response.content.decode()
        assert state_of(investigating) == S.ACCEPTED
        assert not ComplaintAttachment.objects.exists()

    def test_too_large_is_refused(self, handler, investigating, settings):
        settings.COMPLAINT_ATTACHMENT_MAX_BYTES = 100
        response = handler.post(
            step_url(investigating, "attach"),
            {"attachment": SimpleUploadedFile("big.pdf", PDF + b"0" * 100)},
        )
        assert response.status_code == 200
        assert "field-attachment errors" in response.content.decode()
        assert not ComplaintAttachment.objects.exists()

    def test_served_to_handlers_only(
        self, client, investigating, supervisor, desk, head, make_user, other_hall
    ):
        client.force_login(supervisor)
        client.post(
            step_url(investigating, "attach"),
            {"attachment": SimpleUploadedFile("report.pdf", PDF)},
        )
        attachment = ComplaintAttachment.objects.get()
        url = reverse("admin:complaints_attachment", args=[attachment.pk])
        assert url in client.get(change_url(investigating)).content.decode()
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert b"".join(response.streaming_content) == PDF
        client.force_login(desk)  # registers complaints, does not handle them
        assert client.get(url).status_code == 403
        assert url not in client.get(change_url(investigating)).content.decode()
        client.force_login(head)
        assert client.get(url).status_code in (302, 403, 404)
        client.force_login(make_user("elsewhere", "supervisor", other_hall))
        assert client.get(url).status_code in (403, 404)
        client.logout()
        assert client.get(url).status_code == 302  # to the login page
        assert not str(attachment.file.name).startswith("/")

    def test_not_after_the_decision(self, complaint, supervisor):
        from django.core.exceptions import ValidationError

        from complaints.services import complaint_attachment_add

        with pytest.raises(ValidationError) as excinfo:
            complaint_attachment_add(
                complaint=complaint,
                file=SimpleUploadedFile("a.pdf", PDF),
                actor=supervisor,
                now=NOW,
            )
        assert excinfo.value.error_dict["state"][0].code == "invalid_state"


# --- overdue ----------------------------------------------------------------------------------


class TestOverdue:
    def test_filter_and_flag_use_the_sweeps_rule(self, handler, register, supervisor):
        """GB/T 36113 (local deadlines): National Day 2026 — received 09-30, due 10-08."""
        late = register(now=at(2026, 9, 30, 9, 0))
        fresh = register(now=at(2026, 10, 8, 9, 0))
        complaint_accept(complaint=fresh, actor=supervisor, now=at(2026, 10, 8, 10, 0))
        with time_machine.travel(at(2026, 10, 9, 9, 0), tick=False):
            page = handler.get(LIST_URL, {"overdue": "yes"}).content.decode()
            assert late.tracking_number in page and fresh.tracking_number not in page
            assert 'class="overdue"' in page
            page = handler.get(LIST_URL, {"overdue": "no"}).content.decode()
            assert fresh.tracking_number in page and late.tracking_number not in page
            assert 'class="overdue"' not in page
            banner = handler.get(change_url(late)).content.decode()
            assert 'id="overdue"' in banner and "2026-10-08" in banner  # the acceptance date
        with time_machine.travel(at(2026, 10, 13, 9, 0), tick=False):  # reply due 10-10
            page = handler.get(LIST_URL, {"overdue": "yes"}).content.decode()
            assert late.tracking_number in page and fresh.tracking_number in page
            banner = handler.get(change_url(fresh)).content.decode()
            assert 'id="overdue"' in banner and "2026-10-10" in banner  # the reply date


# --- figures (hand-counted) -------------------------------------------------------------------


class TestFigures:
    """September 2026 for the city hall, counted by hand:

    a: received 09-14, accepted 09-14 (due 09-15), decided substantiated 09-15, replied 09-15
       (due 09-16), followed up satisfied 09-16.
    b: received 09-14, accepted 09-16 (late: due 09-15), decided not substantiated 09-17,
       replied 09-22 (late: due 09-18), followed up not satisfied 09-23.
    c: received 09-14, refused 09-15 (on time).
    d: received 09-21, never answered (due 09-22: late).
    e: received 09-21, accepted 09-21, settled on the spot 09-21 (replied on time), followed up
       satisfied 09-22.
    f: received 08-31 (not September), accepted 08-31, reply due 09-02, never replied: due in
       September and unreplied.
    g: received 09-28, accepted 09-28, reply due 09-30, not replied; ``now`` is 09-30, so it is
       not yet due.

    h: received 09-30 09:00, not answered; ``now`` is 09-30 12:00 and it may be accepted until
       10-08 (after National Day), so its response is not judged yet.

    received 7 (a–e, g, h); response due 6 (all but h); responded 4 (a, c, e, g) → 66.67 %.
    completion due: a, b, e (replied in Sept.) + f (due, unreplied) = 4; on time a, e → 50 %.
    decided 2 (a, b); substantiated 1 → 50 %. followed up 3 (a, b, e); satisfied 2 → 66.67 %.
    """

    @pytest.fixture
    def month(self, register, supervisor, no_rest_window, head):
        def walk(received, accepted=None, decided=None, substantiated=None, replied=None):
            c = register(now=received)
            if accepted:
                complaint_accept(complaint=c, actor=supervisor, now=accepted)
            if decided:
                complaint_investigate(complaint=c, findings="查", actor=supervisor, now=decided)
                complaint_decide(
                    complaint=c,
                    substantiated=substantiated,
                    window=no_rest_window,
                    staff=head,
                    measures="整改" if substantiated else "",
                    actor=supervisor,
                    now=decided,
                )
            if replied:
                complaint_reply(
                    complaint=c, method="phone", text="答复", actor=supervisor, now=replied
                )
            return c

        a = walk(at(2026, 9, 14, 9), at(2026, 9, 14, 10), at(2026, 9, 15, 9), True)
        complaint_reply(
            complaint=a, method="sms", text="r", actor=supervisor, now=at(2026, 9, 15, 10)
        )
        complaint_follow_up(complaint=a, satisfied=True, actor=supervisor, now=at(2026, 9, 16, 9))
        b = walk(at(2026, 9, 14, 9), at(2026, 9, 16, 9), at(2026, 9, 17, 9), False)
        complaint_reply(
            complaint=b, method="sms", text="r", actor=supervisor, now=at(2026, 9, 22, 9)
        )
        complaint_follow_up(complaint=b, satisfied=False, actor=supervisor, now=at(2026, 9, 23, 9))
        c = walk(at(2026, 9, 14, 9))
        complaint_refuse(complaint=c, reason="duplicate", actor=supervisor, now=at(2026, 9, 15, 9))
        walk(at(2026, 9, 21, 9))  # d
        e = walk(at(2026, 9, 21, 9), at(2026, 9, 21, 10))
        complaint_settle_on_spot(
            complaint=e, result="好", actor=supervisor, now=at(2026, 9, 21, 11)
        )
        complaint_follow_up(complaint=e, satisfied=True, actor=supervisor, now=at(2026, 9, 22, 9))
        walk(at(2026, 8, 31, 9), at(2026, 8, 31, 10))  # f
        walk(at(2026, 9, 28, 9), at(2026, 9, 28, 10))  # g
        walk(at(2026, 9, 30, 9))  # h
        return a, b

    def test_monthly_figures(self, month, hall):
        """DB1403/T 7.3, 7.4, GB/T 36113 metrics, by hand."""
        figures = complaint_figures(
            hall_id=hall.pk, month=dt.date(2026, 9, 1), now=at(2026, 9, 30, 12)
        )
        assert (figures["received"], figures["response_due"], figures["responded"]) == (7, 6, 4)
        assert figures["response_rate"] == 0.6667
        assert (figures["completion_due"], figures["completed_on_time"]) == (4, 2)
        assert figures["on_time_rate"] == 0.5
        assert (figures["decided"], figures["substantiated"]) == (2, 1)
        assert figures["substantiated_rate"] == 0.5
        assert (figures["followed_up"], figures["satisfied"]) == (3, 2)
        assert figures["satisfaction_rate"] == 0.6667
        # Any day of the month names the month; all halls give the same here.
        assert complaint_figures(
            hall_id=None, month=dt.date(2026, 9, 17), now=at(2026, 9, 30, 12)
        ) == {**figures, "hall_id": None}

    def test_an_empty_month_has_no_rates(self, hall):
        figures = complaint_figures(hall_id=hall.pk, month=dt.date(2026, 7, 1), now=NOW)
        assert figures["received"] == 0 and figures["response_rate"] is None

    def test_figures_page(self, handler, month, hall):
        url = reverse("admin:complaints_figures")
        assert url in handler.get(LIST_URL).content.decode()
        page = handler.get(url, {"hall": hall.pk, "month": "2026-09"}).content.decode()
        assert 'id="figures"' in page, page[page.find("content-main") :][:3000]
        assert "67 %" in page and "50 %" in page
        assert handler.get(url, {"month": "garbage"}).status_code == 200

    def test_figures_page_opens_on_this_month(self, handler, month, hall):
        """Without a query the page shows this month's figures at once, not an empty form."""
        with time_machine.travel(at(2026, 9, 30, 12), tick=False):
            page = handler.get(reverse("admin:complaints_figures")).content.decode()
        assert 'id="figures"' in page
        assert 'value="2026-09"' in page and "67 %" in page

    def test_substantiated_counts_for_the_assessment(self, month, hall, no_rest_window, head):
        """DB1403/T 7.4: substantiated complaints by decision date, per window and staff."""
        result = substantiated_complaints(
            hall_id=hall.pk, start=dt.date(2026, 9, 15), end=dt.date(2026, 9, 15)
        )
        assert result == {"by_window": {no_rest_window.pk: 1}, "by_staff": {head.pk: 1}}
        assert substantiated_complaints(
            hall_id=hall.pk, start=dt.date(2026, 9, 16), end=dt.date(2026, 9, 30)
        ) == {"by_window": {}, "by_staff": {}}
        assert substantiated_complaints(
            hall_id=None, start=dt.date(2026, 9, 1), end=dt.date(2026, 9, 30)
        ) == {"by_window": {no_rest_window.pk: 1}, "by_staff": {head.pk: 1}}

    def test_substantiated_against_another_window_of_the_hall(
        self, register, supervisor, hall, regular_window
    ):
        c = register()
        complaint_accept(complaint=c, actor=supervisor, now=NOW)
        complaint_investigate(complaint=c, findings="查", actor=supervisor, now=NOW)
        complaint_decide(
            complaint=c,
            substantiated=True,
            window=regular_window,
            measures="整改",
            actor=supervisor,
            now=at(2026, 9, 14, 23, 59),
        )
        result = substantiated_complaints(
            hall_id=hall.pk, start=dt.date(2026, 9, 14), end=dt.date(2026, 9, 14)
        )
        assert result["by_window"] == {regular_window.pk: 1}
        assert Window.objects.count() == 2

    def test_archived_complaints_still_count(self, month, supervisor, hall):
        a, _b = month
        complaint_archive(complaint=a, actor=supervisor, now=at(2026, 9, 30, 9))
        result = substantiated_complaints(
            hall_id=hall.pk, start=dt.date(2026, 9, 1), end=dt.date(2026, 9, 30)
        )
        assert sum(result["by_window"].values()) == 1


def test_register_form_picks_the_booking_by_search(client, desk):
    """A complaint's booking is found by search (autocomplete), not chosen from a <select>
    holding every booking of the hall."""
    client.force_login(desk)
    page = client.get(reverse("admin:complaints_complaint_add")).content.decode()
    assert 'data-model-name="appointment"' in page or "admin-autocomplete" in page
