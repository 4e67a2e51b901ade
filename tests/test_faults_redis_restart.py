"""A Redis restart under real processes (issue 20): gunicorn and a django-q2 worker cluster on
the test's own redis-server (cache, rate limits and task broker). Redis is stopped mid-test:
citizens still get availability, codes and bookings, /readyz names the cache while /healthz
stays up; Redis is started again: the worker, never restarted, delivers the message of the
booking made during the outage (its task was never enqueued; the "deliver sms" schedule finds
it in the database) — every booking's message exactly once."""

import re
import time
import uuid
from pathlib import Path

import httpx
import pytest
from django.utils import timezone

from appointments.models import Appointment
from duty.models import Window
from sms.models import Message

from .subprocesses import Gunicorn, manage, qcluster, test_database_url
from .test_api_concurrency import _first_bookable_start, _load_holidays
from .test_faults_redis import redis_server  # noqa: F401
from .test_production_build import PRODUCTION, THROUGH_PROXY

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _wait(condition, within: float, what: str, log) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what} within {within} s\n{log()}")


class Citizen:
    def __init__(self, server: Gunicorn, folder: Path):
        self.client = httpx.Client(base_url=server.url, headers=THROUGH_PROXY, timeout=30)
        self.folder = folder

    def code(self, phone: str) -> str:
        answer = self.client.post("/api/v1/verification-codes/", json={"phone": phone})
        assert answer.status_code == 202, answer.text
        texts = [p.read_text(encoding="utf-8") for p in sorted(self.folder.glob("*.txt"))]
        mine = [t for t in texts if t.startswith(f"To: +86{phone}\n")]
        return re.search(r"(?<!\d)(\d{6})(?!\d)", mine[-1]).group(1)

    def book(self, matter, window, start, phone: str) -> str:
        payload = {
            "matter": matter.pk,
            "window": window.pk,
            "start": start.isoformat(),
            "name": "李娜",
            "phone": phone,
            "code": self.code(phone),
        }
        answer = self.client.post("/api/v1/appointments/", json=payload)
        assert answer.status_code == 201, answer.text
        return answer.json()["reference"]


def _received(reference: str) -> Message:
    appointment = Appointment.objects.get(reference=reference)
    return Message.objects.about(appointment).get(purpose="booking_received")


def test_a_redis_restart_loses_no_booking_and_no_message(
    tmp_path,
    redis_server,  # noqa: F811
    matter,
    no_rest_window,
):
    _load_holidays(timezone.localdate())
    Window.objects.filter(pk=no_rest_window.pk).update(capacity_per_slot=3)  # three bookings
    sms = tmp_path / "sms"
    env = {
        **PRODUCTION,
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": redis_server.url,
        "Q_CLUSTER_QUEUE": f"yuyue-test-{uuid.uuid4().hex[:8]}",
        "Q_WORKERS": "1",
        "SMS_BACKEND": "file",
        "SMS_FILE_PATH": str(sms),
        "RATE_LIMIT_VERIFICATION": "1000/600",
        "RATE_LIMIT_BOOKING": "1000/600",
        "REDIS_RETRY_SECONDS": "1",
    }
    done = manage("setup_schedules", env=env)
    assert done.returncode == 0, done.stderr
    start = _first_bookable_start(no_rest_window)
    server = Gunicorn(env=env, log_path=tmp_path / "gunicorn.log")
    worker_log = tmp_path / "qcluster.log"
    try:
        server.wait_ready(headers=THROUGH_PROXY)
        with qcluster(env=env, log_path=worker_log) as worker:
            citizen = Citizen(server, sms)

            def logs():
                return f"{server.log()}\n--- worker ---\n{worker_log.read_text()[-6000:]}"

            before = citizen.book(matter, no_rest_window, start, "13700137001")
            _wait(
                lambda: _received(before).status == Message.Status.DELIVERED, 60, "delivered", logs
            )

            redis_server.stop()
            availability = citizen.client.get(
                "/api/v1/availability/",
                params={"matter": matter.pk, "from": start.date(), "to": start.date()},
            )
            during = citizen.book(matter, no_rest_window, start, "13700137002")
            ready = citizen.client.get("/readyz")
            live = citizen.client.get("/healthz")

            assert availability.status_code == 200 and availability.json()
            assert _received(during).status == Message.Status.QUEUED
            assert ready.status_code == 503 and ready.json()["checks"]["cache"] == "failed"
            assert live.status_code == 200

            redis_server.start()
            _wait(
                lambda: _received(during).status == Message.Status.DELIVERED,
                150,
                "the message of the booking made while Redis was down was not sent",
                logs,
            )
            after = citizen.book(matter, no_rest_window, start, "13700137003")
            _wait(
                lambda: _received(after).status == Message.Status.DELIVERED, 60, "delivered", logs
            )
            assert worker.poll() is None  # the same worker, reconnected by itself
            assert citizen.client.get("/readyz").json()["checks"]["cache"] == "ok"
    finally:
        server.stop()

    for reference in (before, during, after):
        texts = [p.read_text(encoding="utf-8") for p in sms.glob("*.txt")]
        assert sum(reference in t for t in texts) == 1, reference  # exactly once
