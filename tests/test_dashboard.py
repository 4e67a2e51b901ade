"""The supervisors' dashboard (DB1403/T 7.1–7.4, 8.1–8.3) and the public 好评率 page (8.2).

Every figure is checked against a small data set built here, with the expected numbers counted
by hand in the comments. The period, 2026-09-28..2026-10-11, spans National Day (10-01..10-07)
and the make-up working Saturday 2026-10-10.
"""

import datetime as dt

import pytest
from django.core.cache import cache
from django.urls import reverse

from appointments.models import Appointment, ChangeRequest, Matter, NoShowFollowUp
from complaints.models import Complaint, new_tracking_number
from duty.models import Department, DutyAssignment, Window
from duty.rosters import roster_problems
from evaluation.models import BadReviewCase, ImprovementAction, Rating
from evaluation.reporting.dashboard import dashboard_figures
from evaluation.reporting.public_ratings import public_rating_figures

from .conftest import at

START, END = dt.date(2026, 9, 28), dt.date(2026, 10, 11)
NOW = at(2026, 10, 12, 12, 0)
URL = "/admin/dashboard/"

_counter = iter(range(1, 100000))


def booking(window, matter, start, channel, status, *, created=None, accepted=None, served=None):
    n = next(_counter)
    return Appointment.objects.create(
        reference=f"T{n:07d}",
        channel=channel,
        status=status,
        matter=matter,
        window=window,
        start=start,
        end=start + dt.timedelta(minutes=30),
        applicant_name=f"申请人{n}",
        phone="+8613800138000",
        created_at=created or start - dt.timedelta(days=3),
        accepted_at=accepted
        if accepted is not None
        else (None if status == "pending" else start - dt.timedelta(days=2)),
        served_at=served,
        cancelled_at=start - dt.timedelta(days=1) if status == "cancelled" else None,
    )


def rate(appointment, overall, source="sms_link", *, excluded=False, entered_by=None):
    return Rating.objects.create(
        appointment=appointment,
        hall=appointment.window.hall,
        window=appointment.window,
        department=appointment.matter.departments.first(),
        overall=overall,
        efficiency=overall,
        service_level=overall,
        attitude=overall,
        source=source,
        entered_by=entered_by,
        rated_at=appointment.served_at + dt.timedelta(hours=1),
        excluded=excluded,
        excluded_reason="恶意评价" if excluded else "",
    )


def change(appointment, original, notified, *, emergency=False, actor):
    return ChangeRequest.objects.create(
        appointment=appointment,
        state="applied",
        original_start=original,
        original_window=appointment.window,
        new_start=original + dt.timedelta(days=1),
        new_window=appointment.window,
        reason="系统升级",
        requested_by=actor,
        requested_at=original - dt.timedelta(days=1),
        is_emergency=emergency,
        emergency_reason="停电" if emergency else "",
        notified_at=notified,
    )


def follow_up(appointment, recorded):
    due = appointment.start + dt.timedelta(minutes=30)
    return NoShowFollowUp.objects.create(
        appointment=appointment,
        slot_start=appointment.start,
        due_at=due,
        opened_at=due,
        outcome="unreachable" if recorded else "",
        recorded_at=recorded,
    )


def complaint(hall, state, received, *, accept_due, reply_due=None, window=None):
    return Complaint.objects.create(
        tracking_number=new_tracking_number(),
        hall=hall,
        channel="phone",
        category="attitude",
        window=window,
        complainant_name="投诉人",
        text="态度不好",
        state=state,
        received_at=received,
        accept_due=accept_due,
        reply_due=reply_due,
    )


