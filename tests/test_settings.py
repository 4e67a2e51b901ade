"""settings.py is driven by the environment: SQLite and the database broker by default, Redis
for cache and task broker when REDIS_URL is set (checked against the local Redis)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
from django.conf import settings
from django.core.cache import cache
from django_q.brokers import get_broker
broker = get_broker(list_key="yuyue-settings-probe")
print("cache", settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1])
print("broker", type(broker).__name__)
print("database", settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
      settings.DATABASES["default"].get("OPTIONS", {}).get("transaction_mode"))
if type(broker).__name__ == "Redis":
    cache.set("yuyue-settings-probe", "ok", 30)
    print("cache-roundtrip", cache.get("yuyue-settings-probe"))
    broker.enqueue("probe")
    print("queued", broker.queue_size())
    broker.delete_queue()
"""


def probe(**env):
    clean = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", PROBE],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_defaults_need_nothing_else_running():
    lines = probe()
    assert "cache DatabaseCache" in lines
    assert "broker ORM" in lines
    assert "database sqlite3 IMMEDIATE" in lines


def test_redis_url_moves_cache_and_task_broker_to_redis():
    lines = probe(REDIS_URL="redis://127.0.0.1:6379/15")
    assert "cache TolerantRedisCache" in lines
    assert "broker Redis" in lines
    assert "cache-roundtrip ok" in lines
    assert "queued 1" in lines


def test_database_url_selects_postgresql():
    lines = probe(DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres")
    assert "database postgresql None" in lines


STATEMENT_TIMEOUT_PROBE = """
import sys
sys.argv = {argv!r}
import yuyue.settings as s
print(s.DATABASES["default"].get("OPTIONS", {{}}).get("options", "no limit"))
"""


def _statement_timeout_for(argv: list[str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", STATEMENT_TIMEOUT_PROBE.format(argv=argv)],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": "postgres://u@127.0.0.1:5432/x",
             "STATEMENT_TIMEOUT_SECONDS": "30", "WORKER_STATEMENT_TIMEOUT_SECONDS": "600"},
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_web_processes_the_worker_and_commands_get_their_own_statement_timeout():
    """Issue 20: a runaway web query is cancelled after STATEMENT_TIMEOUT_SECONDS; the worker's
    long jobs have WORKER_STATEMENT_TIMEOUT_SECONDS; migrate and other commands no limit."""
    assert _statement_timeout_for(["gunicorn"]) == "-c statement_timeout=30000"
    assert _statement_timeout_for(["manage.py", "runserver"]) == "-c statement_timeout=30000"
    assert _statement_timeout_for(["/srv/yuyue/manage.py", "qcluster"]) == (
        "-c statement_timeout=600000"
    )
    assert _statement_timeout_for(["manage.py", "migrate"]) == "no limit"
