"""PostgreSQL restarts, failovers and runaway queries (issue 20), with real parts: gunicorn
(DEBUG=0, CONN_MAX_AGE=60 as the load benchmark runs it) and a django-q2 worker on the test
database; the application's connections are dropped with pg_terminate_backend from another
connection, as a database restart or a failover drops them.

- Connections dropped while idle are replaced before the next request (CONN_HEALTH_CHECKS): no
  request fails.
- A connection lost in the middle of a booking answers 503 with Retry-After in the API's error
  shape (a page in Chinese for people), the booking is not half-made, and the same request
  sent again books, with its message.
- A statement past STATEMENT_TIMEOUT_SECONDS is cancelled: a clear 503, and the web worker
  serves the next request.
- The worker reconnects by itself and delivers what is queued after the drop.

PostgreSQL only (the CI's PostgreSQL run); skipped on SQLite, which has no server connections
to drop and no statement timeout.
"""

import contextlib
import threading
import time
import uuid

import httpx
import psycopg
import pytest
from django.db import connection
from django_q.tasks import async_task

from appointments.models import Appointment
from sms.models import Message

from .subprocesses import Gunicorn, qcluster, test_database_url
from .test_api_concurrency import _first_bookable_start, _load_holidays
from .test_production_build import PRODUCTION, THROUGH_PROXY, static_root  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

MOBILE = "13700137000"


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no connections to drop and no statement timeout")


def _dsn() -> str:
    return test_database_url()


def _database() -> str:
    return connection.settings_dict["NAME"]


@contextlib.contextmanager
def table_locked(table: str):
    """Another session holds ``table`` exclusively: every query of it waits."""
    with psycopg.connect(_dsn()) as locker:
        locker.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            locker.rollback()


@contextlib.contextmanager
def row_locked(sql: str, params: tuple):
    with psycopg.connect(_dsn()) as locker:
        locker.execute(sql, params)
        try:
            yield
        finally:
            locker.rollback()


def terminate(*, waiting_only: bool) -> int:
    """pg_terminate_backend on the application's connections to the test database (those
    waiting for a lock only, or all), from a connection of its own; how many were dropped."""
    condition = "AND wait_event_type = 'Lock'" if waiting_only else ""
    deadline = time.monotonic() + 10
    with psycopg.connect(_dsn(), autocommit=True) as admin:
        while time.monotonic() < deadline:
            rows = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = %s AND pid <> pg_backend_pid() AND pid <> %s {condition}",
                (_database(), connection.connection.info.backend_pid),
            ).fetchall()
            if rows or not waiting_only:
                return len(rows)
            time.sleep(0.05)
    raise AssertionError("no application connection was waiting for the lock")


def in_background(call):
    """Run ``call`` in a thread; ``result()`` joins it and returns what it returned."""
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("value", call()))
    thread.start()

    def result():
        thread.join(30)
        return box["value"]

    return result


@pytest.fixture
def server_factory(tmp_path, static_root):  # noqa: F811 - the fixture imported above
    """gunicorn with DEBUG=0 as deployed: the static files collected (pages name them)."""
    started = []

    def start(**extra):
        folder = tmp_path / f"server-{len(started)}"
        folder.mkdir()
        env = {
            **PRODUCTION,
            "STATIC_ROOT": str(static_root),
            "DATABASE_URL": _dsn(),
            "CONN_MAX_AGE": "60",
            "SMS_BACKEND": "file",
            "SMS_FILE_PATH": str(folder / "sms"),
            "RATE_LIMIT_VERIFICATION": "1000/600",
            "RATE_LIMIT_BOOKING": "1000/600",
            "BOOKING_LOCK_TIMEOUT_SECONDS": "20",
            **extra,
        }
        server = Gunicorn(env=env, log_path=folder / "gunicorn.log", workers=2, threads=2)
        started.append(server)
        server.wait_ready(headers=THROUGH_PROXY)
        return server

    yield start
    for server in started:
        server.stop()


def get(server, path, **kwargs):
    return httpx.get(server.url + path, headers=THROUGH_PROXY, timeout=30, **kwargs)


def test_connections_dropped_while_idle_are_replaced_before_the_next_request(
    server_factory, matter
):
    server = server_factory()
    for _ in range(8):  # every worker thread opens its connection and keeps it (CONN_MAX_AGE)
        assert get(server, "/api/v1/matters/").status_code == 200

    dropped = terminate(waiting_only=False)

    answers = [get(server, "/api/v1/matters/").status_code for _ in range(8)]
    assert dropped >= 1
    assert answers == [200] * 8, server.log()