@pytest.fixture
def data(hall, other_hall, department, tax, matter, no_rest_window, regular_window, desk, head):
    """The hand-counted data set. A01 = no_rest_window, A02 = regular_window (both 市场监督管理局),
    B01 = a tax window (税务局)."""
    tax_window = Window.objects.create(hall=hall, number="B01", name="税务综合服务")
    tax_window.departments.add(tax)
    tax_matter = Matter.objects.create(hall=hall, name="发票申领")
    tax_matter.departments.add(tax)
    a01, a02 = no_rest_window, regular_window
    b = {}
    # b1: Tue 9-29 12:00 (lunch: off-hours), online, confirmed after 120 min, served on time, 5★.
    b["1"] = booking(a01, matter, at(2026, 9, 29, 12), "online", "served",
                     created=at(2026, 9, 26, 10), accepted=at(2026, 9, 26, 12),
                     served=at(2026, 9, 29, 12, 20))  # fmt: skip
    rate(b["1"], 5)
    # b2: Tue 9-29 10:00 (regular hours), on-site, served on time, 2★ (bad) via my booking.
    b["2"] = booking(a01, matter, at(2026, 9, 29, 10), "onsite", "served",
                     served=at(2026, 9, 29, 10, 20))  # fmt: skip
    r2 = rate(b["2"], 2, "my_booking")
    # b3: Wed 9-30 17:30 (evening: off-hours), phone, no-show, follow-up recorded 30 min late
    # (on time: within 60 min of due).
    b["3"] = booking(a02, matter, at(2026, 9, 30, 17, 30), "phone", "no_show")
    follow_up(b["3"], at(2026, 9, 30, 18, 30))
    # b4: National Day 10-02 9:30, online, confirmed after 360 min, served at end + 30 min
    # exactly (on time), 4★ on a paper form.
    b["4"] = booking(a01, matter, at(2026, 10, 2, 9, 30), "online", "served",
                     created=at(2026, 9, 28, 9), accepted=at(2026, 9, 28, 15),
                     served=at(2026, 10, 2, 10, 30))  # fmt: skip
    rate(b["4"], 4, "paper", entered_by=desk)
    # b5: make-up working Saturday 10-10 9:00 (a working day, regular hours), on-site, served
    # at end + 30 min (on time), not rated.
    b["5"] = booking(a01, matter, at(2026, 10, 10, 9), "onsite", "served",
                     served=at(2026, 10, 10, 10))  # fmt: skip
    # b6: Sunday 10-11 14:00, online, confirmed after 1440 min, no-show, follow-up 60 min late.
    b["6"] = booking(a01, matter, at(2026, 10, 11, 14), "online", "no_show",
                     created=at(2026, 10, 5, 8), accepted=at(2026, 10, 6, 8))  # fmt: skip
    follow_up(b["6"], at(2026, 10, 11, 15, 31))
    # b7: Thu 10-08 12:30 at the tax window, on-site, cancelled (not in the shares).
    b["7"] = booking(tax_window, tax_matter, at(2026, 10, 8, 12, 30), "onsite", "cancelled")
    # b8: Fri 10-09 11:00, online, still waiting for confirmation.
    b["8"] = booking(a01, matter, at(2026, 10, 9, 11), "online", "pending")
    # b9: Fri 10-09 15:00, on-site, served 10 min too late, 3★ by SMS (neither good nor bad).
    b["9"] = booking(a02, matter, at(2026, 10, 9, 15), "onsite", "served",
                     served=at(2026, 10, 9, 16, 10))  # fmt: skip
    rate(b["9"], 3)
    # b10: Fri 10-09 15:30, phone, served on time, 1★ excluded after an upheld appeal.
    b["10"] = booking(a02, matter, at(2026, 10, 9, 15, 30), "phone", "served",
                      served=at(2026, 10, 9, 15, 50))  # fmt: skip
    r10 = rate(b["10"], 1, excluded=True)
    # Outside the period: Sunday 9-27 and Monday 10-12; and a booking of the other hall.
    b["11"] = booking(a01, matter, at(2026, 9, 27, 10), "onsite", "served",
                      served=at(2026, 9, 27, 10, 20))  # fmt: skip
    r11 = rate(b["11"], 1)
    b["12"] = booking(a01, matter, at(2026, 10, 12, 10), "onsite", "accepted")
    other_dep = Department.objects.create(hall=other_hall, name="市场监督管理局")
    other_window = Window.objects.create(hall=other_hall, number="J01", name="郊区综合")
    other_window.departments.add(other_dep)
    other_matter = Matter.objects.create(hall=other_hall, name="郊区事项")
    other_matter.departments.add(other_dep)
    booking(other_window, other_matter, at(2026, 10, 9, 12), "online", "no_show")

    # 6.2.2: b5 told 6 h before (late); b9 told 6 h before as an emergency; b1 told exactly 8 h
    # before (in time); b12 late but outside the period.
    change(b["5"], at(2026, 10, 10, 9), at(2026, 10, 10, 3), actor=head)
    change(b["9"], at(2026, 10, 9, 15), at(2026, 10, 9, 9), emergency=True, actor=head)
    change(b["1"], at(2026, 9, 29, 12), at(2026, 9, 29, 4), actor=head)
    change(b["12"], at(2026, 10, 12, 10), at(2026, 10, 12, 9), actor=head)

    # 6.2.1: two of A01's duties in the period were checked in late.
    late = DutyAssignment.objects.filter(
        duty__window=a01, duty__start__in=[at(2026, 9, 29, 12), at(2026, 10, 11, 9)]
    )
    assert late.update(is_late=True) == 2

    # 7.3: overdue acceptance (A01); open, not overdue (received before the period); replied
    # (closed, received in the period); another hall's overdue one.
    complaint(hall, "registered", at(2026, 10, 8, 9), accept_due=dt.date(2026, 10, 9), window=a01)
    complaint(hall, "accepted", at(2026, 9, 20, 9), accept_due=dt.date(2026, 9, 21),
              reply_due=dt.date(2026, 10, 13))  # fmt: skip
    complaint(hall, "replied", at(2026, 10, 1, 9), accept_due=dt.date(2026, 10, 9))
    complaint(other_hall, "registered", at(2026, 10, 8, 9), accept_due=dt.date(2026, 10, 9))

    # 8.3: b2's case rectified before its date; b11's case due in the period, not rectified;
    # b10's case due after the period.
    def case(rating, rectify_due, rectified_at=None):
        return BadReviewCase.objects.create(
            rating=rating,
            opened_at=rating.rated_at,
            contact_due=rectify_due - dt.timedelta(days=4),
            rectify_due=rectify_due,
            rectified_at=rectified_at,
            state="rectified" if rectified_at else "open",
        )

    case(r2, dt.date(2026, 10, 9), at(2026, 10, 8, 16))
    case(r11, dt.date(2026, 10, 10))
    case(r10, dt.date(2026, 10, 16))

    def action(state, due, window=None):
        return ImprovementAction.objects.create(
            hall=hall,
            window=window,
            title="整改",
            owner=head,
            due=due,
            state=state,
            created_by=head,
            created_at=at(2026, 9, 1, 9),
            completed_at=at(2026, 9, 2, 9) if state == "done" else None,
        )

    action("open", dt.date(2026, 10, 1), a01)  # overdue
    action("in_progress", dt.date(2026, 10, 20))  # open, not overdue
    action("done", dt.date(2026, 9, 1))
    action("cancelled", dt.date(2026, 9, 1))
    return {"bookings": b, "tax": tax, "tax_window": tax_window}


