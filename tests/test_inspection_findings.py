"""DB1403/T 7.2 及时进行处理: every inspection finding gets a handler, a deadline of
INSPECTION_FINDING_WORKING_DAYS (5) working days counted with the holiday calendar, and an
outcome; an overdue finding alerts its handler and the hall's supervisors; the outcome counts in
the assessment (7.4). The holidays are 2026's National Day week (10-01..10-07 off, Saturday 10-10
a make-up working day), loaded into the calendar by the ``hall`` fixture (holidays_2026)."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from duty.models import InspectionFinding
from duty.supervision import (
    inspection_finding_assign,
    inspection_finding_dispose,
    inspection_record,
)
from duty.sweeps import inspection_findings_sweep
from evaluation.month_counts import assessment_counts
from sms.models import Alert
from tests.conftest import at, field_code

FOUND_AT = at(2026, 9, 30, 15, 0)


@pytest.fixture
def finding(no_rest_window, supervisor, window_staff):
    inspection = inspection_record(
        window=no_rest_window,
        at=FOUND_AT,
        inspector=supervisor,
        findings=[(InspectionFinding.Kind.SHIRKING, window_staff, "推诿申请人到其他窗口")],
        now=FOUND_AT + dt.timedelta(minutes=20),
    )
    return inspection.findings.get()


@pytest.fixture
def second_supervisor(make_user, hall):
    return make_user("supervisor2", "supervisor", hall)


def finding_alerts():
    return list(Alert.objects.filter(kind=Alert.Kind.FINDING_OVERDUE).order_by("recipient_id"))


class TestDeadline:
    def test_deadline_is_5_working_days_across_national_day_7_2(self, finding, supervisor):
        """Found on 2026-09-30: the week 10-01..10-07 is off; 10-08, 10-09, the make-up
        Saturday 10-10, 10-12 and 10-13 are the five working days."""
        assert finding.handler == supervisor
        assert finding.due == dt.date(2026, 10, 13)
        assert finding.state == InspectionFinding.State.OPEN

    def test_overdue_alert_from_10_14_not_10_13_23_59_7_2(
        self, finding, supervisor, second_supervisor
    ):
        assert inspection_findings_sweep(now=at(2026, 10, 13, 23, 59)).alerts == 0
        assert inspection_findings_sweep(now=at(2026, 10, 14, 0, 0)).alerts == 2
        assert [a.recipient for a in finding_alerts()] == [supervisor, second_supervisor]
        assert "2026-10-13" in finding_alerts()[0].text

    def test_sweep_twice_alerts_once_7_2(self, finding):
        inspection_findings_sweep(now=at(2026, 10, 14, 9))
        assert inspection_findings_sweep(now=at(2026, 10, 14, 10)).alerts == 0
        assert len(finding_alerts()) == 1

    def test_dealt_with_in_time_raises_nothing_7_2(self, finding, supervisor):
        inspection_finding_dispose(
            finding=finding,
            outcome=InspectionFinding.Outcome.CORRECTED,
            measures="批评教育，当面向申请人致歉",
            actor=supervisor,
            now=at(2026, 10, 13, 17),
        )
        assert inspection_findings_sweep(now=at(2026, 10, 20)).alerts == 0


class TestDisposition:
    def test_outcome_and_measures_are_required_7_2(self, finding, supervisor):
        with pytest.raises(ValidationError) as excinfo:
            inspection_finding_dispose(
                finding=finding, outcome="", measures="x", actor=supervisor, now=at(2026, 10, 9)
            )
        assert field_code(excinfo, "outcome") == "required"
        with pytest.raises(ValidationError) as excinfo:
            inspection_finding_dispose(
                finding=finding,
                outcome=InspectionFinding.Outcome.UNFOUNDED,
                measures=" ",
                actor=supervisor,
                now=at(2026, 10, 9),
            )
        assert "measures" in excinfo.value.error_dict

    def test_dealt_with_once_7_2(self, finding, supervisor):
        kwargs = dict(outcome="accountable", measures="通报批评", actor=supervisor)
        inspection_finding_dispose(finding=finding, now=at(2026, 10, 9), **kwargs)
        with pytest.raises(ValidationError) as excinfo:
            inspection_finding_dispose(finding=finding, now=at(2026, 10, 9, 1), **kwargs)
        assert field_code(excinfo, "state") == "state"
        finding.refresh_from_db()
        assert (finding.disposed_by, finding.disposed_at) == (supervisor, at(2026, 10, 9))

    def test_only_supervisors_of_the_hall_deal_with_it_7_2(
        self, finding, head, make_user, other_hall
    ):
        district = make_user("district-sup", "supervisor", other_hall)
        for actor in (head, district):
            with pytest.raises(PermissionDenied):
                inspection_finding_dispose(
                    finding=finding, outcome="corrected", measures="x", actor=actor, now=FOUND_AT
                )

    def test_handed_to_another_supervisor_not_to_a_window_head_7_2(
        self, finding, supervisor, second_supervisor, head
    ):
        inspection_finding_assign(
            finding=finding, handler=second_supervisor, actor=supervisor, now=at(2026, 10, 8)
        )
        finding.refresh_from_db()
        assert finding.handler == second_supervisor and finding.due == dt.date(2026, 10, 13)
        with pytest.raises(ValidationError) as excinfo:
            inspection_finding_assign(
                finding=finding, handler=head, actor=supervisor, now=at(2026, 10, 8)
            )
        assert field_code(excinfo, "handler") == "not_supervisor"


class TestAssessment:
    def counts(self, hall, window_staff, no_rest_window):
        windows, staff = assessment_counts(
            hall_id=hall.pk, month=dt.date(2026, 9, 1), now=at(2026, 10, 20)
        )
        return windows[no_rest_window.pk]["findings"], staff[window_staff.pk]["findings"]

    def test_open_and_substantiated_count_unfounded_does_not_7_2_7_4(
        self, finding, supervisor, hall, window_staff, no_rest_window
    ):
        assert self.counts(hall, window_staff, no_rest_window) == (1, 1)
        inspection_finding_dispose(
            finding=finding,
            outcome=InspectionFinding.Outcome.CORRECTED,
            measures="批评教育",
            actor=supervisor,
            now=at(2026, 10, 9),
        )
        assert self.counts(hall, window_staff, no_rest_window) == (1, 1)
        InspectionFinding.objects.filter(pk=finding.pk).update(outcome="unfounded")
        assert self.counts(hall, window_staff, no_rest_window) == (0, 0)


class TestConsole:
    def test_console_inspection_gets_handler_and_deadline_7_2(
        self, client, supervisor, no_rest_window, window_staff
    ):
        client.force_login(supervisor)
        with time_machine.travel(at(2026, 9, 30, 16), tick=False):
            response = client.post(
                "/admin/duty/inspection/add/",
                {
                    "window": no_rest_window.pk,
                    "at_0": "2026-09-30",
                    "at_1": "15:00",
                    "staff": [window_staff.pk],
                    "notes": "",
                    "findings-TOTAL_FORMS": "1",
                    "findings-INITIAL_FORMS": "0",
                    "findings-0-kind": "delay",
                    "findings-0-staff": window_staff.pk,
                    "findings-0-note": "",
                },
            )
        assert response.status_code == 302
        finding = InspectionFinding.objects.get()
        assert (finding.handler, finding.due) == (supervisor, dt.date(2026, 10, 13))

    def test_overdue_list_and_dispose_step_7_2(self, client, finding, supervisor, head):
        list_url = reverse("admin:duty_inspectionfinding_changelist")
        step_url = reverse("admin:duty_inspectionfinding_step", args=[finding.pk, "dispose"])
        client.force_login(supervisor)
        with time_machine.travel(at(2026, 10, 13, 23, 59), tick=False):
            assert client.get(list_url, {"overdue": "1"}).context["cl"].result_count == 0
        with time_machine.travel(at(2026, 10, 14, 9), tick=False):
            assert client.get(list_url, {"overdue": "1"}).context["cl"].result_count == 1
            page = client.get(reverse("admin:duty_inspectionfinding_change", args=[finding.pk]))
            assert step_url in page.content.decode()
            response = client.post(step_url, {"outcome": "corrected", "measures": "批评教育"})
            assert response.status_code == 302
            assert client.get(list_url, {"overdue": "1"}).context["cl"].result_count == 0
        finding.refresh_from_db()
        assert finding.outcome == "corrected" and finding.disposed_by == supervisor
        client.force_login(head)
        assert client.get(step_url).status_code == 403


class TestFindingsListQueries:
    def test_the_findings_list_costs_as_many_queries_for_six_findings_as_for_one_7_2(
        self, client, finding, no_rest_window, supervisor, window_staff
    ):
        """The console's findings list reads its windows, staff and handlers with the rows,
        not one query per row: the count stays flat as findings grow."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        url = reverse("admin:duty_inspectionfinding_changelist")
        client.force_login(supervisor)
        client.get(url)  # warm the session and permission caches

        def queries() -> int:
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url).status_code == 200
            return len(captured)

        one = queries()
        inspection_record(
            window=no_rest_window,
            at=FOUND_AT + dt.timedelta(hours=1),
            inspector=supervisor,
            findings=[(InspectionFinding.Kind.ABSENT, window_staff, f"离岗 {n}") for n in range(5)],
            now=FOUND_AT + dt.timedelta(hours=1, minutes=20),
        )
        assert InspectionFinding.objects.count() == 6
        assert queries() == one
