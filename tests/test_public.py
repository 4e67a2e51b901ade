"""The citizen site without JavaScript: book, confirm, find again, cancel (DB1403/T 5.1)."""

import datetime as dt
import re

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from appointments.models import Appointment, Status
from tests.conftest import START, at

NOW = START - dt.timedelta(days=3)
MOBILE = "137 0013 7000"
E164 = "+8613700137000"


@pytest.fixture
def site(client, db):
    cache.clear()
    with time_machine.travel(NOW, tick=False) as traveller:
        client.traveller = traveller
        yield client


def book_url(matter, window, start=START):
    return reverse("public:book", args=[matter.pk]) + "?" + _query(window, start)


def _query(window, start):
    from urllib.parse import urlencode

    return urlencode({"window": window.pk, "start": start.isoformat()})


def book_through(site, sms_inbox, matter, window, start=START, phone=MOBILE, e164=E164):
    response = site.post(
        book_url(matter, window, start),
        {"applicant_name": "李娜", "phone": phone, "content": "营业执照"},
    )
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == reverse("public:book_verify")
    code = sms_inbox.last_code(e164)
    return site.post(reverse("public:book_verify"), {"code": code})


def test_home_explains_the_service_and_lists_matters(site, matter, hall):
    """DB1403/T 3, 4 and 6.2.6: off-hours and holidays by appointment, free of charge."""
    page = site.get("/").content.decode()
    assert "免费" in page
    assert "24" in page
    assert matter.name in page
    assert "09:00–12:00" in page  # the phone line's hours (5.1.3 b)
    assert matter.name not in site.get("/?q=不存在的事项").content.decode()
    assert matter.name in site.get("/?q=个体").content.decode()


def test_english_is_available(site, matter):
    page = site.get("/en/").content.decode()
    assert "free of charge" in page


@pytest.mark.parametrize(
    "path",
    ["/", "/matters/{matter}/?day=2026-09-16", "/my/", "/complaints/", "/ratings/", "/rate/x/"],
)
def test_the_language_switch_goes_to_english_and_back_on_every_page(site, matter, path):
    """中文 on an /en/ page leads back to the page without the prefix (it used to stay on
    /en/…: set_language resolved the English path in Chinese, found nothing and kept it)."""
    path = path.format(matter=matter.pk)
    switch = reverse("set_language")
    to_english = site.post(switch, {"language": "en", "next": path})
    assert to_english.status_code == 302 and to_english["Location"] == "/en" + path
    back = site.post(switch, {"language": "zh-hans", "next": to_english["Location"]})
    assert back.status_code == 302 and back["Location"] == path
    assert site.get("/").content.decode().count("网上预约") >= 1


def test_an_unknown_page_is_a_404_in_the_sites_look_in_chinese_and_in_english(site):
    page = site.get("/bookings/NOSUCH00/")
    assert page.status_code == 404
    text = page.content.decode()
    assert '<html lang="zh-Hans">' in text and "页面不存在" in text and "我的预约" in text
    assert "Not Found" not in text
    assert "NOSUCH00" not in text  # an unknown address (a reference, a token) is not echoed
    english = site.get("/en/bookings/NOSUCH00/")
    assert english.status_code == 404 and "Page not found" in english.content.decode()


def test_an_unknown_console_page_is_a_404_in_the_consoles_look(site, supervisor):
    site.force_login(supervisor)
    page = site.get("/admin/no-such-page/")
    assert page.status_code == 404
    text = page.content.decode()
    assert "页面不存在" in text and 'id="site-name"' in text and "我的预约" not in text


def test_favicon_is_served(site):
    """Browsers ask for /favicon.ico on every page; it leads to the static icon."""
    answer = site.get("/favicon.ico")
    assert answer.status_code == 302 and answer["Location"] == "/static/yuyue/favicon.ico"
    assert 'rel="icon" href="/static/yuyue/favicon.ico"' in site.get("/").content.decode()


def test_matter_page_shows_materials_and_slots_from_24h(site, matter, no_rest_window):
    """DB1403/T 6.1.3 (materials in one go) and 5.1.1 (no slot under 24 h ahead)."""
    url = reverse("public:matter", args=[matter.pk])
    site.traveller.move_to(START - dt.timedelta(hours=24))
    page = site.get(url + "?day=2026-09-16").content.decode()
    assert "经营者身份证原件" in page and "经营场所使用证明" in page
    assert _query(no_rest_window, START).split("&")[1].replace("start=", "") in page
    site.traveller.move_to(START - dt.timedelta(hours=23, minutes=59))
    page = site.get(url + "?day=2026-09-16").content.decode()
    assert _query(no_rest_window, START).split("&")[1].replace("start=", "") not in page