def figures(hall, **kwargs):
    return dashboard_figures(hall_id=hall.pk, start=START, end=END, now=NOW, **kwargs)


# --- the figures ----------------------------------------------------------------------------


def test_bookings_by_channel_and_status_db1403_5_1_3(hall, data):
    f = figures(hall)
    assert f["bookings"]["total"] == 10
    assert f["bookings"]["by_channel"] == {"onsite": 4, "phone": 2, "online": 4}
    assert f["bookings"]["by_status"] == {
        "pending": 1,
        "accepted": 0,
        "handed_over": 0,
        "arrived": 0,
        "served": 6,
        "no_show": 2,
        "cancelled": 1,
    }


def test_shares_off_hours_weekend_holiday_across_national_day_db1403_4(hall, data):
    """The make-up Saturday 10-10 is a working day (b5 in regular hours counts nowhere); the
    cancelled b7 is left out of the 9 bookings the shares are of."""
    f = figures(hall)
    assert f["bookings"]["live"] == 9
    assert (f["shares"]["off_hours"], f["shares"]["weekend"], f["shares"]["holiday"]) == (2, 1, 1)
    assert f["shares"]["off_hours_rate"] == pytest.approx(2 / 9)
    assert f["shares"]["holiday_rate"] == pytest.approx(1 / 9)


