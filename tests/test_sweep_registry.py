"""The one registry of sweeps (yuyue/sweeps.py): each app registers its own, and the worker's
schedules are made from it."""

import pytest

from appointments.management.commands.setup_schedules import SCHEDULES
from yuyue.sweeps import SWEEP_MINUTES, SWEEPS, register_sweep


def test_each_app_registers_its_own_sweeps():
    owners = {name: sweep.__module__ for name, sweep in SWEEPS.items()}
    assert owners == {
        "duty_absences": "duty.sweeps",
        "standing_rotations": "duty.sweeps",
        "rosters": "duty.sweeps",
        "inspection_findings": "duty.sweeps",
        "no_shows": "appointments.sweeps",
        "hand_over": "appointments.sweeps",
        "one_time_notice": "appointments.sweeps",
        "unconfirmed": "appointments.sweeps",
        "reminders": "appointments.sweeps",
        "failed_sms": "appointments.sweeps",
        "change_notices": "appointments.sweeps",
        "register_exports": "appointments.sweeps",
        "complaints": "complaints.sweeps",
        "bad_reviews": "evaluation.sweeps",
        "improvement_actions": "evaluation.sweeps",
        "dashboard_summary": "evaluation.sweeps",
        "dashboard_summary_rebuild": "evaluation.sweeps",
        # Personal data over time reads and writes every app's records: it sits above them.
        "anonymise": "yuyue.retention",
    }


def test_every_registered_sweep_has_its_schedule():
    for name, minutes in SWEEP_MINUTES.items():
        assert SCHEDULES[f"sweep {name}"] == ("yuyue.tasks.sweep_task", repr(name), minutes)


def test_a_name_is_registered_once():
    def impostor(*, now):
        raise AssertionError("never run")

    with pytest.raises(ValueError, match="no_shows"):
        register_sweep("no_shows", impostor, minutes=1)
    assert SWEEPS["no_shows"] is not impostor
