"""Improvement actions (DB1403/T 8.3): owner, due date, state, links to their causes; overdue
actions flagged and alerted once."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from duty.models import Window
from evaluation.improvement import (
    improvement_action_cancel,
    improvement_action_complete,
    improvement_action_create,
    improvement_action_start,
    improvement_actions_overdue,
    is_overdue,
)
from evaluation.models import BadReviewCase, ImprovementAction, Level
from evaluation.sweeps import improvement_actions_sweep
from sms.models import Alert
from yuyue.sweeps import SWEEPS

from .conftest import at, field_code
from .test_assessment import complaint, inspection, rate, served

pytestmark = pytest.mark.no_standing_roster

NOW = at(2026, 9, 30, 10)
DUE = dt.date(2026, 10, 9)  # the Friday after National Day 2026


@pytest.fixture
def owner(make_user, hall, no_rest_window):
    return make_user("owner", "window_staff", hall, no_rest_window)


@pytest.fixture
def create(hall, no_rest_window, owner, supervisor):
    def create(**kw):
        fields = {
            "hall": hall,
            "window": no_rest_window,
            "title": "午间值班提前签到",
            "description": "迟到两次",
            "owner": owner,
            "due": DUE,
            "actor": supervisor,
            "now": NOW,
        }
        fields.update(kw)
        return improvement_action_create(**fields)

    return create


class TestCreate:
    def test_supervisor_sets_an_action_linked_to_its_causes_8_3(
        self, create, hall, no_rest_window, owner, supervisor, matter
    ):
        c = complaint(hall, no_rest_window, owner, decided_at=at(2026, 9, 25), substantiated=True)
        i = inspection(no_rest_window, supervisor, at(2026, 9, 10, 12), [("delay", owner)])
        b = served(matter, no_rest_window, at(2026, 9, 16, 12), owner, arrived=0, finished=20)
        case = BadReviewCase.objects.create(
            rating=rate(b, Level.DISSATISFIED),
            opened_at=NOW,
            contact_due=dt.date(2026, 10, 8),
            rectify_due=dt.date(2026, 10, 14),
        )
        action = create(complaints=[c], findings=list(i.findings.all()), bad_reviews=[case])
        assert action.state == ImprovementAction.State.OPEN
        assert (action.created_by, action.created_at) == (supervisor, NOW)
        assert list(action.complaints.all()) == [c]
        assert list(action.bad_reviews.all()) == [case]
        assert action.findings.count() == 1

    def test_due_today_is_accepted_yesterday_is_not_8_3(self, create):
        assert create(due=dt.date(2026, 9, 30)).due == dt.date(2026, 9, 30)
        with pytest.raises(ValidationError) as excinfo:
            create(due=dt.date(2026, 9, 29))
        assert field_code(excinfo, "due") == "past"

    def test_links_must_be_of_the_same_hall(self, create, other_hall, make_user):
        outsider_head = make_user("oh", "window_head", other_hall)
        window = Window.objects.create(hall=other_hall, number="X1", name="外", head=outsider_head)
        foreign = complaint(other_hall, window, None, decided_at=None, substantiated=None)
        with pytest.raises(ValidationError) as excinfo:
            create(complaints=[foreign])
        assert field_code(excinfo, "complaints") == "other_hall"
        with pytest.raises(ValidationError) as excinfo:
            create(window=window)
        assert field_code(excinfo, "window") == "other_hall"
        with pytest.raises(ValidationError) as excinfo:
            create(owner=outsider_head)
        assert field_code(excinfo, "owner") == "other_hall"

    def test_title_is_required(self, create):
        with pytest.raises(ValidationError) as excinfo:
            create(title="   ")
        assert field_code(excinfo, "title") == "required"

    def test_who_may_set_actions_8_3(
        self, create, owner, head, regular_window, make_user, other_hall
    ):
        with pytest.raises(PermissionDenied):
            create(actor=owner)  # window staff
        assert create(actor=head).window.head == head  # the head, for the window they head
        with pytest.raises(PermissionDenied):
            create(actor=head, window=regular_window)
        with pytest.raises(PermissionDenied):
            create(actor=make_user("far", "supervisor", other_hall))


class TestSteps:
    def test_owner_starts_and_completes_with_an_outcome_8_3(self, create, owner):
        action = create()
        action = improvement_action_start(action=action, actor=owner, now=NOW)
        assert action.state == ImprovementAction.State.IN_PROGRESS
        with pytest.raises(ValidationError) as excinfo:
            improvement_action_complete(action=action, outcome=" ", actor=owner, now=NOW)
        assert field_code(excinfo, "outcome") == "required"
        done = improvement_action_complete(
            action=action, outcome="改为提前十分钟签到", actor=owner, now=NOW
        )
        assert (done.state, done.completed_at) == (ImprovementAction.State.DONE, NOW)
        with pytest.raises(ValidationError) as excinfo:
            improvement_action_complete(action=done, outcome="again", actor=owner, now=NOW)
        assert field_code(excinfo, "state") == "state"

    def test_only_who_sets_actions_cancels_with_a_reason(self, create, owner, supervisor):
        action = create()
        with pytest.raises(PermissionDenied):
            improvement_action_cancel(action=action, reason="不再需要", actor=owner, now=NOW)
        with pytest.raises(ValidationError):
            improvement_action_cancel(action=action, reason="", actor=supervisor, now=NOW)
        cancelled = improvement_action_cancel(
            action=action, reason="窗口撤并", actor=supervisor, now=NOW
        )
        assert cancelled.state == ImprovementAction.State.CANCELLED
        assert "窗口撤并" in cancelled.outcome

    def test_someone_else_cannot_complete(self, create, make_user, hall):
        stranger = make_user("stranger", "window_staff", hall)
        with pytest.raises(PermissionDenied):
            improvement_action_complete(action=create(), outcome="x", actor=stranger, now=NOW)


class TestOverdue:
    def test_overdue_the_day_after_the_due_date_not_on_it_8_3(self, create):
        action = create()
        on_due_day = at(2026, 10, 9, 23, 59)
        day_after = at(2026, 10, 10, 0, 0)  # the make-up working Saturday
        assert list(improvement_actions_overdue(on_due_day)) == []
        assert list(improvement_actions_overdue(day_after)) == [action]
        assert not is_overdue(action, now=on_due_day)
        assert is_overdue(action, now=day_after)

    def test_the_day_is_that_of_shanghai_not_utc(self, create):
        action = create()
        # 16:00 UTC on 10-09 is already 10-10 in Shanghai.
        utc = dt.datetime(2026, 10, 9, 16, 0, tzinfo=dt.UTC)
        assert list(improvement_actions_overdue(utc)) == [action]

    def test_finished_actions_are_never_overdue(self, create, owner, supervisor):
        done = improvement_action_complete(action=create(), outcome="ok", actor=owner, now=NOW)
        cancelled = improvement_action_cancel(
            action=create(), reason="x", actor=supervisor, now=NOW
        )
        later = at(2026, 12, 1)
        assert list(improvement_actions_overdue(later)) == []
        assert not is_overdue(done, now=later) and not is_overdue(cancelled, now=later)

    def test_sweep_alerts_owner_and_supervisors_once_8_3(self, create, owner, supervisor):
        action = create()
        assert "improvement_actions" in SWEEPS
        assert improvement_actions_sweep(now=at(2026, 10, 9, 12)).alerts == 0
        result = improvement_actions_sweep(now=at(2026, 10, 10, 9))
        assert result.alerts == 2
        alerts = Alert.objects.filter(kind=Alert.Kind.ACTION_OVERDUE)
        assert {a.recipient for a in alerts} == {owner, supervisor}
        assert all(action.title in a.text for a in alerts)
        assert improvement_actions_sweep(now=at(2026, 10, 11, 9)).alerts == 0

    def test_the_sweep_runs_daily(self):
        from appointments.management.commands.setup_schedules import SCHEDULES

        assert SCHEDULES["sweep improvement_actions"][1:] == ("'improvement_actions'", 1440)


class TestConsole:
    def test_list_flags_overdue_and_filters_them(
        self, client, create, supervisor, django_assert_max_num_queries
    ):
        fresh = create(due=dt.date(2099, 1, 1), title="新的")
        past = create(title="过期的")
        ImprovementAction.objects.filter(pk=past.pk).update(due=dt.date(2020, 1, 1))
        client.force_login(supervisor)
        url = reverse("admin:evaluation_improvementaction_changelist")
        page = client.get(url).content.decode()
        assert "新的" in page and "过期的" in page
        response = client.get(url, {"overdue": "1"})
        assert [a.pk for a in response.context["cl"].result_list] == [past.pk]
        assert fresh.pk not in [a.pk for a in response.context["cl"].result_list]
        with CaptureQueriesContext(connection) as few:
            client.get(url)
        for n in range(10):
            create(title=f"more {n}")
        with django_assert_max_num_queries(len(few)):
            client.get(url)

    def test_add_form_goes_through_the_service(self, client, supervisor, owner, no_rest_window):
        client.force_login(supervisor)
        url = reverse("admin:evaluation_improvementaction_add")
        data = {
            "window": no_rest_window.pk,
            "title": "补充预约登记",
            "owner": owner.pk,
            "due": "2020-01-01",
        }
        response = client.post(url, data)
        assert response.status_code == 200
        assert "due" in response.context["adminform"].form.errors
        data["due"] = "2099-01-01"
        response = client.post(url, data)
        assert response.status_code == 302
        action = ImprovementAction.objects.get()
        assert action.created_by == supervisor and action.hall == no_rest_window.hall

    def test_owner_gets_the_buttons_for_their_steps(self, client, create, owner):
        action = create()
        client.force_login(owner)
        page = client.get(
            reverse("admin:evaluation_improvementaction_change", args=[action.pk])
        ).content.decode()
        assert "step-start" in page and "step-complete" in page and "step-cancel" not in page
        step = reverse("admin:evaluation_improvementaction_step", args=[action.pk, "complete"])
        response = client.post(step, {"text": ""})
        assert response.status_code == 200 and response.context["form"].errors
        response = client.post(step, {"text": "已整改"})
        assert response.status_code == 302
        action.refresh_from_db()
        assert action.state == ImprovementAction.State.DONE
        cancel = reverse("admin:evaluation_improvementaction_step", args=[action.pk, "cancel"])
        assert client.post(cancel, {"text": "x"}).status_code == 403

    def test_another_hall_cannot_reach_the_action(self, client, create, make_user, other_hall):
        action = create()
        client.force_login(make_user("far", "supervisor", other_hall))
        step = reverse("admin:evaluation_improvementaction_step", args=[action.pk, "start"])
        assert client.post(step).status_code == 404