def test_time_to_confirmation_median_and_p90_db1403_5_1_3_c(hall, data):
    f = figures(hall)
    # 120, 360 and 1440 minutes: nearest-rank median the 2nd, 90th percentile the 3rd.
    assert f["confirmation"] == {"count": 3, "median_minutes": 360, "p90_minutes": 1440}


def test_no_show_rate_and_follow_ups_on_time_db1403_6_2_3(hall, data):
    f = figures(hall)["no_shows"]
    assert (f["no_shows"], f["concluded"]) == (2, 8)
    assert f["rate"] == 0.25
    assert (f["follow_ups"], f["follow_ups_on_time"], f["follow_ups_open"]) == (2, 1, 0)


def test_eight_hour_rule_breaches_and_emergencies_db1403_6_2_2(hall, data):
    # Exactly 8 h before is in time; b12's late notice lies outside the period.
    assert figures(hall)["changes"] == {"notified": 3, "late": 1, "emergency": 1}


def test_roster_gaps_and_late_check_ins_db1403_5_2_6_2_1(hall, data, no_rest_window):
    f = figures(hall)["duty"]
    # A01 is on duty in every working-day and weekend period; b4 booked the holiday morning of
    # 10-02 and nobody fills its duty: one gap.
    assert (f["gaps"], f["holiday_gaps"]) == (1, 1)
    assert f["gap_list"][0]["start"] == at(2026, 10, 2, 9)
    # The same rule as the roster check (duty.rosters.roster_problems).
    problems = roster_problems(windows=[no_rest_window], start_date=START, end_date=END)
    assert len([p for p in problems if p.kind in ("nobody", "holiday")]) == 1
    # Somebody on leave does not cover: take the head off the Sunday morning duty.
    DutyAssignment.objects.filter(
        duty__window=no_rest_window, duty__start=at(2026, 10, 11, 9)
    ).delete()
    assert figures(hall)["duty"]["gaps"] == 2
    # Duties of A01 in the period: 6 working days (9-28, 9-29, 9-30, 10-08, 10-09 and the
    # make-up Saturday 10-10) × 2 periods + Sunday 10-11 × 2 periods = 14, two of them late.
    assert (f["assignments_due"], f["late_check_ins"]) == (14, 2)


def test_complaints_open_and_overdue_db1403_7_3(hall, data):
    assert figures(hall)["complaints"] == {
        "received": 2,
        "open": 2,
        "overdue_accept": 1,
        "overdue_reply": 0,
        "overdue": 1,
    }


def test_good_review_rates_use_evaluation_figures_db1403_8_2(hall, data):
    f = figures(hall)["ratings"]
    # Served 6; rated 4 (b10's rating was excluded after an appeal); good b1, b4; bad b2;
    # voluntary b1, b2, b9 (b4 is a paper form), of them good b1; unrated b5.
    assert {k: f[k] for k in ("served", "rated", "good", "bad", "voluntary", "voluntary_good")} == {
        "served": 6,
        "rated": 4,
        "good": 2,
        "bad": 1,
        "voluntary": 3,
        "voluntary_good": 1,
    }
    assert f["unrated"] == 1
    assert f["good_rate"] == 0.5
    assert f["voluntary_good_rate"] == pytest.approx(1 / 3)
    assert f["unrated_rate"] == pytest.approx(1 / 6)