def test_matter_page_marks_off_hours_weekends_and_holidays(site, matter):
    url = reverse("public:matter", args=[matter.pk])
    page = site.get(url + "?from=2026-09-17&day=2026-09-19").content.decode()
    assert 'class="tag weekend"' in page
    site.traveller.move_to(at(2026, 9, 28, 9))
    page = site.get(url + "?from=2026-09-30&day=2026-10-01").content.decode()
    assert "国庆节" in page and 'class="tag holiday"' in page
    page = site.get(url + "?from=2026-09-30&day=2026-09-30").content.decode()
    assert 'class="tag off_hours"' in page


def test_booking_without_javascript_end_to_end(site, sms_inbox, matter, no_rest_window):
    """DB1403/T 5.1.3 c: the booking waits for the window to confirm; reference, time,
    window, address, materials, a QR code and a calendar file are given."""
    response = book_through(site, sms_inbox, matter, no_rest_window)
    appointment = Appointment.objects.get()
    assert response["Location"] == reverse("public:booking", args=[appointment.reference])
    page = site.get(response["Location"]).content.decode()
    assert appointment.reference in page
    assert "待窗口确认" in page
    assert "经营者身份证原件" in page
    assert "<svg" in page
    assert "2026-09-16" in page and "12:00" in page
    ics = site.get(reverse("public:booking_calendar", args=[appointment.reference]))
    assert ics["Content-Type"].startswith("text/calendar")
    body = ics.content.decode()
    assert "DTSTART:20260916T040000Z" in body and f"UID:{appointment.reference}@yuyue" in body
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))


def test_wrong_code_is_shown_next_to_the_code_field(site, sms_inbox, matter, no_rest_window):
    site.post(book_url(matter, no_rest_window), {"applicant_name": "李娜", "phone": MOBILE})
    code = sms_inbox.last_code(E164)
    wrong = "111111" if code != "111111" else "222222"
    page = site.post(reverse("public:book_verify"), {"code": wrong}).content.decode()
    assert re.search(r'id="id_code_errors"[^>]*>.*4', page, re.S)
    assert not Appointment.objects.exists()


def test_landline_is_refused_next_to_the_phone_field(site, matter, no_rest_window):
    response = site.post(
        book_url(matter, no_rest_window), {"applicant_name": "李娜", "phone": "0353 1234567"}
    )
    assert response.status_code == 200
    assert 'id="id_phone_errors"' in response.content.decode()


def test_a_slot_taken_meanwhile_sends_the_citizen_back_to_choose(
    site, sms_inbox, matter, no_rest_window
):
    no_rest_window.capacity_per_slot = 1
    no_rest_window.save()
    site.post(book_url(matter, no_rest_window), {"applicant_name": "李娜", "phone": MOBILE})
    code = sms_inbox.last_code(E164)
    other = site.__class__()
    with time_machine.travel(NOW + dt.timedelta(minutes=1), tick=False):
        book_through(
            other, sms_inbox, matter, no_rest_window, phone="13600136000", e164="+8613600136000"
        )
    response = site.post(reverse("public:book_verify"), {"code": code})
    assert response["Location"] == reverse("public:matter", args=[matter.pk])
    assert Appointment.objects.count() == 1


def test_booking_page_needs_proof(site, sms_inbox, matter, no_rest_window):
    book_through(site, sms_inbox, matter, no_rest_window)
    reference = Appointment.objects.get().reference
    stranger = site.__class__()
    assert stranger.get(reverse("public:booking", args=[reference])).status_code == 404
    assert stranger.get(reverse("public:booking_calendar", args=[reference])).status_code == 404
    assert stranger.post(reverse("public:booking_cancel", args=[reference])).status_code == 404
    site.traveller.shift(dt.timedelta(minutes=31))  # the session proof lapses
    assert site.get(reverse("public:booking", args=[reference])).status_code == 404


def test_my_booking_finds_and_cancels_with_a_fresh_code(site, sms_inbox, matter, no_rest_window):
    book_through(site, sms_inbox, matter, no_rest_window)
    reference = Appointment.objects.get().reference
    other = site.__class__()
    other.traveller = site.traveller
    site.traveller.shift(dt.timedelta(minutes=2))
    response = other.post(
        reverse("public:lookup"), {"reference": reference.lower(), "phone": MOBILE}
    )
    assert response["Location"] == reverse("public:lookup_verify")
    response = other.post(reverse("public:lookup_verify"), {"code": sms_inbox.last_code(E164)})
    assert response["Location"] == reverse("public:booking", args=[reference])
    response = other.post(reverse("public:booking_cancel", args=[reference]))
    assert Appointment.objects.get().status == Status.CANCELLED
    assert "已取消" in other.get(response["Location"]).content.decode()


