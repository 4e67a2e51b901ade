"""The console toolkit's transition tables (yuyue.transitions): one table per state machine, read
by the service's own state check and by the console's buttons, so that they cannot disagree."""

import datetime as dt
import inspect
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.utils.module_loading import import_string

from appointments.services import BOOKING_STEPS, CHANGE_STEPS
from complaints.services import COMPLAINT_STEPS
from evaluation.improvement import ACTION_STEPS
from evaluation.ratings import APPEAL_STEPS, CASE_STEPS
from yuyue.console import StepForm
from yuyue.transitions import Transition, TransitionTable

NOW = dt.datetime(2026, 12, 7, 9, tzinfo=dt.UTC)
TABLES = [BOOKING_STEPS, CHANGE_STEPS, COMPLAINT_STEPS, CASE_STEPS, APPEAL_STEPS, ACTION_STEPS]


class User:
    def __init__(self, *perms, pk=1):
        self.perms, self.pk = set(perms), pk

    def has_perm(self, perm):
        return perm in self.perms


def refusal(record, transition):
    return ValidationError({"state": f"not {transition.name} from {record.state}"})


def table(*transitions):
    return TransitionTable(*transitions, state="state", subject="thing", refusal=refusal)


def step(name, sources=("a",), **options):
    return Transition(name, name.title(), "builtins.dict", sources, **options)


class TestTheTable:
    def test_check_refuses_a_state_outside_the_sources_with_the_tables_refusal(self):
        steps = table(step("go", ("a",)))
        steps.check("go", SimpleNamespace(state="a"))
        with pytest.raises(ValidationError) as refused:
            steps.check("go", SimpleNamespace(state="b"))
        assert refused.value.message_dict == {"state": ["not go from b"]}

    def test_requires_is_part_of_the_state_check(self):
        steps = table(step("rectify", ("contacted",), requires=lambda r: r.verified))
        assert steps.permits("rectify", SimpleNamespace(state="contacted", verified=True))
        assert not steps.permits("rectify", SimpleNamespace(state="contacted", verified=False))

    def test_offered_needs_the_permission_the_state_and_the_time(self):
        steps = table(
            step("first", perm="app.first"),
            step("later", when=lambda record, now: now >= record.due),
            step("other_state", ("b",)),
        )
        record = SimpleNamespace(state="a", due=NOW)
        offered = steps.offered(record, user=User("app.first"), now=NOW - dt.timedelta(minutes=1))
        assert [t.name for t in offered] == ["first"]
        assert [t.name for t in steps.offered(record, user=User(), now=NOW)] == ["later"]

    def test_who_beyond_the_permission_is_the_services_own_function(self):
        steps = table(step("start", actor_may=lambda user, record: user.pk == record.owner_id))
        record = SimpleNamespace(state="a", owner_id=7)
        assert steps.offered(record, user=User(pk=7), now=NOW)
        assert not steps.offered(record, user=User(pk=8), now=NOW)

    def test_a_step_not_for_staff_is_never_offered_but_still_checked(self):
        steps = table(step("sweep", console=False))
        assert steps.offered(SimpleNamespace(state="a"), user=User(), now=NOW) == []
        with pytest.raises(ValidationError):
            steps.check("sweep", SimpleNamespace(state="b"))

    def test_a_user_without_any_steps_permission_may_take_none(self):
        steps = table(step("go", perm="app.go"), step("sweep", console=False))
        assert steps.may_take_any(User("app.go")) and not steps.may_take_any(User())

    def test_take_calls_the_service_with_the_record_by_the_tables_name(self):
        steps = table(step("go"))
        record = SimpleNamespace(state="a")
        taken = steps.take("go", record, actor="me", now=NOW, note="x")
        assert taken == {"thing": record, "actor": "me", "now": NOW, "note": "x"}

    def test_two_steps_of_one_name_are_a_mistake(self):
        with pytest.raises(ValueError):
            table(step("go"), step("go"))


@pytest.mark.parametrize("steps", TABLES, ids=lambda t: t.subject)
class TestEveryMachine:
    def test_each_staff_steps_service_takes_the_record_actor_and_now(self, steps):
        for transition in steps:
            if not transition.console:
                continue  # the citizen's or a sweep's, called by name, never through the console
            parameters = inspect.signature(transition.service_function).parameters
            assert {steps.subject, "actor", "now"} <= set(parameters), transition.name

    def test_each_form_is_a_step_form_whose_fields_the_service_takes(self, steps):
        for transition in steps:
            if not transition.form:
                continue
            form = import_string(transition.form)
            assert issubclass(form, StepForm), transition.name
            if form.service_arguments is StepForm.service_arguments:
                # The fields go to the service under their own names.
                parameters = inspect.signature(transition.service_function).parameters
                assert set(form.base_fields) <= set(parameters), transition.name

    def test_every_staff_step_names_who_may_take_it(self, steps):
        for transition in steps:
            if transition.console:
                assert transition.perm or transition.actor_may, transition.name
