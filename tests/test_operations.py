"""What an operator's tools read: the readiness probe and the one-line-per-request/task log."""

import datetime as dt
import json
import logging

import pytest
from django.core.cache import cache
from django.utils import timezone

from yuyue import views
from yuyue.oplog import JsonLinesFormatter, task_finished_log
from yuyue.worker import worker_heartbeat_write

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_readiness_is_200_when_database_migrations_cache_and_worker_are_fine(client):
    worker_heartbeat_write(now=timezone.now())

    answer = client.get("/readyz")

    assert answer.status_code == 200
    assert answer.json()["checks"] == {
        "database": "ok",
        "migrations": "ok",
        "cache": "ok",
        "worker": "ok",
    }
    assert answer["Cache-Control"].startswith("max-age=0")


def test_readiness_is_503_naming_the_worker_when_its_heartbeat_is_stale(client, settings):
    worker_heartbeat_write(
        now=timezone.now() - dt.timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_SECONDS + 5)
    )

    answer = client.get("/readyz")

    assert answer.status_code == 503
    assert answer.json()["failing"] == ["worker"]


def test_readiness_is_503_naming_the_worker_when_it_never_wrote_a_heartbeat(client):
    assert client.get("/readyz").json()["failing"] == ["worker"]


def test_readiness_names_an_unreachable_cache_instead_of_failing_with_500(client, monkeypatch):
    worker_heartbeat_write(now=timezone.now())

    def unreachable(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(views.cache, "set", unreachable)
    answer = client.get("/readyz")

    assert answer.status_code == 503
    assert "cache" in answer.json()["failing"]


def test_readiness_names_migrations_not_yet_applied(client, monkeypatch):
    worker_heartbeat_write(now=timezone.now())
    monkeypatch.setattr(views, "_migrations_known_applied", False)
    monkeypatch.setattr(
        views.MigrationExecutor, "migration_plan", lambda self, targets: [("pending", False)]
    )

    answer = client.get("/readyz")

    assert answer.status_code == 503
    assert answer.json()["failing"] == ["migrations"]


def test_each_request_logs_one_line_with_route_status_and_duration_but_not_the_path(client, caplog):
    with caplog.at_level(logging.INFO, logger="yuyue.requests"):
        client.get("/api/v1/appointments/ZZ9999/?phone=13800138000&code=123456")

    lines = [r for r in caplog.records if r.name == "yuyue.requests"]
    assert len(lines) == 1
    line = lines[0]
    assert line.route == "/api/v1/appointments/<reference>/"
    assert line.method == "GET" and line.status >= 400 and line.duration_ms >= 0
    text = line.getMessage()
    for secret in ("ZZ9999", "13800138000", "123456"):
        assert secret not in text


def test_json_lines_carry_the_lines_fields_and_parse_one_per_line():
    record = logging.makeLogRecord(
        {
            "name": "yuyue.requests",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "%s %s",
            "args": ("POST", "/api/v1/appointments/"),
            "status": 201,
            "duration_ms": 12.5,
        }
    )

    line = JsonLinesFormatter().format(record)

    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "POST /api/v1/appointments/"
    assert entry["status"] == 201 and entry["duration_ms"] == 12.5
    assert entry["level"] == "INFO" and entry["logger"] == "yuyue.requests"
    assert entry["time"].endswith("+00:00")


def test_each_task_logs_its_function_outcome_and_duration_without_its_arguments(caplog):
    started = timezone.now()
    task = {
        "func": "sms.tasks.message_deliver_task",
        "name": "hotel-quebec-seven-alpha",
        "group": "deliver sms",
        "args": (4711,),
        "started": started,
        "stopped": started + dt.timedelta(milliseconds=250),
        "success": False,
        "result": "gateway said no to +8613800138000",
    }
    with caplog.at_level(logging.INFO, logger="yuyue.tasks"):
        task_finished_log(sender="django_q", func=None, task=task)

    (line,) = [r for r in caplog.records if r.name == "yuyue.tasks"]
    assert line.levelno == logging.ERROR
    assert (line.task, line.group, line.outcome, line.duration_ms) == (
        "sms.tasks.message_deliver_task",
        "deliver sms",
        "failed",
        250.0,
    )
    assert "4711" not in line.getMessage() and "138" not in line.getMessage()


def test_log_format_json_makes_settings_use_the_json_formatter():
    from .subprocesses import manage

    result = manage(
        "shell",
        "-c",
        "import logging; logging.getLogger('yuyue.requests').warning('x', extra={'status': 1})",
        env={"LOG_FORMAT": "json"},
    )
    entry = json.loads(result.stderr.strip().splitlines()[-1])
    assert entry["logger"] == "yuyue.requests" and entry["status"] == 1
