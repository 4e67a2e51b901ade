"""The register (DB1403/T 附录A) exported from the console: the staff URL, the list's action,
the background job with its progress and download, and hall scoping of all of them."""

import datetime as dt
import io

import openpyxl
import pytest
import time_machine
from django.urls import reverse

from appointments.models import RegisterExport
from appointments.register import RegisterFilter, register_export_request, register_export_run
from appointments.services import appointment_register

from .conftest import START, THREE_DAYS_BEFORE, at, roster_test_dates

NOW = at(2026, 9, 14, 10, 0)
REGISTER_URL = reverse("admin:appointments_register")
LIST_URL = reverse("admin:appointments_appointment_changelist")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def media_and_sync_worker(settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path / "media"
    # The cluster runs each task at once, in this process (django-q2 reads "sync" at import).
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)


def september(hall) -> dict:
    return RegisterFilter(
        hall_id=hall.pk, date_from=dt.date(2026, 9, 1), date_to=dt.date(2026, 9, 30)
    ).to_json()


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def three(matter, no_rest_window, desk):
    return [
        appointment_register(
            matter=matter,
            window=no_rest_window,
            start=START + dt.timedelta(days=i),
            applicant_name=name,
            phone="13800138000",
            channel=("onsite", "phone")[i % 2],
            actor=desk,
            now=THREE_DAYS_BEFORE,
        )
        for i, name in enumerate(["张伟", "王芳", "李娜"])
    ]


def names(content: bytes) -> list[str]:
    ws = openpyxl.load_workbook(io.BytesIO(content)).active
    return [row[2] for row in ws.iter_rows(min_row=5, values_only=True)]


def form(hall, **kw):
    data = {"hall": hall.pk, "date_from": "2026-09-01", "date_to": "2026-09-30"}
    return {**data, "by": "appointment", **kw}


class TestStaffUrl:
    def test_small_register_downloads_at_once(self, client, desk, hall, three, frozen):
        client.force_login(desk)
        assert client.get(REGISTER_URL).status_code == 200
        response = client.post(REGISTER_URL, form(hall))
        assert response["Content-Type"] == XLSX
        assert "attachment" in response["Content-Disposition"]
        assert "xlsx" in response["Content-Disposition"]
        assert names(response.content) == ["张伟", "王芳", "李娜"]

    def test_filters_apply(self, client, desk, hall, three, frozen):
        client.force_login(desk)
        response = client.post(REGISTER_URL, form(hall, channel="phone"))
        assert names(response.content) == ["王芳"]

    def test_period_ending_before_it_starts_is_a_form_error(self, client, desk, hall, frozen):
        client.force_login(desk)
        response = client.post(
            REGISTER_URL, form(hall, date_from="2026-09-30", date_to="2026-09-01")
        )
        assert "date_to" in response.context["form"].errors

    def test_list_filters_carry_over_to_the_form(self, client, desk, no_rest_window, frozen):
        client.force_login(desk)
        page = client.get(LIST_URL, {"window__id__exact": no_rest_window.pk})
        assert f"window__id__exact={no_rest_window.pk}" in page.context["register_url"]
        page = client.get(page.context["register_url"])
        assert str(page.context["form"]["window"].value()) == str(no_rest_window.pk)

    def test_supervisor_may_export(self, client, supervisor, hall, three, frozen):
        client.force_login(supervisor)
        assert len(names(client.post(REGISTER_URL, form(hall)).content)) == 3


class TestListAction:
    def test_selected_rows(self, client, desk, three, frozen):
        client.force_login(desk)
        response = client.post(
            LIST_URL,
            {"action": "export_register", "_selected_action": [three[0].pk, three[2].pk]},
        )
        assert response["Content-Type"] == XLSX
        assert names(response.content) == ["张伟", "李娜"]

    def test_everything_the_filter_shows(self, client, desk, three, frozen):
        client.force_login(desk)
        response = client.post(
            f"{LIST_URL}?channel__exact=onsite",
            {"action": "export_register", "select_across": "1", "_selected_action": [three[0].pk]},
        )
        assert names(response.content) == ["张伟", "李娜"]


class TestBackgroundJob:
    """A register larger than REGISTER_EXPORT_SYNC_MAX_ROWS is written by the worker; the user
    follows its progress and downloads it when it is ready."""

    def test_large_register_runs_in_the_background(
        self, client, desk, hall, three, settings, frozen, django_capture_on_commit_callbacks
    ):
        settings.REGISTER_EXPORT_SYNC_MAX_ROWS = 2
        client.force_login(desk)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(REGISTER_URL, form(hall))
        job = RegisterExport.objects.get()
        assert response.status_code == 302
        assert response["Location"] == reverse("admin:appointments_register_status", args=[job.pk])
        job.refresh_from_db()
        assert job.state == RegisterExport.State.DONE
        assert (job.rows_written, job.rows_total, job.percent) == (3, 3, 100)
        page = client.get(response["Location"]).content.decode()
        download = reverse("admin:appointments_register_download", args=[job.pk])
        assert download in page
        response = client.get(download)
        assert response["Content-Type"] == XLSX
        assert names(b"".join(response.streaming_content)) == ["张伟", "王芳", "李娜"]

    def test_queued_job_shows_progress_and_refreshes(self, client, desk, hall, frozen):
        job = RegisterExport.objects.create(
            hall=hall,
            requested_by=desk,
            requested_at=NOW,
            params=september(hall),
            rows_total=10,
            rows_written=4,
        )
        client.force_login(desk)
        page = client.get(reverse("admin:appointments_register_status", args=[job.pk]))
        assert page.context["refresh"] and 'http-equiv="refresh"' in page.content.decode()
        assert job.percent == 40
        download = reverse("admin:appointments_register_download", args=[job.pk])
        assert client.get(download).status_code == 404  # not ready yet

    def test_task_is_queued_after_commit_and_runs_once(
        self, desk, hall, three, frozen, django_capture_on_commit_callbacks
    ):
        register = RegisterFilter(
            hall_id=hall.pk, date_from=dt.date(2026, 9, 1), date_to=dt.date(2026, 9, 30)
        )
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            job = register_export_request(register=register, actor=desk, now=NOW)
        assert len(callbacks) == 1 and job.state == RegisterExport.State.QUEUED
        first = register_export_run(export_id=job.pk, now=NOW)
        second = register_export_run(export_id=job.pk, now=NOW)  # a redelivered task
        assert first.state == second.state == RegisterExport.State.DONE
        assert second.file.name == first.file.name

    def test_a_failing_export_says_so(self, desk, hall, frozen, django_capture_on_commit_callbacks):
        job = RegisterExport.objects.create(
            hall=hall, requested_by=desk, requested_at=NOW, params={"hall_id": hall.pk}
        )  # a filter without its period cannot be read
        job = register_export_run(export_id=job.pk, now=NOW)
        assert job.state == RegisterExport.State.FAILED and job.error