def test_served_on_time_bad_reviews_and_actions_db1403_7_4_8_3(hall, data):
    f = figures(hall)
    # b9 was served 10 min after end + 30 min; the five others on time (two exactly at it).
    assert f["served_on_time"] == {"on_time": 5, "served": 6, "rate": pytest.approx(5 / 6)}
    assert f["bad_reviews"] == {"due": 2, "rectified": 1, "rate": 0.5}
    assert f["actions"] == {"open": 2, "overdue": 1}


def test_trend_per_day_and_window_ranking(hall, data, no_rest_window, regular_window):
    f = figures(hall)
    assert len(f["trend"]) == 14 and not f["period"]["weekly"]
    day = {row["start"]: row for row in f["trend"]}
    assert (day[dt.date(2026, 9, 29)]["bookings"], day[dt.date(2026, 9, 29)]["good"]) == (2, 1)
    assert day[dt.date(2026, 9, 29)]["good_rate"] == 0.5
    assert day[dt.date(2026, 10, 11)]["no_shows"] == 1
    assert day[dt.date(2026, 10, 3)]["good_rate"] is None  # nothing to divide by, not 0 %
    ranking = [(r["window_id"], r["good_rate"]) for r in f["ranking_by_rating"]]
    assert ranking == [
        (no_rest_window.pk, pytest.approx(2 / 3)),
        (regular_window.pk, 0.0),
        (data["tax_window"].pk, None),
    ]
    on_time = [(r["window_id"], r["on_time_rate"]) for r in f["ranking_by_on_time"]]
    assert on_time[0] == (no_rest_window.pk, 1.0) and on_time[1] == (regular_window.pk, 0.5)


def test_weekly_trend_for_a_long_period(hall, data):
    f = dashboard_figures(
        hall_id=hall.pk, start=dt.date(2026, 7, 1), end=dt.date(2026, 10, 11), now=NOW
    )
    assert f["period"]["weekly"]
    assert all(row["start"].weekday() == 0 for row in f["trend"])
    assert sum(row["bookings"] for row in f["trend"]) == 11  # b1..b10 and b11 (9-27)


def test_filters_window_department_period(hall, data, regular_window):
    f = figures(hall, window_id=regular_window.pk)
    assert f["bookings"]["total"] == 3  # b3, b9, b10
    assert f["changes"]["emergency"] == 1 and f["changes"]["late"] == 0
    assert f["duty"]["gaps"] == 0  # A02 has no roster
    tax = figures(hall, department_id=data["tax"].pk)
    assert tax["bookings"]["total"] == 1 and tax["bookings"]["by_status"]["cancelled"] == 1
    assert tax["complaints"]["open"] == 0 and tax["actions"]["open"] == 0
    holiday = dashboard_figures(
        hall_id=hall.pk, start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 7), now=NOW
    )
    assert holiday["bookings"]["total"] == 1 and holiday["shares"]["holiday"] == 1


def test_figures_refuse_a_reversed_period_and_a_foreign_window(hall, other_hall, data):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as reversed_period:
        dashboard_figures(hall_id=hall.pk, start=END, end=START, now=NOW)
    assert reversed_period.value.code == "reversed"
    foreign = Window.objects.get(hall=other_hall)
    with pytest.raises(ValidationError) as foreign_window:
        figures(hall, window_id=foreign.pk)
    assert foreign_window.value.code == "window"


# --- the page -------------------------------------------------------------------------------


def get(client, user, *, login=True, **params):
    if login:
        client.force_login(user)
    return client.get(URL, {"start": START.isoformat(), "end": END.isoformat(), **params})


def test_page_shows_the_figures_with_links(client, supervisor, data, no_rest_window):
    response = get(client, supervisor)
    assert response.status_code == 200
    html = response.content.decode()
    assert "chart.umd.min.js" in html and 'id="dashboard-series"' in html
    # Every booking number links to the console list filtered to it.
    assert "/admin/appointments/appointment/?start__date__gte=2026-09-28" in html
    assert "status__exact=no_show" in html
    assert "time_kind=holiday" in html
    assert response.context["f"]["bookings"]["total"] == 10


