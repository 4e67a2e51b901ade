"""State machines as tables: each machine's transitions in one place, owned by its service module.

A ``Transition`` says from which states a step may be taken, who may take it (a permission, and
where that is not enough a function of the user and the record that the service itself also
calls), the service that takes it and the console form that collects the service's input. The
service checks the state through its table (``TransitionTable.check``), and the staff console
offers a step only where the same table permits it (``TransitionTable.offered``): the buttons,
the permission checks and the services' own state checks read one table and cannot disagree.

What depends on the clock (check-in only on the day, the no-show follow-up only 30 min after the
start) stays in the service, evaluated with ``now`` and refused with its own message; the table
carries the same predicate (``when``) so that the console hides a button that would fail.

To add a step: write its service (keyword-only, ``now``, calling ``TABLE.check(name, record)``
under its row lock), add a ``Transition`` naming it by dotted path to its machine's table (an
app's ``services/steps.py``, or the end of the service module that holds the table), and, if it
needs input, a ``yuyue.console.StepForm`` in the app's console module named by ``form``; the
console's button and page follow from the table.

This module knows no app: the services of every layer import it.
"""

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Transition:
    """One step of a state machine."""

    name: str
    label: str | Promise
    # The service that takes the step, as a dotted path (empty: none): keyword-only, the record
    # under the table's ``subject`` name, ``actor``, ``now`` and the form's
    # ``service_arguments()``. A path, not the function: the services import their table to
    # check states, so the table cannot import them (``service_function`` resolves it).
    service: str
    # The states the step may be taken from; None: any state (``when`` decides).
    sources: tuple | None
    # The permission it needs (None: ``actor_may`` alone decides).
    perm: str | None = None
    # The console's form for the service's input, as a dotted path (services load no forms);
    # empty: the step needs no input.
    form: str = ""
    # Why the service refuses the step in another state (the table's ``refusal`` adds the state).
    refused: str | Promise = ""
    # A condition of the record beyond its state (a bad review verified), checked with the state.
    requires: Callable[[Any], bool] | None = None
    # A condition of the record at ``now`` that the service checks itself, with its own message
    # (the day of the booking, 30 min after the start): the console offers the step only then.
    when: Callable[[Any, dt.datetime], bool] | None = None
    # Who may take it beyond ``perm`` (the action's owner or manager): the service's own rule.
    actor_may: Callable[[Any, Any], bool] | None = None
    clause: str = ""
    # Service error keys that mean one of the form's fields (service key, form field).
    error_fields: tuple[tuple[str, str], ...] = ()
    # The console's message on success; default "<label>: done."
    done: str | Promise = ""
    # False: not a staff step (the citizen's or a sweep's); the console never offers it.
    console: bool = True

    @property
    def service_function(self) -> Callable[..., Any] | None:
        return import_string(self.service) if self.service else None


class TransitionTable:
    """The transitions of one state machine, in the order the console shows them.

    ``state`` names the record's state attribute, ``subject`` the keyword its services take the
    record by, ``refusal(record, transition)`` builds the ValidationError a service raises for a
    step the state does not allow.
    """

    def __init__(
        self,
        *transitions: Transition,
        state: str,
        subject: str,
        refusal: Callable[[Any, Transition], ValidationError],
    ):
        self.transitions = {t.name: t for t in transitions}
        if len(self.transitions) != len(transitions):
            raise ValueError("two transitions share a name")
        self.state, self.subject, self.refusal = state, subject, refusal

    def __iter__(self) -> Iterator[Transition]:
        return iter(self.transitions.values())

    def __getitem__(self, name: str) -> Transition:
        return self.transitions[name]

    def get(self, name: str) -> Transition | None:
        return self.transitions.get(name)

    def permits(self, name: str, record) -> bool:
        """Whether the record's state (and ``requires``) allows the step."""
        transition = self[name]
        if transition.sources is not None and getattr(record, self.state) not in transition.sources:
            return False
        return transition.requires is None or transition.requires(record)

    def check(self, name: str, record) -> None:
        """The service's state check: the table's refusal unless the step is permitted."""
        if not self.permits(name, record):
            raise self.refusal(record, self[name])

    def actor_permitted(self, name: str, record, user) -> bool:
        """Whether ``user`` may take the step on this record: its permission and ``actor_may``."""
        transition = self[name]
        if transition.perm is not None and not user.has_perm(transition.perm):
            return False
        return transition.actor_may is None or transition.actor_may(user, record)

    def may_take_any(self, user) -> bool:
        """Whether ``user`` holds the permission of any staff step (``actor_may`` aside)."""
        return any(t.console and (t.perm is None or user.has_perm(t.perm)) for t in self)

    def possible(self, name: str, record, *, now: dt.datetime) -> bool:
        """Whether the step is possible on this record now (state, ``requires``, ``when``)."""
        transition = self[name]
        if not self.permits(name, record):
            return False
        return transition.when is None or transition.when(record, now)

    def offered(self, record, *, user, now: dt.datetime) -> list[Transition]:
        """The steps ``user`` may take on ``record`` now, in the table's order."""
        return [
            t
            for t in self
            if t.console
            and self.actor_permitted(t.name, record, user)
            and self.possible(t.name, record, now=now)
        ]

    def take(self, name: str, record, *, actor, now: dt.datetime, **arguments):
        """Call the step's service on ``record``."""
        service = self[name].service_function
        return service(**{self.subject: record}, actor=actor, now=now, **arguments)