class TestScoping:
    """Export is hall-scoped: another hall's register, job or file is not to be had."""

    def test_another_halls_register_cannot_be_chosen(
        self, client, make_user, other_hall, hall, three, frozen
    ):
        stranger = make_user("jq-desk", "desk", other_hall)
        client.force_login(stranger)
        response = client.post(REGISTER_URL, form(hall))
        assert "hall" in response.context["form"].errors
        assert list(response.context["form"].fields["hall"].queryset) == [other_hall]

    def test_another_halls_window_cannot_be_chosen(
        self, client, desk, hall, make_user, other_hall, frozen
    ):
        from duty.models import Window

        foreign = Window.objects.create(hall=other_hall, number="J01", name="郊区窗口")
        client.force_login(desk)
        response = client.post(REGISTER_URL, form(hall, window=foreign.pk))
        assert "window" in response.context["form"].errors

    def test_list_action_exports_only_the_own_hall(
        self, client, make_user, other_hall, three, frozen
    ):
        stranger = make_user("jq-desk", "desk", other_hall)
        client.force_login(stranger)
        response = client.post(
            LIST_URL, {"action": "export_register", "_selected_action": [three[0].pk]}
        )
        assert response.get("Content-Type") != XLSX  # nothing of another hall is selectable

    @pytest.mark.parametrize("who", ["colleague", "other-hall"])
    def test_someone_elses_export_is_not_found(
        self, client, make_user, hall, other_hall, desk, who, frozen
    ):
        job = RegisterExport.objects.create(
            hall=hall,
            requested_by=desk,
            requested_at=NOW,
            params=september(hall),
            state=RegisterExport.State.DONE,
        )
        job.file.save("x.xlsx", io.BytesIO(b"PK"))
        user = make_user(who, "desk", hall if who == "colleague" else other_hall)
        client.force_login(user)
        for name in ("admin:appointments_register_status", "admin:appointments_register_download"):
            assert client.get(reverse(name, args=[job.pk])).status_code == 404

    def test_files_are_not_served_as_public_media(self, client, settings):
        assert client.get(f"{settings.MEDIA_URL}registers/x.xlsx").status_code == 404

    def test_anonymous_users_are_sent_to_log_in(self, client, desk, hall, frozen):
        job = RegisterExport.objects.create(
            hall=hall, requested_by=desk, requested_at=NOW, params=september(hall)
        )
        response = client.get(reverse("admin:appointments_register_download", args=[job.pk]))
        assert response.status_code == 302 and "login" in response["Location"]


class TestListActionLimits:
    def test_bookings_of_two_halls_are_refused(
        self, client, supervisor, three, other_hall, make_user, matter, frozen
    ):
        """A city supervisor sees every hall, but a register is per hall."""
        from duty.models import Department, Window

        department = Department.objects.create(hall=other_hall, name="市场监督管理局")
        window = Window.objects.create(hall=other_hall, number="J01", name="郊区", is_no_rest=True)
        window.departments.add(department)
        from appointments.models import Matter

        jq_matter = Matter.objects.create(hall=other_hall, name="郊区事项")
        jq_matter.departments.add(department)
        jq_matter.windows.add(window)
        roster_test_dates(window, make_user("jq-window", "window_staff", other_hall, window))
        foreign = appointment_register(
            matter=jq_matter,
            window=window,
            start=START,
            applicant_name="郊区申请人",
            phone="13800138000",
            channel="onsite",
            actor=make_user("jq-desk", "desk", other_hall),
            now=THREE_DAYS_BEFORE,
        )
        client.force_login(supervisor)
        response = client.post(
            LIST_URL,
            {"action": "export_register", "_selected_action": [three[0].pk, foreign.pk]},
            follow=True,
        )
        assert response.get("Content-Type") != XLSX
        assert any("同一服务中心" in str(m) for m in response.context["messages"])

    def test_too_many_rows_are_sent_to_the_register_page(
        self, client, desk, three, settings, frozen
    ):
        settings.REGISTER_ACTION_MAX_ROWS = 2
        client.force_login(desk)
        response = client.post(
            LIST_URL, {"action": "export_register", "select_across": "1", "_selected_action": [1]}
        )
        assert response.status_code == 302 and response["Location"] == REGISTER_URL