def test_linked_console_lists_hold_the_counted_records(client, supervisor, data):
    """The links lead to lists the admin accepts, showing exactly the counted records."""
    client.force_login(supervisor)
    response = get(client, supervisor)
    links = response.context["links"]
    for url, expected in [
        (links["time_kind"]["holiday"], 1),
        (links["time_kind"]["weekend"], 1),
        (links["time_kind"]["off_hours"], 2),  # b1 and b3 (the cancelled b7 is not counted)
        (links["by_status"]["no_show"], 2),
        (links["changes_late"], 1),
        (links["changes_emergency"], 1),
        (links["late_check_ins"], 2),
        (links["follow_ups"], 2),
        (links["complaints_overdue_accept"], 1),
        (links["complaints_open"], 2),
    ]:
        page = client.get(url)
        assert page.status_code == 200, url
        assert "?e=1" not in page.url if hasattr(page, "url") else True
        assert page.context["cl"].result_count == expected, url


def test_every_console_link_on_the_page_opens_its_list(client, supervisor, data):
    """Every number's link — bookings, changes, follow-ups, duties, complaints, ratings, bad
    reviews, improvement actions — is a list the console accepts (no "?e=1" refusal)."""
    import re

    client.force_login(supervisor)
    html = get(client, supervisor).content.decode()
    urls = sorted(set(re.findall(r'href="(/admin/[^"#]+\?[^"]*)"', html)))
    assert len(urls) >= 15
    for url in urls:
        page = client.get(url.replace("&amp;", "&"))
        # An admin list refuses an unknown lookup with a redirect to "?e=1" or a 400.
        assert page.status_code == 200, url


@pytest.mark.parametrize(
    "params, error",
    [
        ({"window": "99999"}, ("window", "invalid_choice")),
        ({"start": "2026-10-11", "end": "2026-09-28"}, ("end", "reversed")),
        ({"start": "2026-13-45"}, ("start", "invalid")),
        ({"start": "2024-01-01", "end": "2026-10-11"}, ("end", "too_long")),
        ({"department": "abc"}, ("department", "invalid_choice")),
        ({"hall": "x"}, ("hall", "invalid_choice")),
    ],
)
def test_bad_filters_give_the_form_with_errors_not_500(client, supervisor, data, params, error):
    response = get(client, supervisor, **params)
    assert response.status_code == 400
    assert response.context.get("f") is None
    field, code = error
    assert [e.code for e in response.context["form"].errors.as_data()[field]] == [code]
    assert 'class="errorlist"' in response.content.decode()


def test_window_of_another_hall_is_refused(client, supervisor, make_user, hall, other_hall, data):
    foreign = Window.objects.get(hall=other_hall)
    response = get(client, supervisor, window=str(foreign.pk))
    assert response.status_code == 400
    district = make_user("district-sup", "supervisor", other_hall)
    response = get(client, district, hall=str(hall.pk))
    assert response.status_code == 400  # a district supervisor cannot pick another hall
    assert response.context["form"].errors.as_data()["hall"][0].code == "invalid_choice"


def test_window_staff_and_desk_get_403(client, window_staff, desk, data):
    assert get(client, window_staff).status_code == 403
    assert get(client, desk).status_code == 403


def test_a_hall_without_windows_yet_shows_zeros_not_500(client, supervisor, hall):
    """A new hall (no windows, no bookings): every count of the side panel is 0."""
    assert not hall.windows.exists()
    response = get(client, supervisor)
    assert response.status_code == 200
    figures = response.context["f"]
    assert figures["changes"] == {"notified": 0, "late": 0, "emergency": 0}
    assert figures["no_shows"]["follow_ups"] == 0
    assert figures["complaints"]["received"] == 0