def _code(server, phone=MOBILE) -> str:
    import re
    from pathlib import Path

    answer = httpx.post(
        server.url + "/api/v1/verification-codes/",
        json={"phone": phone},
        headers=THROUGH_PROXY,
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    [sent] = sorted(Path(server.env["SMS_FILE_PATH"]).glob("*.txt"))[-1:]
    return re.search(r"(?<!\d)(\d{6})(?!\d)", sent.read_text(encoding="utf-8")).group(1)


def test_a_connection_lost_mid_booking_is_a_503_to_try_again_and_no_half_booking(
    server_factory, matter, no_rest_window
):
    from django.utils import timezone

    _load_holidays(timezone.localdate())
    server = server_factory()
    start = _first_bookable_start(no_rest_window)
    payload = {
        "matter": matter.pk,
        "window": no_rest_window.pk,
        "start": start.isoformat(),
        "name": "李娜",
        "phone": MOBILE,
        "code": _code(server),
    }

    def book():
        return httpx.post(
            server.url + "/api/v1/appointments/", json=payload, headers=THROUGH_PROXY, timeout=30
        )

    # The booking waits on the number's code row (its first lock); the database then drops it.
    with row_locked(
        "SELECT 1 FROM sms_verificationcode WHERE phone = %s FOR UPDATE", ("+86" + MOBILE,)
    ):
        answer = in_background(book)
        terminate(waiting_only=True)
        lost = answer()

    assert lost.status_code == 503, lost.text
    assert int(lost.headers["Retry-After"]) > 0
    assert lost.json() == {
        "detail": "系统与数据库的连接短暂中断，您刚才的操作没有完成，也没有保存任何内容。"
        "请一分钟后重试。"
    }
    assert not Appointment.objects.exists()  # nothing half-made
    assert not Message.objects.exclude(purpose=Message.Purpose.VERIFICATION).exists()

    again = book()  # the same request, as the answer says: the code was not used up

    assert again.status_code == 201, again.text
    appointment = Appointment.objects.get()
    assert Message.objects.about(appointment).filter(purpose="booking_received").count() == 1


def test_a_connection_lost_mid_page_is_a_503_page_in_chinese_then_the_page_shows(
    server_factory, matter
):
    server = server_factory()

    with table_locked("appointments_matter"):
        answer = in_background(lambda: get(server, "/"))
        terminate(waiting_only=True)
        lost = answer()

    assert lost.status_code == 503
    assert lost.headers["Retry-After"]
    assert "<h1>服务暂时不可用</h1>" in lost.text
    assert "请一分钟后重试" in lost.text
    assert get(server, "/").status_code == 200  # the same worker, without a restart


def test_a_statement_past_the_timeout_is_cancelled_with_a_clear_answer_and_the_worker_is_free(
    server_factory, matter
):
    server = server_factory(STATEMENT_TIMEOUT_SECONDS="0.5")

    with table_locked("appointments_matter"):
        started = time.monotonic()
        page = get(server, "/en/")
        api = get(server, "/api/v1/matters/")
        waited = time.monotonic() - started

    assert page.status_code == 503 and "<h1>This took too long</h1>" in page.text
    assert "ask for a shorter one" in page.text
    assert api.status_code == 503 and api.headers["Retry-After"]
    assert api.json()["detail"].startswith("本次请求处理时间过长")
    assert waited < 5, waited  # cancelled at the timeout, not left running
    assert get(server, "/").status_code == 200
    assert get(server, "/api/v1/matters/").status_code == 200


def test_the_worker_reconnects_by_itself_after_its_connections_are_dropped(tmp_path, settings):
    folder = tmp_path / "sms"
    queue = f"yuyue-test-{uuid.uuid4().hex[:8]}"
    env = {
        "DATABASE_URL": _dsn(),
        "CONN_MAX_AGE": "60",
        "Q_CLUSTER_QUEUE": queue,
        "Q_WORKERS": "1",
        "SMS_BACKEND": "file",
        "SMS_FILE_PATH": str(folder),
    }

    def queued(text):
        from django.utils import timezone

        message = Message.objects.create(
            phone="+8613800138000", text=text, purpose="reminder", created_at=timezone.now()
        )
        async_task("sms.tasks.message_deliver_task", message.pk, cluster=queue)
        return message

    def delivered(message, within):
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            message.refresh_from_db()
            if message.status == Message.Status.DELIVERED:
                return True
            time.sleep(0.25)
        return False

    log = tmp_path / "qcluster.log"
    with qcluster(env=env, log_path=log) as worker:
        assert delivered(queued("第一条"), 60), log.read_text()
        assert terminate(waiting_only=False) >= 1
        second = queued("第二条")
        assert delivered(second, 60), log.read_text()
        assert worker.poll() is None
    assert [p.read_text(encoding="utf-8").count("第二条") for p in folder.glob("*.txt")].count(
        1
    ) == 1
