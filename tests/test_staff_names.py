"""Staff pages name people, never their logins (README: "Staff appear by name (王敏), never by
login"): a booking's history, contacts, no-show follow-ups and change requests (who asked, who
approved), the lists of those records and the step forms' choices of staff; the login only for
someone with no name recorded."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from appointments.models import AppointmentEvent, ChangeRequest, ContactLog, NoShowFollowUp
from appointments.services import (
    appointment_register,
    change_request_approve,
    change_request_create,
)
from duty.names import staff_name

from .conftest import START
from .test_catalogue import chinese_named_staff, records  # noqa: F401 (fixtures)
from .visible_text import pages_text, visible_text

LOGIN = "login-"


@pytest.fixture
def logins_unlike_names(chinese_named_staff):  # noqa: F811
    """Every login made unmistakable ("login-desk"), so that a page showing one is caught."""
    for user in chinese_named_staff:
        user.username = LOGIN + user.username
        user.save(update_fields=["username"])
    return chinese_named_staff


@pytest.fixture
def decided_change(records, matter, no_rest_window, desk, window_staff, approver):  # noqa: F811
    """A change of another booking, asked for by the window and approved by the approver."""
    booking = appointment_register(
        matter=matter,
        window=no_rest_window,
        start=START + dt.timedelta(days=1),
        applicant_name="孙悦",
        phone="13600136000",
        channel="phone",
        actor=desk,
        now=START - dt.timedelta(days=3),
    )
    change = change_request_create(
        appointment=booking,
        new_start=START + dt.timedelta(days=2),
        reason="系统升级",
        actor=window_staff,
        now=START - dt.timedelta(days=2, hours=20),
    )
    return change_request_approve(
        change=change, actor=approver, now=START - dt.timedelta(days=2, hours=19)
    )


def staff_pages(records, change):  # noqa: F811
    booking = records["served"]
    admin = "admin:appointments_"
    return [
        reverse(f"{admin}appointment_changelist"),
        reverse(f"{admin}appointment_change", args=[booking.pk]),
        # A step form's choice of staff.
        reverse(f"{admin}appointment_step", args=[change.appointment_id, "hand_over"]),
        reverse(f"{admin}appointmentevent_changelist"),
        reverse(f"{admin}appointmentevent_change", args=[AppointmentEvent.objects.first().pk]),
        reverse(f"{admin}contactlog_changelist"),
        reverse(f"{admin}contactlog_change", args=[ContactLog.objects.first().pk]),
        reverse(f"{admin}noshowfollowup_changelist"),
        reverse(f"{admin}noshowfollowup_change", args=[NoShowFollowUp.objects.first().pk]),
        reverse(f"{admin}changerequest_changelist"),
        reverse(f"{admin}changerequest_change", args=[change.pk]),
    ]


@pytest.mark.django_db
def test_staff_pages_show_no_login_where_a_person_is_meant(
    client,
    logins_unlike_names,
    records,  # noqa: F811
    decided_change,
    approver,
    desk,
):
    assert ChangeRequest.objects.filter(decided_by=approver).exists()
    client.force_login(desk)
    shown = {
        url: [line for line in text.splitlines() if LOGIN in line]
        for url, text in pages_text(client, staff_pages(records, decided_change)).items()
        if LOGIN in text
    }
    assert not shown, shown
    # The approver's name stands where the approver is meant.
    page = client.get(reverse("admin:appointments_changerequest_changelist"))
    assert "赵刚" in visible_text(page.content.decode())


def test_a_person_without_a_name_is_shown_by_login():
    user = get_user_model()(username="temp01")
    assert str(user) == staff_name(user) == "temp01"
    named = get_user_model()(username="wangmin", first_name="敏", last_name="王")
    assert str(named) == "王敏"


def test_rosters_leave_and_staff_profiles_name_people_family_name_first():
    """The rosters' messages, a leave request and a staff profile name a Chinese name as written
    (王敏), not as ``get_full_name`` joins it ("敏 王")."""
    from duty.models import Hall, LeaveRequest, StaffProfile
    from duty.rosters._common import person

    named = get_user_model()(username="wangmin", first_name="敏", last_name="王")
    start = dt.datetime(2026, 9, 16, 12, tzinfo=dt.UTC)
    assert person(named) == "王敏"
    assert str(LeaveRequest(staff=named, start=start, end=start)).startswith("王敏 ")
    assert str(StaffProfile(user=named, hall=Hall(name="阳泉市政务服务中心"))) == (
        "王敏 (阳泉市政务服务中心)"
    )
