"""The project as a whole: deployment checks, migrations, demo data, translations."""

import gettext
import re
import tomllib
from itertools import chain
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.utils import translation

from appointments.models import Appointment, AppointmentEvent, Status

from .conftest import at
from .subprocesses import manage

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django"


def test_deploy_check_is_clean_with_production_settings():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "DEBUG": "0",
            "SECRET_KEY": "x" * 20 + "a-real-secret-of-fifty-characters-or-more-123456",
            "ALLOWED_HOSTS": "yuyue.example.cn",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_every_environment_setting_is_in_the_readme_configuration_table():
    """An operator learns the settings from the README: each variable settings.py reads is a
    row of its configuration table."""
    source = (ROOT / "yuyue" / "settings.py").read_text(encoding="utf-8")
    names = set(re.findall(r'env(?:int|bool|rate)?\("([A-Z0-9_]+)"', source))
    names |= set(re.findall(r'os\.environ\.get\("([A-Z0-9_]+)"', source))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Configuration") :]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`([A-Z0-9_]+)`", row.split("|")[1])}
    assert len(names) > 40
    assert names - documented == set()


def test_every_dependency_is_pinned_in_the_lock():
    """What gets installed comes from requirements.lock: a package added to pyproject.toml
    without `make lock` would be missing from a fresh install."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *chain(*project["optional-dependencies"].values())]
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    pinned = {_normalized(name) for name in re.findall(r"^([A-Za-z0-9_.-]+)==", lock, re.M)}
    names = {_normalized(re.match(r"[A-Za-z0-9_.-]+", spec).group(0)) for spec in wanted}
    assert "django" in names and "django-axes" in names
    assert names - pinned == set()
    assert "--hash=sha256:" in lock


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", env={"DEBUG": "0", "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_models_and_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_roles_exist_as_groups():
    from django.contrib.auth.models import Group

    names = set(Group.objects.values_list("name", flat=True))
    assert {
        "desk",
        "window_staff",
        "window_head",
        "agency_approver",
        "supervisor",
        "administrator",
    } <= names
    approver = Group.objects.get(name="agency_approver")
    assert approver.permissions.filter(codename="approve_change").exists()
    # Supervisors read everything, record inspections (DB1403/T 7.2) and register and handle
    # complaints (7.3), set improvement actions and review rating appeals (8.2, 8.3), nothing
    # else.
    assert set(
        Group.objects.get(name="supervisor")
        .permissions.exclude(codename__startswith="view_")
        .values_list("codename", flat=True)
    ) == {
        "add_inspection",
        "change_inspection",
        "add_inspectionfinding",
        "change_inspectionfinding",
        "delete_inspectionfinding",
        "add_complaint",
        "handle_complaint",
        "add_improvementaction",
        "change_improvementaction",
        "review_rating_appeal",
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "today",
    [at(2026, 11, 27, 15), at(2026, 10, 1, 9), at(2026, 10, 10, 0, 30)],
    ids=["ordinary-friday", "national-day", "make-up-saturday-after-midnight"],
)
def test_demo_data_loads_once_with_bookings_in_every_state(today, capsys):
    with time_machine.travel(today, tick=False):
        call_command("load_demo")
        first = Appointment.objects.count()
        call_command("load_demo")
    assert Appointment.objects.count() == first
    states = set(Appointment.objects.values_list("status", flat=True))
    assert states == set(Status.values)
    # The history is a believable past: nothing happened after the moment it was loaded.
    assert not AppointmentEvent.objects.filter(at__gt=today).exists()
    assert Appointment.objects.exclude(short_notice_reason="").exists()
    assert Appointment.objects.filter(outside_phone_hours=True).exists()
    out = capsys.readouterr().out
    assert "already loaded" in out and "desk-demo" in out


def _po_entries(path: Path):
    entries, current = [], {}
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if current:
                entries.append(current)
            current = {}
        elif line.startswith("#,"):
            current["flags"] = line
        elif line.startswith(("msgctxt ", "msgid ", "msgstr ", "msgid_plural ", "msgstr[")):
            key, _, rest = line.partition(" ")
            current[key] = rest.strip('"')
            current["_last"] = key
        elif line.startswith('"') and "_last" in current:
            current[current["_last"]] += line.strip('"')
    return entries


def test_every_message_is_translated_and_compiled():
    entries = [e for e in _po_entries(CATALOGUE.with_suffix(".po")) if e.get("msgid")]
    assert entries
    untranslated = [e["msgid"] for e in entries if not (e.get("msgstr") or e.get("msgstr[0]"))]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e.get("flags", "")]
    assert untranslated == [] and fuzzy == []
    with CATALOGUE.with_suffix(".mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    stale = [
        e["msgid"]
        for e in entries
        if "msgstr" in e and _compiled(compiled, e) != _unescape(e["msgstr"])
    ]
    assert stale == [], "run `make messages` and commit the .mo"


def _compiled(catalogue, entry) -> str:
    if "msgctxt" in entry:
        return catalogue.pgettext(_unescape(entry["msgctxt"]), _unescape(entry["msgid"]))
    return catalogue.gettext(_unescape(entry["msgid"]))


def _unescape(text: str) -> str:
    return text.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")


def test_chinese_by_default_english_available():
    with translation.override("zh-hans"):
        assert str(Status.PENDING.label) != "waiting for the window to confirm"
    with translation.override("en"):
        assert str(Status.PENDING.label) == "waiting for the window to confirm"
