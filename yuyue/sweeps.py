"""The one registry of the background sweeps, the jobs that watch the clock.

Each app owns its sweeps and registers them from its own ``sweeps.py`` (which its AppConfig
imports in ``ready()``) with ``register_sweep(name, func, minutes=…)``. ``setup_schedules`` makes
one worker schedule per registered sweep, ``manage.py sweep NAME`` runs one by hand, the worker
runs them through ``yuyue.tasks.sweep_task``, and the tests read the same ``SWEEPS``.

A sweep takes ``now``, is safe to run again (alerts and messages carry a dedupe key), does a
fixed number of queries for the whole sweep plus a bounded amount per item that is due, and
returns a ``SweepResult``. This module sits just above ``sms``: the sweeps' alerts are written
by ``alerts_create`` into sms's table.
"""

from collections.abc import Callable
from dataclasses import dataclass

from sms.models import Alert


@dataclass
class SweepResult:
    alerts: int = 0
    messages: int = 0
    follow_ups: int = 0
    jobs: int = 0
    # Records whose personal data was anonymised (yuyue.retention).
    anonymised: int = 0
    # The dashboard's summary: (window, day) pairs counted again (evaluation.reporting.summary).
    summarised: int = 0


Sweep = Callable[..., SweepResult]

# name → the sweep; name → minutes between the worker's runs. In registration order, which is
# the order of INSTALLED_APPS.
SWEEPS: dict[str, Sweep] = {}
SWEEP_MINUTES: dict[str, int] = {}


def register_sweep(name: str, sweep: Sweep, *, minutes: int) -> Sweep:
    """Add ``sweep`` under ``name``, run by the worker every ``minutes``. A name is registered
    once: two apps claiming one would silently replace a sweep."""
    if SWEEPS.get(name, sweep) is not sweep:
        raise ValueError(f"Two sweeps are called {name!r}.")
    SWEEPS[name] = sweep
    SWEEP_MINUTES[name] = minutes
    return sweep


def alerts_to(recipients, *, dedupe_key: str, **fields) -> list[Alert]:
    """The same alert for each recipient (None left out), at most once per person: each alert's
    dedupe key is ``dedupe_key`` followed by ``:<recipient id>``. ``fields`` are the alert's own
    (``hall_id``, ``kind``, ``text``, ``created_at``, what it is about)."""
    return [
        Alert(recipient_id=recipient, dedupe_key=f"{dedupe_key}:{recipient}", **fields)
        for recipient in set(recipients) - {None}
    ]


def alerts_create(*, alerts: list[Alert]) -> int:
    """Write alerts whose dedupe key is new; return how many were."""
    if not alerts:
        return 0
    existing = set(
        Alert.objects.filter(dedupe_key__in=[a.dedupe_key for a in alerts]).values_list(
            "dedupe_key", flat=True
        )
    )
    fresh = {a.dedupe_key: a for a in alerts if a.dedupe_key not in existing}
    Alert.objects.bulk_create(fresh.values(), ignore_conflicts=True, batch_size=500)
    return len(fresh)