def test_cancelling_asks_first_on_a_page_of_its_own(site, sms_inbox, matter, no_rest_window):
    """DB1403/T 5.1.3: the red button on the booking page only opens "cancel this booking?"
    (works without JavaScript); the booking is cancelled only when that is confirmed."""
    book_through(site, sms_inbox, matter, no_rest_window)
    reference = Appointment.objects.get().reference
    url = reverse("public:booking_cancel", args=[reference])
    booking_page = site.get(reverse("public:booking", args=[reference])).content.decode()
    assert f'href="{url}"' in booking_page
    asked = site.get(url)
    assert asked.status_code == 200
    text = asked.content.decode()
    assert "确定取消此预约？" in text and "确定取消预约" in text and "不取消，保留预约" in text
    assert reference in text and matter.name in text
    assert Appointment.objects.get().status == Status.PENDING
    site.post(url)
    assert Appointment.objects.get().status == Status.CANCELLED
    # Cancelled, the question is not asked again: back to the booking page.
    assert site.get(url)["Location"] == reverse("public:booking", args=[reference])


def test_my_booking_reveals_nothing_for_a_wrong_number(site, sms_inbox, matter, no_rest_window):
    book_through(site, sms_inbox, matter, no_rest_window)
    reference = Appointment.objects.get().reference
    site.traveller.shift(dt.timedelta(minutes=2))
    stranger = site.__class__()
    stranger.post(reverse("public:lookup"), {"reference": reference, "phone": "13600136000"})
    response = stranger.post(
        reverse("public:lookup_verify"), {"code": sms_inbox.last_code("+8613600136000")}
    )
    assert response["Location"] == reverse("public:lookup")
    page = stranger.get(response["Location"]).content.decode()
    assert "李娜" not in page and "12:00" not in page


def test_cancel_is_refused_online_under_two_hours(site, sms_inbox, matter, no_rest_window):
    book_through(site, sms_inbox, matter, no_rest_window)
    reference = Appointment.objects.get().reference
    site.traveller.move_to(START - dt.timedelta(hours=1, minutes=59))
    # The session proof has lapsed by then; prove again (codes are limited per hour anyway).
    site.post(reverse("public:lookup"), {"reference": reference, "phone": MOBILE})
    site.post(reverse("public:lookup_verify"), {"code": sms_inbox.last_code(E164)})
    page = site.get(reverse("public:booking", args=[reference])).content.decode()
    assert "请致电" in page or "call the hall" in page
    site.post(reverse("public:booking_cancel", args=[reference]))
    assert Appointment.objects.get().status == Status.PENDING


def test_matter_page_query_count_does_not_grow_with_bookings(
    site, matter, no_rest_window, django_assert_max_num_queries
):
    url = reverse("public:matter", args=[matter.pk])
    with django_assert_max_num_queries(12):
        site.get(url)


@pytest.mark.parametrize("query", ["?from=2026-02-30", "?day=2026-13-01", "?from=x&day=%00"])
def test_matter_page_ignores_impossible_dates(site, matter, query):
    response = site.get(reverse("public:matter", args=[matter.pk]) + query)
    assert response.status_code == 200


@pytest.mark.parametrize("start", ["2026-09-16T12:00:00+25:00", "0001-01-01T00:00:00+14:00", "x"])
def test_booking_page_sends_an_impossible_time_back_to_choose(site, matter, no_rest_window, start):
    from urllib.parse import urlencode

    url = (
        reverse("public:book", args=[matter.pk])
        + "?"
        + urlencode({"window": no_rest_window.pk, "start": start})
    )
    response = site.get(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("public:matter", args=[matter.pk])


def test_every_page_links_the_published_rates_and_complaint_tracking(site, matter, hall):
    """DB1403/T 8.2: the published 好评率 and the complaint lookup are reachable from the site,
    not only by typing their address."""
    page = site.get(reverse("public:home")).content.decode()
    assert f'href="{reverse("public_ratings")}"' in page
    assert f'href="{reverse("complaints_public:lookup")}"' in page


def test_a_checkbox_sits_inside_its_label(site, hall):
    """On a phone the whole line of the withheld-identity choice is the tap target."""
    page = site.get(reverse("complaints_public:new")).content.decode()
    assert re.search(
        r'<label class="check" for="id_identity_withheld"><input type="checkbox"', page
    )