def test_anonymous_is_sent_to_the_login(client, data):
    response = client.get(URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_window_head_sees_only_own_window(client, make_user, hall, data, regular_window):
    other_head = make_user("head2", "window_head", hall)
    regular_window.head = other_head
    regular_window.save()
    response = get(client, other_head)
    assert response.status_code == 200
    assert response.context["window"] == regular_window
    assert response.context["f"]["bookings"]["total"] == 3
    choices = [c for c, _ in response.context["form"].fields["window"].choices]
    assert [int(str(c)) for c in choices] == [regular_window.pk]
    assert get(client, other_head, window=str(data["tax_window"].pk)).status_code == 400


def test_city_supervisor_sees_other_halls(client, make_user, hall, other_hall, data):
    """A supervisor of the city hall may pick a district hall (duty.scoping)."""
    response = get(client, make_user("city-sup", "supervisor", hall), hall=str(other_hall.pk))
    assert response.status_code == 200
    assert response.context["f"]["bookings"]["total"] == 1


def test_console_index_links_the_dashboard(client, supervisor, window_staff, data):
    client.force_login(supervisor)
    assert URL in client.get("/admin/").content.decode()
    client.force_login(window_staff)
    assert URL not in client.get("/admin/").content.decode()


# --- query count ----------------------------------------------------------------------------


def test_query_count_does_not_grow_with_the_data(
    client, supervisor, data, matter, no_rest_window, django_assert_max_num_queries
):
    client.force_login(supervisor)
    # 20 for the figures and the page, 2 for the user's permissions (which lists to link).
    with django_assert_max_num_queries(22):
        assert get(client, supervisor, login=False).status_code == 200
    more = [
        Appointment(
            reference=f"M{i:07d}",
            channel=("online", "onsite", "phone")[i % 3],
            status=("served", "no_show", "accepted")[i % 3],
            matter=matter,
            window=no_rest_window,
            start=at(2026, 9, 28, 12) + dt.timedelta(hours=i % 300),
            end=at(2026, 9, 28, 12, 30) + dt.timedelta(hours=i % 300),
            applicant_name="批量",
            phone="+8613800138000",
            created_at=at(2026, 9, 20, 9),
            accepted_at=at(2026, 9, 20, 9) + dt.timedelta(minutes=i),
            served_at=at(2026, 9, 28, 12, 20) + dt.timedelta(hours=i % 300) if i % 3 == 0 else None,
        )
        for i in range(600)
    ]
    Appointment.objects.bulk_create(more)
    department = str(matter.departments.first().pk)
    with django_assert_max_num_queries(22):
        assert get(client, supervisor, login=False).status_code == 200
    with django_assert_max_num_queries(22):
        assert get(client, supervisor, login=False, department=department).status_code == 200


# --- the public page ------------------------------------------------------------------------


def test_public_page_monthly_rates_without_personal_data(client, data, hall, settings):
    cache.clear()
    import time_machine

    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("public_ratings"))
    assert response.status_code == 200
    html = response.content.decode()
    # 市场监督管理局: served in October b4, b5, b9, b10 (rated b4, b9: 1 good of 2 → 50.0%).
    assert "市场监督管理局" in html and "2026-10" in html and "50.0%" in html
    for booking in data["bookings"].values():
        assert booking.applicant_name not in html
    assert "13800138000" not in html and "投诉人" not in html and "申请人" not in html
    with time_machine.travel(NOW, tick=False):
        english = client.get("/en/ratings/")
    assert english.status_code == 200


def test_public_figures_per_department_and_month(hall, data):
    rows = public_rating_figures(now=NOW)
    market = next(r for r in rows if r["name"] == "市场监督管理局" and r["hall"] == hall.name)
    months = {m["month"]: m["figures"] for m in market["months"]}
    assert len(months) == 12 and min(months) == dt.date(2025, 11, 1)
    # September: b11 (1★) on 9-27, b1 (5★), b2 (2★) on 9-29 → 1 good of 3, 3 served.
    assert months[dt.date(2026, 9, 1)]["served"] == 3
    assert months[dt.date(2026, 9, 1)]["good_rate"] == pytest.approx(1 / 3)
    assert months[dt.date(2026, 8, 1)] is None
