"""好差评 on the citizen site and in the console (DB1403/T 8.2; 国办发〔2019〕51号): the SMS link
page end to end without JavaScript, "My booking" → rate, the QR code on the console's served
booking page, and the console's rating, bad-review and appeal pages."""

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse

from evaluation.models import BadReviewCase, Rating, RatingAppeal
from evaluation.ratings import rating_link_make
from sms.models import Message

from .conftest import START, at
from .test_ratings import BAD, GOOD, M, rate

DAY = dt.timedelta(days=1)
PHONE = "13800138000"
E164 = "+8613800138000"
LEVELS = ("overall", "efficiency", "service_level", "attitude")


@pytest.fixture
def serve(matter, no_rest_window, desk, window_staff):
    from appointments.services import (
        appointment_check_in,
        appointment_register,
        appointment_serve,
    )

    def make(start=START, phone=PHONE):
        appointment = appointment_register(
            matter=matter,
            window=no_rest_window,
            start=start,
            applicant_name="张伟",
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


def sms_link(appointment) -> str:
    """The path of the rating link in the invitation SMS, as the citizen's phone opens it."""
    text = Message.objects.about(appointment).get(purpose=Message.Purpose.RATING_INVITATION).text
    return re.search(r"https?://[^/]+(/rate/\S+?/)", text).group(1)


class TestRatingPage:
    """The page the SMS link opens: five levels for each of the four items, none chosen."""

    def test_end_to_end_without_javascript(self, client, served):
        link = sms_link(served)
        with time_machine.travel(served.served_at + dt.timedelta(hours=2), tick=False):
            page = client.get(link)
            assert page.status_code == 200
            html = page.content.decode()
            for field in LEVELS:
                assert html.count(f'name="{field}"') == 5
            assert not re.search(r"<input[^>]*checked", html)  # no default level
            assert "<legend>" in html and "非常满意" in html and "非常不满意" in html
            assert served.reference in html

            # A missing level is shown next to its group; nothing is recorded.
            missing = client.post(link, {**GOOD, "attitude": ""})
            assert missing.status_code == 200
            assert "attitude-errors" in missing.content.decode()
            assert not Rating.objects.exists()

            done = client.post(link, {**GOOD, "comment": "办事很快"})
            assert done.status_code == 302 and done["Location"] == reverse("rate:thanks")
            thanks = client.get(done["Location"])
            assert thanks.status_code == 200
            assert "bad-review-note" not in thanks.content.decode()
            rating = Rating.objects.get(appointment=served)
            assert rating.source == "sms_link" and rating.comment == "办事很快"
            assert rating.entered_by is None

            again = client.get(link)
            assert again.status_code == 200
            assert "rate-refused" in again.content.decode()
            posted = client.post(link, GOOD)
            assert posted.status_code == 200
            assert Rating.objects.count() == 1

    def test_bad_review_thanks_promises_contact(self, client, served):
        link = sms_link(served)
        with time_machine.travel(served.served_at + M, tick=False):
            response = client.post(link, BAD, follow=True)
        assert response.status_code == 200
        assert BadReviewCase.objects.filter(rating__appointment=served).exists()
        assert 'class="bad-review-note"' in response.content.decode()

    def test_expired_link(self, client, served):
        link = sms_link(served)
        with time_machine.travel(served.served_at + 7 * DAY, tick=False):
            response = client.get(link)
            assert response.status_code == 410
            assert client.post(link, GOOD).status_code == 410
        with time_machine.travel(served.served_at + 7 * DAY - M, tick=False):
            assert client.get(link).status_code == 200
        assert not Rating.objects.exists()

    def test_tampered_link(self, client, served):
        link = sms_link(served)
        forged = link[:-3] + ("x" if link[-3] != "x" else "y") + link[-2:]
        with time_machine.travel(served.served_at + M, tick=False):
            for path in (forged, "/rate/abc/", "/rate/%00/", "/rate/a:b:c/"):
                response = client.get(path)
                assert response.status_code == 404, path
                assert client.post(path, GOOD).status_code == 404
        assert not Rating.objects.exists()

    def test_english_page(self, client, served):
        link = sms_link(served)
        with time_machine.travel(served.served_at + M, tick=False):
            response = client.get("/en" + link)
        assert response.status_code == 200
        assert "very satisfied" in response.content.decode()

    def test_window_qr_link_records_the_qr(self, client, served):
        token = rating_link_make(appointment=served, now=served.served_at, source="window_qr")
        with time_machine.travel(served.served_at + M, tick=False):
            client.post(reverse("rate:rate", args=[token]), GOOD)
        assert Rating.objects.get().source == "window_qr"

    def test_thanks_without_a_rating_goes_home(self, client, db):
        response = client.get(reverse("rate:thanks"))
        assert response.status_code == 302


class TestMyBooking:
    """ "My booking" shows "rate this service" for a served, unrated booking whose number the
    citizen proved; the rating is recorded as from "My booking"."""

    def prove(self, client, sms_inbox, appointment):
        client.post(reverse("public:lookup"), {"reference": appointment.reference, "phone": PHONE})
        response = client.post(reverse("public:lookup_verify"), {"code": sms_inbox.last_code(E164)})
        assert response["Location"] == reverse("public:booking", args=[appointment.reference])

    def test_rate_from_my_booking(self, client, sms_inbox, served):
        with time_machine.travel(served.served_at + dt.timedelta(hours=3), tick=False):
            self.prove(client, sms_inbox, served)
            page = client.get(reverse("public:booking", args=[served.reference])).content.decode()
            rate_url = reverse("rate:booking", args=[served.reference])
            assert rate_url in page
            assert client.get(rate_url).status_code == 200
            response = client.post(rate_url, GOOD)
            assert response["Location"] == reverse("rate:thanks")
            rating = Rating.objects.get()
            assert rating.source == "my_booking"
            page = client.get(reverse("public:booking", args=[served.reference])).content.decode()
            assert rate_url not in page
            again = client.get(rate_url)
            assert again.status_code == 302
            assert again["Location"] == reverse("public:booking", args=[served.reference])

    def test_no_button_before_serving(self, client, sms_inbox, accepted):
        with time_machine.travel(START - DAY, tick=False):
            self.prove(client, sms_inbox, accepted)
            page = client.get(reverse("public:booking", args=[accepted.reference]))
            rate_url = reverse("rate:booking", args=[accepted.reference])
            assert rate_url not in page.content.decode()
            assert client.get(rate_url).status_code == 302
            assert client.post(rate_url, GOOD).status_code == 302
        assert not Rating.objects.exists()

    def test_rate_page_needs_proof(self, client, served):
        with time_machine.travel(served.served_at + M, tick=False):
            response = client.get(reverse("rate:booking", args=[served.reference]))
            assert response.status_code == 404
            assert client.post(reverse("rate:booking", args=[served.reference]), GOOD).status_code
        assert not Rating.objects.exists()


# --- the console ----------------------------------------------------------------------------------


class TestConsoleQr:
    """The applicant scans a QR code of the signed link at the window."""

    def test_served_booking_page_shows_the_qr(self, client, served, window_staff):
        client.force_login(window_staff)
        url = reverse("admin:appointments_appointment_change", args=[served.pk])
        with time_machine.travel(served.served_at + M, tick=False):
            html = client.get(url).content.decode()
            assert 'id="rating-qr"' in html and "<svg" in html and "/rate/" in html
            token = re.search(r"/rate/([^/<\s]+)/", html).group(1)
            client.logout()
            client.post(reverse("rate:rate", args=[token]), GOOD)
            assert Rating.objects.get().source == "window_qr"
            client.force_login(window_staff)
            html = client.get(url).content.decode()
            assert "/rate/" not in html
            assert reverse("admin:evaluation_rating_change", args=[Rating.objects.get().pk]) in html

    def test_no_qr_before_serving(self, client, accepted, window_staff):
        client.force_login(window_staff)
        url = reverse("admin:appointments_appointment_change", args=[accepted.pk])
        assert 'id="rating-qr"' not in client.get(url).content.decode()


class TestConsoleRatings:
    """Ratings in the console: read-only, hall-scoped, never deleted; a paper form is the only
    thing added, by the desk."""

    def test_list_is_read_only_and_flat_in_queries(
        self, client, serve, supervisor, django_assert_max_num_queries
    ):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        client.force_login(supervisor)
        url = reverse("admin:evaluation_rating_changelist")
        counts = []
        # Working days of September 2026 after START (weekends have other hours).
        days = [1, 2, 5, 6, 7, 8, 12, 13, 14]
        for first, last in ((0, 1), (1, 9)):
            for day in days[first:last]:
                appointment = serve(start=START + day * DAY, phone=f"1380013{8000 + day}")
                rate(appointment, appointment.served_at + M, levels=BAD if day % 2 else GOOD)
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            assert response.status_code == 200
            counts.append(len(queries))
        assert counts[0] == counts[1], counts
        html = response.content.decode()
        references = Rating.objects.values_list("appointment__reference", flat=True)
        assert len(references) == 9 and all(ref in html for ref in references)
        rating = Rating.objects.first()
        change = client.get(reverse("admin:evaluation_rating_change", args=[rating.pk]))
        assert change.status_code == 200 and b'name="overall"' not in change.content
        delete = client.post(reverse("admin:evaluation_rating_delete", args=[rating.pk]))
        assert delete.status_code == 403
        assert Rating.objects.filter(pk=rating.pk).exists()

    def test_other_hall_sees_nothing(self, client, served, make_user, other_hall):
        rating = rate(served, served.served_at + M)
        outsider = make_user("outsider", "supervisor", other_hall)
        client.force_login(outsider)
        response = client.get(reverse("admin:evaluation_rating_change", args=[rating.pk]))
        assert response.status_code == 302  # the admin's "does not exist" redirect

    def test_desk_enters_a_paper_form(self, client, served, desk):
        client.force_login(desk)
        url = reverse("admin:evaluation_rating_add")
        page = client.get(url)
        assert page.status_code == 200 and b'type="radio"' in page.content
        assert b"checked" not in page.content
        missing = client.post(url, {"reference": served.reference, "overall": "5"})
        assert missing.status_code == 200 and not Rating.objects.exists()
        response = client.post(
            url, {"reference": served.reference.lower(), **GOOD, "comment": "纸质评价表"}
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        rating = Rating.objects.get()
        assert rating.source == "paper" and rating.entered_by == desk
        again = client.post(url, {"reference": served.reference, **GOOD})
        assert again.status_code == 200 and Rating.objects.count() == 1

    def test_window_staff_cannot_add(self, client, served, window_staff):
        client.force_login(window_staff)
        assert client.get(reverse("admin:evaluation_rating_add")).status_code == 403


class TestConsoleBadReviews:
    def test_steps_by_buttons(self, client, served, head):
        rating = rate(served, served.served_at + M, levels=BAD)
        case = rating.case
        client.force_login(head)
        url = reverse("admin:evaluation_badreviewcase_change", args=[case.pk])
        html = client.get(url).content.decode()
        contact_url = reverse("admin:evaluation_badreviewcase_step", args=[case.pk, "contact"])
        assert contact_url in html and "step-rectify" not in html
        # Out of order through the URL: refused with a message, nothing changes.
        rectify_url = reverse("admin:evaluation_badreviewcase_step", args=[case.pk, "rectify"])
        assert client.get(rectify_url).status_code == 302
        empty = client.post(contact_url, {"verified": "yes", "note": ""})
        assert empty.status_code == 200
        response = client.post(contact_url, {"verified": "yes", "note": "电话核实属实"})
        assert response.status_code == 302
        case.refresh_from_db()
        assert case.state == "contacted" and case.verified is True
        response = client.post(rectify_url, {"rectification": "培训"})
        assert response.status_code == 302
        case.refresh_from_db()
        assert case.state == "rectified"

    def test_the_rater_is_masked_for_the_window_staff_shown_to_the_head(
        self, client, served, head, window_staff
    ):
        """国办发〔2019〕51号 (rater data protected): the head who contacts the rater sees the
        name and number; the window's staff — the person rated among them — see them masked."""
        rating = rate(served, served.served_at + M, levels=BAD)
        url = reverse("admin:evaluation_badreviewcase_change", args=[rating.case.pk])
        client.force_login(head)
        html = client.get(url).content.decode()
        assert "张伟" in html and "138 0013 8000" in html
        client.force_login(window_staff)
        html = client.get(url).content.decode()
        assert "张伟" not in html and "张*" in html
        assert "138****8000" in html

    def test_a_step_page_needs_the_right_to_see_bad_reviews(self, client, served, head, desk):
        """好差评 (DB1403/T 8.2): the desk may register complaints but not read bad-review cases;
        the "turn into a complaint" page must not show them the rater, the levels and the
        comment that the case's own page refuses them."""
        from evaluation.ratings import bad_review_contact

        rating = rate(served, served.served_at + M, levels=BAD)
        bad_review_contact(
            case=rating.case, actor=head, verified=True, note="核实属实", now=served.served_at + M
        )
        client.force_login(desk)
        change = reverse("admin:evaluation_badreviewcase_change", args=[rating.case.pk])
        assert client.get(change).status_code == 403
        step = reverse("admin:evaluation_badreviewcase_step", args=[rating.case.pk, "complaint"])
        response = client.get(step)
        assert response.status_code == 403
        assert "态度差" not in response.content.decode()

    def test_overdue_filter(self, client, serve, head, supervisor):
        late = serve(start=at(2026, 9, 30, 12))
        rate(late, late.served_at + M, levels=BAD)
        client.force_login(supervisor)
        url = reverse("admin:evaluation_badreviewcase_changelist") + "?overdue=yes"
        with time_machine.travel(at(2026, 10, 8, 12), tick=False):
            assert late.reference not in client.get(url).content.decode()
        with time_machine.travel(at(2026, 10, 9, 9), tick=False):
            assert late.reference in client.get(url).content.decode()


class TestConsoleAppeals:
    def test_file_from_the_rating_and_review(self, client, served, head, supervisor):
        rating = rate(served, served.served_at + M, levels=BAD)
        client.force_login(head)
        page = client.get(reverse("admin:evaluation_rating_change", args=[rating.pk]))
        add_url = reverse("admin:evaluation_ratingappeal_add")
        assert f"{add_url}?rating={rating.pk}" in page.content.decode()
        response = client.post(add_url, {"rating": rating.pk, "reason": "误操作"})
        assert response.status_code == 302, response.content.decode()[:3000]
        appeal = RatingAppeal.objects.get()
        assert appeal.appealed_by == head
        review_url = reverse("admin:evaluation_ratingappeal_review", args=[appeal.pk])
        assert client.get(review_url).status_code == 403  # heads do not review
        client.force_login(supervisor)
        page = client.get(reverse("admin:evaluation_ratingappeal_change", args=[appeal.pk]))
        assert review_url in page.content.decode()
        response = client.post(review_url, {"upheld": "yes", "note": "核实为误评"})
        assert response.status_code == 302
        rating.refresh_from_db()
        assert rating.excluded and Rating.objects.filter(pk=rating.pk).exists()

    def test_window_staff_cannot_file(self, client, served, window_staff):
        rate(served, served.served_at + M, levels=BAD)
        client.force_login(window_staff)
        assert client.get(reverse("admin:evaluation_ratingappeal_add")).status_code == 403

    def test_the_rating_box_does_not_name_another_halls_rating(
        self, client, served, make_user, other_hall
    ):
        """Hall scoping (DB1403/T 8.2 申诉复核): the appeal form's rating box must not show the
        booking reference of another hall's rating when its id is typed in or put in the URL."""
        rating = rate(served, served.served_at + M, levels=BAD)
        client.force_login(make_user("far_head", "window_head", other_hall))
        add_url = reverse("admin:evaluation_ratingappeal_add")
        page = client.get(f"{add_url}?rating={rating.pk}")
        assert page.status_code == 200
        assert served.reference not in page.content.decode()
        posted = client.post(add_url, {"rating": rating.pk, "reason": "误操作"})
        assert posted.status_code == 200 and not RatingAppeal.objects.exists()
        assert served.reference not in posted.content.decode()
