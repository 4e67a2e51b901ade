"""The staff console (Django admin): registration through the services, hall scoping,
read-only supervisors, query counts, the missing-holidays warning."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appointments.models import Appointment, Matter
from appointments.services import appointment_register
from appointments.slots import window_slots
from duty.models import Department, Window

from .conftest import at, roster_test_dates

NOW = at(2026, 9, 14, 10, 0)
ADD_URL = reverse("admin:appointments_appointment_add")
LIST_URL = reverse("admin:appointments_appointment_changelist")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def form_data(matter, window, day="2026-09-16", time="12:00:00", **kw):
    data = {
        "channel": "onsite",
        "matter": matter.pk,
        "window": window.pk,
        "start_0": day,
        "start_1": time,
        "applicant_name": "张伟",
        "phone": "138 0013 8000",
        "content": "设立个体户",
        "remarks": "",
        "short_notice_reason": "",
    }
    data.update(kw)
    return data


def make_bookings(matter, window, actor, count):
    slots = window_slots(
        window=window, start_date=dt.date(2026, 9, 16), end_date=dt.date(2026, 10, 30)
    )
    made = 0
    for slot in slots:
        if Appointment.objects.filter(window=window, start=slot.start).exists():
            continue
        for _ in range(window.capacity_per_slot):
            if made == count:
                return
            appointment_register(
                matter=matter,
                window=window,
                start=slot.start,
                applicant_name=f"申请人{made}",
                phone=f"1380013{Appointment.objects.count():04d}",
                channel="onsite",
                actor=actor,
                now=NOW,
            )
            made += 1


class TestRegisterInTheConsole:
    """DB1403/T 5.1.3 a/b: the desk registers through the same service as everyone."""

    def test_desk_registers_a_booking(self, client, desk, matter, no_rest_window, frozen):
        client.force_login(desk)
        response = client.post(ADD_URL, form_data(matter, no_rest_window))
        assert response.status_code == 302, response.context["adminform"].form.errors
        appt = Appointment.objects.get()
        assert appt.received_by == desk and appt.status == "accepted"
        assert appt.start == at(2026, 9, 16, 12, 0)
        assert appt.events.get().action == "registered"

    def test_rule_errors_appear_next_to_their_field(
        self, client, desk, matter, regular_window, frozen
    ):
        client.force_login(desk)
        response = client.post(ADD_URL, form_data(matter, regular_window))
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert "start" in errors and "A02" in errors["start"][0]
        assert not Appointment.objects.exists()

    def test_under_24_hours_asks_for_the_reason(self, client, desk, matter, no_rest_window):
        client.force_login(desk)
        with time_machine.travel(at(2026, 9, 15, 12, 1), tick=False):
            response = client.post(ADD_URL, form_data(matter, no_rest_window))
            assert "short_notice_reason" in response.context["adminform"].form.errors
            response = client.post(
                ADD_URL, form_data(matter, no_rest_window, short_notice_reason="急需")
            )
        assert response.status_code == 302
        assert Appointment.objects.get().short_notice_reason == "急需"

    def test_full_slot_is_a_form_error(self, client, desk, matter, no_rest_window, frozen):
        client.force_login(desk)
        for phone in ("138 0013 8000", "138 0013 8001"):
            data = form_data(matter, no_rest_window, phone=phone)
            assert client.post(ADD_URL, data).status_code == 302
        response = client.post(ADD_URL, form_data(matter, no_rest_window, phone="138 0013 8002"))
        assert response.context["adminform"].form.errors["start"]
        assert Appointment.objects.count() == 2

    def test_malformed_date_is_a_form_error(self, client, desk, matter, no_rest_window, frozen):
        client.force_login(desk)
        response = client.post(ADD_URL, form_data(matter, no_rest_window, start_0="2026-13-45"))
        assert response.status_code == 200
        assert "start" in response.context["adminform"].form.errors

    def test_unknown_matter_is_a_form_error(self, client, desk, matter, no_rest_window, frozen):
        client.force_login(desk)
        data = form_data(matter, no_rest_window)
        data["matter"] = 999999
        response = client.post(ADD_URL, data)
        assert "matter" in response.context["adminform"].form.errors

    def test_booking_in_a_year_not_entered_warns_and_its_new_year_is_a_holiday_4(
        self, client, desk, matter, regular_window, frozen
    ):
        """2027's arrangement is not entered: 2027-01-01 is a provisional holiday, so a regular
        window has no 09:00 there; a plain Tuesday is booked with a warning."""
        client.force_login(desk)
        data = form_data(matter, regular_window, day="2027-01-01", time="09:00:00")
        client.post(ADD_URL, data, follow=True)
        assert not Appointment.objects.filter(start=at(2027, 1, 1, 9, 0)).exists()
        data = form_data(matter, regular_window, day="2027-01-05", time="09:00:00")
        response = client.post(ADD_URL, data, follow=True)
        assert Appointment.objects.filter(start=at(2027, 1, 5, 9, 0)).exists()
        warnings = [str(m) for m in response.context["messages"] if m.level_tag == "warning"]
        assert any("2027-01-05" in w and "暂定" in w for w in warnings), warnings

    def test_bookings_are_never_deleted(self, client, desk, matter, no_rest_window, frozen):
        make_bookings(matter, no_rest_window, desk, 1)
        client.force_login(desk)
        appt = Appointment.objects.get()
        url = reverse("admin:appointments_appointment_delete", args=[appt.pk])
        assert client.post(url, {"post": "yes"}).status_code == 403
        assert Appointment.objects.filter(pk=appt.pk).exists()


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
        start=at(2026, 9, 16, 12, 0),
        applicant_name="郊区申请人",
        phone="13800138009",
        channel="onsite",
        actor=desk,
        now=NOW,
    )


class TestHallScoping:
    """Staff see and change only their own hall; a city supervisor sees all halls."""

    def test_list_and_search_show_only_the_own_hall(
        self, client, desk, matter, no_rest_window, other_hall_booking
    ):
        make_bookings(matter, no_rest_window, desk, 1)
        client.force_login(desk)
        page = client.get(LIST_URL).content.decode()
        assert "张伟" not in page  # sanity: the own booking is named 申请人0
        assert "申请人0" in page and "郊区申请人" not in page
        search = client.get(LIST_URL, {"q": "郊区申请人"})
        assert search.context["cl"].result_count == 0

    def test_filters_name_no_other_halls_windows(
        self, client, desk, matter, no_rest_window, other_hall_booking
    ):
        make_bookings(matter, no_rest_window, desk, 1)
        client.force_login(desk)
        page = client.get(LIST_URL).content.decode()
        assert "A01" in page and "J01" not in page

    def test_detail_of_another_hall_is_not_found(self, client, desk, other_hall_booking):
        client.force_login(desk)
        url = reverse("admin:appointments_appointment_change", args=[other_hall_booking.pk])
        response = client.get(url, follow=True)
        assert "郊区申请人" not in response.content.decode()
        assert response.redirect_chain  # admin redirects a missing object to the index

    def test_choice_lists_hold_only_the_own_hall(self, client, desk, matter, other_hall_booking):
        client.force_login(desk)
        form = client.get(ADD_URL).context["adminform"].form
        assert list(form.fields["matter"].queryset) == [matter]
        assert "J01" not in [w.number for w in form.fields["window"].queryset]

    def test_city_supervisor_sees_every_hall(self, client, supervisor, other_hall_booking):
        client.force_login(supervisor)
        assert "郊区申请人" in client.get(LIST_URL).content.decode()

    def test_district_supervisor_sees_only_the_district(
        self, client, make_user, other_hall, matter, no_rest_window, desk, other_hall_booking
    ):
        make_bookings(matter, no_rest_window, desk, 1)
        district_supervisor = make_user("jq-sup", "supervisor", other_hall)
        client.force_login(district_supervisor)
        page = client.get(LIST_URL).content.decode()
        assert "郊区申请人" in page and "申请人0</" not in page

    def test_supervisor_reads_but_cannot_register(
        self, client, supervisor, matter, no_rest_window, frozen
    ):
        client.force_login(supervisor)
        assert client.get(LIST_URL).status_code == 200
        assert client.post(ADD_URL, form_data(matter, no_rest_window)).status_code == 403
        assert not Appointment.objects.exists()


SCOPED_LISTS = [
    "admin:appointments_appointment_changelist",
    "admin:appointments_matter_changelist",
    "admin:appointments_slot_changelist",
    "admin:appointments_changerequest_changelist",
    "admin:appointments_noshowfollowup_changelist",
    "admin:appointments_contactlog_changelist",
    "admin:appointments_paralleltask_changelist",
    "admin:appointments_appointmentevent_changelist",
    "admin:duty_hall_changelist",
    "admin:duty_department_changelist",
    "admin:duty_window_changelist",
    "admin:duty_staffprofile_changelist",
    "admin:auth_user_changelist",
]


@pytest.mark.parametrize("list_url", SCOPED_LISTS)
@pytest.mark.parametrize("role", ["desk", "window_staff", "agency_approver", "administrator"])
def test_no_list_shows_another_halls_data(
    client, make_user, hall, role, list_url, other_hall_booking
):
    user = make_user(f"city-{role}", role, hall)
    client.force_login(user)
    response = client.get(reverse(list_url))
    assert response.status_code in (200, 403)
    page = response.content.decode()
    for foreign in ("郊区", "J01", "jiaoqu-desk"):
        assert foreign not in page, (role, list_url, foreign)


class TestQueryCounts:
    def test_booking_list_does_not_grow_with_rows(self, client, desk, matter, no_rest_window):
        client.force_login(desk)
        counts = []
        for total in (10, 50):
            make_bookings(matter, no_rest_window, desk, total - Appointment.objects.count())
            with CaptureQueriesContext(connection) as queries:
                assert client.get(LIST_URL).status_code == 200
            counts.append(len(queries))
        assert counts[0] == counts[1], counts


class TestWarnings:
    def test_only_city_administrators_are_told_of_a_missing_arrangement_4(
        self, client, desk, supervisor, make_user, hall
    ):
        """DB1403/T 4: the banner goes to those who can enter the year, linking to the page."""
        city_admin = make_user("city-admin", "administrator", hall)
        with time_machine.travel(at(2026, 11, 27, 10), tick=False):
            for user in (desk, supervisor):
                client.force_login(user)
                page = client.get(reverse("admin:index")).content.decode()
                assert 'id="holiday-years"' not in page
            client.force_login(city_admin)
            page = client.get(reverse("admin:index")).content.decode()
        enter = reverse("admin:duty_holidayyear_enter")
        assert f'href="{enter}?year=2027"' in page
        assert "import_holidays" not in page

    def test_no_warning_when_both_years_are_loaded(self, client, make_user, hall):
        client.force_login(make_user("city-admin", "administrator", hall))
        with time_machine.travel(at(2025, 3, 3, 10), tick=False):
            from duty.services import holiday_year_import

            holiday_year_import(year=2025)
            page = client.get(reverse("admin:index")).content.decode()
        assert 'id="holiday-years"' not in page


@pytest.fixture
def district_admin(make_user, other_hall):
    return make_user("jq-admin", "administrator", other_hall)


class TestAdministratorsStayInTheirHall:
    """A hall administrator manages their hall's people and hours, never another hall's, and
    cannot give anyone (themselves included) a view of every hall."""

    def test_user_list_holds_only_the_own_hall(self, client, district_admin, desk):
        client.force_login(district_admin)
        response = client.get(reverse("admin:auth_user_changelist"))
        names = [u.username for u in response.context["cl"].result_list]
        assert names == ["jq-admin"]

    def test_profile_inline_offers_only_the_own_hall(self, client, district_admin, hall):
        client.force_login(district_admin)
        url = reverse("admin:auth_user_change", args=[district_admin.pk])
        response = client.get(url)
        inline_form = response.context["inline_admin_formsets"][0].formset.forms[0]
        assert [h.code for h in inline_form.fields["hall"].queryset] == ["jiaoqu"]
        groups = {g.name for g in response.context["adminform"].form.fields["groups"].queryset}
        assert "supervisor" not in groups and "administrator" not in groups
        assert "desk" in groups

    def test_city_hall_flag_and_new_halls_are_for_superusers(
        self, client, district_admin, other_hall
    ):
        client.force_login(district_admin)
        url = reverse("admin:duty_hall_change", args=[other_hall.pk])
        form = client.get(url).context["adminform"].form
        assert "is_city_hall" not in form.fields and "code" not in form.fields
        assert client.get(reverse("admin:duty_hall_add")).status_code == 403

    def test_holiday_table_is_read_only_outside_the_city_hall(
        self, client, district_admin, holidays_2026
    ):
        client.force_login(district_admin)
        assert client.get(reverse("admin:duty_calendarday_changelist")).status_code == 200
        assert client.get(reverse("admin:duty_calendarday_add")).status_code == 403

    def test_city_administrator_keeps_the_holiday_table(self, client, make_user, hall):
        """A year at a time, on the arrangement page (DB1403/T 4: it lists what changes)."""
        city_admin = make_user("city-admin", "administrator", hall)
        client.force_login(city_admin)
        answer = client.get(reverse("admin:duty_calendarday_add"))
        assert answer.status_code == 302
        assert answer.url == reverse("admin:duty_holidayyear_enter")


def test_slot_length_is_fixed_while_future_bookings_exist(
    client, make_user, hall, desk, matter, no_rest_window
):
    city_admin = make_user("city-admin", "administrator", hall)
    client.force_login(city_admin)
    url = reverse("admin:duty_window_change", args=[no_rest_window.pk])
    page = client.get(url)
    assert "slot_minutes" in page.context["adminform"].form.fields
    assert "个体工商户设立登记" in page.content.decode()  # the window's matters are listed
    with time_machine.travel(NOW, tick=False):
        make_bookings(matter, no_rest_window, desk, 1)
        assert "slot_minutes" not in client.get(url).context["adminform"].form.fields


def test_saving_a_user_keeps_roles_the_editor_cannot_grant(client, district_admin, other_hall):
    """Roles missing from the form (supervisor, administrator) are not lost on save."""
    from django.contrib.auth.models import Group

    client.force_login(district_admin)
    profile = district_admin.staff_profile
    data = {
        "username": "jq-admin",
        "first_name": "周",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "is_staff": "on",
        "groups": [Group.objects.get(name="desk").pk],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-09-14",
        "date_joined_1": "10:00:00",
        "staff_profile-TOTAL_FORMS": "1",
        "staff_profile-INITIAL_FORMS": "1",
        "staff_profile-MIN_NUM_FORMS": "0",
        "staff_profile-MAX_NUM_FORMS": "1",
        "staff_profile-0-id": profile.pk,
        "staff_profile-0-user": district_admin.pk,
        "staff_profile-0-hall": other_hall.pk,
        "staff_profile-0-window": "",
        "staff_profile-0-department": "",
        "staff_profile-0-phone": "",
    }
    response = client.post(reverse("admin:auth_user_change", args=[district_admin.pk]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    district_admin.refresh_from_db()
    assert district_admin.first_name == "周"
    assert set(district_admin.groups.values_list("name", flat=True)) == {"administrator", "desk"}


def test_administrator_closes_a_slot_nobody_has_booked_yet(
    client, make_user, hall, desk, matter, no_rest_window
):
    """A slot closed ahead of time (capacity 0) takes no booking."""
    city_admin = make_user("city-admin", "administrator", hall)
    client.force_login(city_admin)
    add = reverse("admin:appointments_slot_add")
    data = {
        "window": no_rest_window.pk,
        "start_0": "2026-09-16",
        "start_1": "12:10:00",
        "capacity": "0",
    }
    response = client.post(add, data)
    assert "start" in response.context["adminform"].form.errors  # 12:10 starts no slot
    data["start_1"] = "12:00:00"
    assert client.post(add, data).status_code == 302
    with time_machine.travel(NOW, tick=False):
        client.force_login(desk)
        response = client.post(ADD_URL, form_data(matter, no_rest_window))
    assert response.context["adminform"].form.errors["start"]
    assert not Appointment.objects.exists()
