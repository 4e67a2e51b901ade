"""A window's monthly self-evaluation (DB1403/T 8.1): the checklist prefilled from the records,
each figure at its boundary, who keeps it, saving, submitting and freezing."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, Subquery
from django.urls import reverse

from duty.models import Duty, DutyAssignment
from evaluation.models import Level, SelfEvaluation
from evaluation.selfeval import (
    self_evaluation_figures,
    self_evaluation_save,
    self_evaluation_submit,
)

from .conftest import at, field_code, roster_standing
from .test_assessment import change, complaint, duty, follow_up, rate, served

pytestmark = pytest.mark.no_standing_roster

SEPTEMBER = dt.date(2026, 9, 1)
NOW = at(2026, 10, 12, 9)  # September is over
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def _rules(settings):
    settings.SERVED_ON_TIME_MINUTES = 60
    settings.NO_SHOW_FOLLOW_UP_RECORD_MINUTES = 30
    settings.CHANGE_NOTICE_MIN_HOURS = 8
    settings.SELF_EVALUATION_GOOD_REVIEW_TARGET = 0.9


@pytest.fixture
def clerk(make_user, hall, no_rest_window):
    return make_user("clerk", "window_staff", hall, no_rest_window)


@pytest.fixture
def covered(no_rest_window, head):
    """The head on duty in every off-hours period of September to November, checked in on
    time: no roster gaps, no late check-ins."""
    roster_standing(no_rest_window, head, SEPTEMBER, dt.date(2026, 11, 30))
    DutyAssignment.objects.update(
        checked_in_at=Subquery(Duty.objects.filter(pk=OuterRef("duty_id")).values("start"))
    )


def figures(window, now=NOW, month=SEPTEMBER):
    return {
        item["key"]: item for item in self_evaluation_figures(window=window, month=month, now=now)
    }


class TestFigures:
    def test_checklist_names_its_clauses_8_1(self, no_rest_window):
        items = self_evaluation_figures(window=no_rest_window, month=SEPTEMBER, now=NOW)
        assert [(i["key"], i["clause"]) for i in items] == [
            ("served_on_time", "5.1.2, 6.2.1"),
            ("change_notice", "6.2.2"),
            ("change_emergencies", "6.2.2"),
            ("follow_ups", "6.2.3"),
            ("roster_gaps", "4, 5.2, 6.2.4"),
            ("late_check_ins", "6.2.1"),
            ("fee_complaints", "6.2.6"),
            ("good_review_rate", "8.2"),
        ]
        assert all({"label", "value", "target", "ok"} <= set(i) for i in items)

    def test_change_told_8_h_0_min_before_is_in_time_7_h_59_min_is_not_6_2_2(
        self, matter, no_rest_window, clerk, head
    ):
        change(matter, no_rest_window, clerk, at(2026, 9, 22, 20), notice=8 * HOUR, actor=head)
        item = figures(no_rest_window)["change_notice"]
        assert (item["value"], item["ok"]) == (0, True)
        change(
            matter, no_rest_window, clerk, at(2026, 9, 23, 20), notice=8 * HOUR - MINUTE, actor=head
        )
        item = figures(no_rest_window)["change_notice"]
        assert (item["value"], item["ok"]) == (1, False)

    def test_emergencies_are_counted_apart_6_2_2(self, matter, no_rest_window, clerk, head):
        change(
            matter,
            no_rest_window,
            clerk,
            at(2026, 9, 23, 20),
            notice=HOUR,
            emergency=True,
            actor=head,
        )
        f = figures(no_rest_window)
        assert f["change_notice"]["value"] == 0
        assert (f["change_emergencies"]["value"], f["change_emergencies"]["ok"]) == (1, None)

    def test_served_60_min_after_the_start_is_on_time_61_is_not_5_1_2(
        self, matter, no_rest_window, clerk
    ):
        served(matter, no_rest_window, at(2026, 9, 16, 12), clerk, arrived=-5, finished=60)
        item = figures(no_rest_window)["served_on_time"]
        assert (item["value"], item["ok"]) == (1.0, True)
        served(matter, no_rest_window, at(2026, 9, 17, 12), clerk, arrived=-5, finished=61)
        item = figures(no_rest_window)["served_on_time"]
        assert (item["value"], item["ok"]) == (0.5, False)

    def test_a_late_applicant_is_timed_from_their_arrival_5_1_2(
        self, matter, no_rest_window, clerk
    ):
        served(matter, no_rest_window, at(2026, 9, 16, 12), clerk, arrived=45, finished=105)
        assert figures(no_rest_window)["served_on_time"]["value"] == 1.0

    def test_follow_up_recorded_30_min_after_due_is_on_time_31_is_not_6_2_3(
        self, matter, no_rest_window, clerk
    ):
        follow_up(matter, no_rest_window, clerk, at(2026, 9, 25, 12), recorded_after=30 * MINUTE)
        assert figures(no_rest_window)["follow_ups"]["value"] == 1.0
        follow_up(matter, no_rest_window, clerk, at(2026, 9, 26, 12), recorded_after=31 * MINUTE)
        item = figures(no_rest_window)["follow_ups"]
        assert (item["value"], item["ok"]) == (0.5, False)

    def test_an_open_follow_up_counts_once_its_time_is_up_6_2_3(
        self, matter, no_rest_window, clerk
    ):
        follow_up(matter, no_rest_window, clerk, at(2026, 10, 5, 12), recorded_after=None)
        due = at(2026, 10, 5, 12, 30)
        month = dt.date(2026, 10, 1)
        assert (
            figures(no_rest_window, now=due + 30 * MINUTE, month=month)["follow_ups"]["value"]
            is None
        )
        assert (
            figures(no_rest_window, now=due + 31 * MINUTE, month=month)["follow_ups"]["value"]
            == 0.0
        )

    def test_late_check_ins_and_absences_6_2_1(self, no_rest_window, clerk):
        duty(no_rest_window, clerk, at(2026, 9, 5, 12), late_minutes=0)
        duty(no_rest_window, clerk, at(2026, 9, 6, 12), late_minutes=1)
        duty(no_rest_window, clerk, at(2026, 9, 12, 12), late_minutes=None)
        item = figures(no_rest_window)["late_check_ins"]
        assert (item["value"], item["ok"]) == (2, False)
        assert "1" in item["detail"]

    def test_roster_gaps_of_the_month_5_2(self, no_rest_window, head, regular_window):
        roster_standing(no_rest_window, head, SEPTEMBER, dt.date(2026, 9, 30))
        assert figures(no_rest_window)["roster_gaps"]["value"] == 0
        DutyAssignment.objects.filter(duty__start=at(2026, 9, 16, 12)).delete()
        item = figures(no_rest_window)["roster_gaps"]
        assert (item["value"], item["ok"]) == (1, False)
        regular = figures(regular_window)["roster_gaps"]
        assert (regular["value"], regular["ok"]) == (None, None)

    def test_fee_complaints_of_the_window_in_the_month_6_2_6(
        self, hall, no_rest_window, regular_window, clerk
    ):
        complaint(
            hall,
            no_rest_window,
            clerk,
            decided_at=at(2026, 9, 20),
            substantiated=True,
            category="fees",
        )
        complaint(
            hall,
            regular_window,
            None,
            decided_at=at(2026, 9, 20),
            substantiated=True,
            category="fees",
        )
        complaint(hall, no_rest_window, clerk, decided_at=at(2026, 9, 20), substantiated=True)
        complaint(
            hall,
            no_rest_window,
            clerk,
            decided_at=at(2026, 10, 8),
            substantiated=True,
            category="fees",
        )
        item = figures(no_rest_window)["fee_complaints"]
        assert (item["value"], item["ok"]) == (1, False)

    def test_good_review_rate_against_its_target_8_2(self, matter, no_rest_window, clerk):
        for day, level in enumerate([5, 5, 4, 4, 5, 5, 4, 5, 5, 2], start=1):
            rate(
                served(matter, no_rest_window, at(2026, 9, day, 12), clerk, arrived=0, finished=9),
                Level(level),
            )
        item = figures(no_rest_window)["good_review_rate"]
        assert (item["value"], item["ok"]) == (0.9, True)

    def test_no_data_is_not_judged(self, no_rest_window):
        f = figures(no_rest_window)
        assert f["served_on_time"]["ok"] is None
        assert f["good_review_rate"]["display"] == "—"


@pytest.mark.usefixtures("covered")
class TestSaveAndSubmit:
    def test_the_head_saves_and_saves_again_one_per_month_8_1(self, head, no_rest_window):
        first = self_evaluation_save(
            window=no_rest_window, month=SEPTEMBER, answers={}, remarks="草稿", actor=head, now=NOW
        )
        again = self_evaluation_save(
            window=no_rest_window,
            month=SEPTEMBER,
            answers={"fee_complaints": {"conforms": True, "note": ""}},
            remarks="定稿",
            actor=head,
            now=NOW,
        )
        assert first.pk == again.pk and SelfEvaluation.objects.count() == 1
        again.refresh_from_db()
        assert again.remarks == "定稿"
        assert again.answers["fee_complaints"]["conforms"] is True
        assert "fee_complaints" in again.figures["items"]

    def test_who_keeps_it_8_1(self, no_rest_window, clerk, supervisor, make_user, hall):
        for outsider in (clerk, supervisor, make_user("otherhead", "window_head", hall)):
            with pytest.raises(PermissionDenied):
                self_evaluation_save(
                    window=no_rest_window,
                    month=SEPTEMBER,
                    answers={},
                    remarks="",
                    actor=outsider,
                    now=NOW,
                )
        administrator = make_user("admin1", "administrator", hall)
        assert self_evaluation_save(
            window=no_rest_window,
            month=SEPTEMBER,
            answers={},
            remarks="",
            actor=administrator,
            now=NOW,
        )

    @pytest.mark.parametrize(
        ("month", "code"),
        [(dt.date(2026, 11, 1), "future"), (dt.date(2026, 9, 2), "day"), ("2026-13", "invalid")],
    )
    def test_bad_months(self, head, no_rest_window, month, code):
        with pytest.raises(ValidationError) as excinfo:
            self_evaluation_save(
                window=no_rest_window, month=month, answers={}, remarks="", actor=head, now=NOW
            )
        assert field_code(excinfo, "month") == code

    def test_the_current_month_may_be_drafted_but_not_submitted(self, head, no_rest_window):
        october = dt.date(2026, 10, 1)
        draft = self_evaluation_save(
            window=no_rest_window, month=october, answers={}, remarks="", actor=head, now=NOW
        )
        with pytest.raises(ValidationError) as excinfo:
            self_evaluation_submit(evaluation=draft, actor=head, now=at(2026, 10, 31, 23, 59))
        assert field_code(excinfo, "month") == "not_over"
        assert self_evaluation_submit(evaluation=draft, actor=head, now=at(2026, 11, 1, 0, 0))

    def test_unknown_answers_are_refused(self, head, no_rest_window):
        with pytest.raises(ValidationError) as excinfo:
            self_evaluation_save(
                window=no_rest_window,
                month=SEPTEMBER,
                answers={"free_coffee": {"conforms": True}},
                remarks="",
                actor=head,
                now=NOW,
            )
        assert field_code(excinfo, "answers") == "unknown"

    def test_an_item_not_met_needs_a_note_before_submitting_8_3(self, head, no_rest_window, clerk):
        duty(no_rest_window, clerk, at(2026, 9, 6, 12), late_minutes=3)
        draft = self_evaluation_save(
            window=no_rest_window, month=SEPTEMBER, answers={}, remarks="", actor=head, now=NOW
        )
        with pytest.raises(ValidationError) as excinfo:
            self_evaluation_submit(evaluation=draft, actor=head, now=NOW)
        assert field_code(excinfo, "answers") == "unexplained"
        draft = self_evaluation_save(
            window=no_rest_window,
            month=SEPTEMBER,
            answers={"late_check_ins": {"conforms": False, "note": "已约谈，改为提前签到"}},
            remarks="",
            actor=head,
            now=NOW,
        )
        submitted = self_evaluation_submit(evaluation=draft, actor=head, now=NOW)
        assert (submitted.submitted_by, submitted.submitted_at) == (head, NOW)

    def test_submission_freezes_the_figures_as_evidence_8_1(self, head, no_rest_window, clerk):
        draft = self_evaluation_save(
            window=no_rest_window, month=SEPTEMBER, answers={}, remarks="", actor=head, now=NOW
        )
        submitted = self_evaluation_submit(evaluation=draft, actor=head, now=NOW)
        duty(no_rest_window, clerk, at(2026, 9, 6, 12), late_minutes=3)  # found later
        submitted.refresh_from_db()
        assert submitted.figures["items"]["late_check_ins"]["value"] == 0
        with pytest.raises(ValidationError) as excinfo:
            self_evaluation_save(
                window=no_rest_window, month=SEPTEMBER, answers={}, remarks="x", actor=head, now=NOW
            )
        assert field_code(excinfo, "month") == "submitted"
        with pytest.raises(ValidationError):
            self_evaluation_submit(evaluation=submitted, actor=head, now=NOW)


@pytest.mark.usefixtures("covered")
class TestConsolePage:
    URL = "admin:evaluation_selfevaluation_fill"

    def test_head_sees_the_prefilled_checklist_and_submits_8_1(
        self, client, head, no_rest_window, clerk
    ):
        duty(no_rest_window, clerk, at(2026, 9, 6, 12), late_minutes=3)
        client.force_login(head)
        url = reverse(self.URL) + f"?window={no_rest_window.pk}&month=2026-09"
        page = client.get(url)
        assert page.status_code == 200
        items = {item["key"]: item for item in page.context["items"]}
        assert items["late_check_ins"]["conforms"] is False  # prefilled from the records
        assert items["fee_complaints"]["conforms"] is True
        response = client.post(
            url, {"conforms-late_check_ins": "no", "remarks": "九月", "submit": "1"}
        )
        assert response.status_code == 200
        assert any(
            "late" in e.lower() or "迟" in e or "Explain" in e or "说明" in e
            for e in response.context["errors"]
        )
        response = client.post(
            url,
            {
                "conforms-late_check_ins": "no",
                "note-late_check_ins": "已约谈",
                "remarks": "九月",
                "submit": "1",
            },
        )
        assert response.status_code == 302
        evaluation = SelfEvaluation.objects.get()
        assert evaluation.submitted_by == head and evaluation.remarks == "九月"
        page = client.get(url).content.decode()
        assert "已约谈" in page and 'name="submit"' not in page

    def test_a_future_month_is_a_message(self, client, head, no_rest_window):
        client.force_login(head)
        response = client.get(reverse(self.URL), {"window": no_rest_window.pk, "month": "2999-01"})
        assert response.status_code == 200 and response.context["errors"]

    def test_supervisors_read_but_do_not_fill(self, client, supervisor, head, no_rest_window):
        self_evaluation_save(
            window=no_rest_window, month=SEPTEMBER, answers={}, remarks="九月", actor=head, now=NOW
        )
        client.force_login(supervisor)
        assert client.get(reverse(self.URL)).status_code == 403
        evaluation = SelfEvaluation.objects.get()
        page = client.get(
            reverse("admin:evaluation_selfevaluation_change", args=[evaluation.pk])
        ).content.decode()
        assert "九月" in page and "6.2.2" in page


# --- links to the report pages -------------------------------------------------------------------


def test_front_page_and_list_link_only_the_pages_the_user_may_open(
    client, head, supervisor, desk, no_rest_window
):
    """The assessment, self-evaluation, complaint figures and ledger pages are reachable from
    the console's front page; nobody is offered a link that answers 403."""
    fill = reverse("admin:evaluation_selfevaluation_fill")
    assessment = reverse("admin:evaluation_assessment")
    figures = reverse("admin:complaints_figures")
    ledger = reverse("admin:complaints_ledger")
    changelist = reverse("admin:evaluation_selfevaluation_changelist")

    client.force_login(supervisor)
    front = client.get(reverse("admin:index")).content.decode()
    assert assessment in front and figures in front and ledger in front
    assert fill not in front
    listing = client.get(changelist).content.decode()
    assert assessment in listing and fill not in listing
    for url in (assessment, figures, ledger):
        assert client.get(url).status_code == 200

    client.force_login(head)  # heads read the assessment of their windows (DB1403/T 7.4, 6.2.5)
    front = client.get(reverse("admin:index")).content.decode()
    assert fill in front and assessment in front
    listing = client.get(changelist).content.decode()
    assert fill in listing and assessment in listing
    assert client.get(fill).status_code == 200
    assert client.get(assessment).status_code == 200

    client.force_login(desk)
    front = client.get(reverse("admin:index")).content.decode()
    assert fill not in front and assessment not in front
