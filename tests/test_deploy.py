"""deploy/ is what a hall installs: its files render completely and its environment template
holds every setting. The topology test (`make topology`) runs what they describe."""

import re
import subprocess
from pathlib import Path

from .subprocesses import manage

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def _readme_settings() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Configuration") :]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z0-9_]+)`", row.split("|")[1])}


def _template_lines() -> dict[str, str]:
    text = (DEPLOY / "yuyue.env.example").read_text(encoding="utf-8")
    return dict(re.findall(r"(?m)^([A-Z][A-Z0-9_]*)=(.*)$", text))


def test_environment_template_sets_every_setting_of_the_readme():
    """Settings kept in settings.py itself (the README says so) are named in a comment."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    in_settings_py = set(re.findall(r"(?m)^\| `([A-Z0-9_]+)` \(settings\.py\)", readme))
    assert in_settings_py == {"SELF_EVALUATION_GOOD_REVIEW_TARGET", "ASSESSMENT_FORMULA"}
    assert _readme_settings() - in_settings_py - set(_template_lines()) == set()
    comments = (DEPLOY / "yuyue.env.example").read_text(encoding="utf-8")
    assert all(name in comments for name in in_settings_py)


def test_environment_template_is_production_ready_once_its_secrets_are_filled_in():
    env = _template_lines()
    assert env["DEBUG"] == "0" and env["BEHIND_TLS_PROXY"] == "1"
    env["SECRET_KEY"] = "a-real-secret-of-fifty-characters-or-more-0123456789abcdef"
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_render_fills_every_variable_of_every_file(tmp_path):
    result = subprocess.run(
        ["python3", str(DEPLOY / "render.py"), str(DEPLOY / "site.vars.example"), str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    rendered = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.relative_to(tmp_path).as_posix() for p in rendered} == {
        "nginx/yuyue.conf",
        "systemd/yuyue-web@.service",
        "systemd/yuyue-worker@.service",
        "yuyue-manage",
    }
    for path in rendered:
        assert "${YUYUE_" not in path.read_text(encoding="utf-8"), path
    web = (tmp_path / "systemd" / "yuyue-web@.service").read_text(encoding="utf-8")
    assert "ExecStart=/srv/yuyue/app/.venv/bin/gunicorn yuyue.wsgi:application" in web
    assert "--bind 127.0.0.1:%i" in web and "--access-logfile" not in web


def test_render_refuses_a_variable_left_out(tmp_path):
    site_vars = tmp_path / "site.vars"
    text = (DEPLOY / "site.vars.example").read_text(encoding="utf-8")
    site_vars.write_text(re.sub(r"(?m)^YUYUE_TLS_KEY=.*\n", "", text), encoding="utf-8")
    result = subprocess.run(
        ["python3", str(DEPLOY / "render.py"), str(site_vars), str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "YUYUE_TLS_KEY" in result.stderr
    assert not (tmp_path / "out").exists()


def test_deploy_files_name_no_machine_of_their_own():
    """Paths and names are variables: nothing of the machine the files were written on."""
    for path in DEPLOY.rglob("*"):
        if path.is_file() and path.name != "site.vars.example":
            text = path.read_text(encoding="utf-8")
            assert "/work/" not in text and "/root/" not in text, path
