"""Redis is a cache and a broker, not a dependency of correctness (issue 20): with the test's
own redis-server stopped mid-test, citizens still see availability, get codes and book; the rate
limits keep protecting (in the database); the booking's message stays queued for the worker;
/readyz names the cache and /healthz stays up; and with Redis back everything uses it again,
without a restart."""

import datetime as dt
import shutil
import time

import pytest
from django.core.cache import cache
from django_q.conf import Conf

from appointments.models import Appointment
from sms.models import Message, RateLimitCounter
from sms.services import messages_deliver_due
from yuyue import cache as redis_guard
from yuyue.ratelimit import REDIS_PREFIX
from yuyue.worker import worker_heartbeat_write

from .conftest import missing_part
from .subprocesses import RedisServer
from .test_api import E164, MOBILE, NOW, book, booking, get_code, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_server(tmp_path):
    if not shutil.which("redis-server"):
        missing_part("redis-server not installed")
    server = RedisServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def on_redis(settings, redis_server, monkeypatch):
    """The app on the test's own Redis, as with REDIS_URL set: cache, rate limits, broker."""
    settings.REDIS_URL = redis_server.url
    settings.REDIS_RETRY_SECONDS = 0.3
    settings.CACHES = {
        "default": {
            "BACKEND": "yuyue.cache.TolerantRedisCache",
            "LOCATION": redis_server.url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    monkeypatch.setattr(redis_guard, "_down_until", {})
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", redis_server.url)
    return redis_server


@pytest.fixture
def frozen():
    import time_machine

    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def test_with_redis_down_citizens_see_availability_get_codes_and_book(
    client, on_redis, sms_inbox, matter, no_rest_window, frozen, django_capture_on_commit_callbacks
):
    query = {"matter": matter.pk, "from": "2026-09-16", "to": "2026-09-16"}
    before = client.get("/api/v1/availability/", query)
    assert before.status_code == 200 and before.json()

    on_redis.stop()
    during = client.get("/api/v1/availability/", query)
    assert during.status_code == 200
    assert during.json() == before.json()  # computed from the database, not the cache

    code = get_code(client, sms_inbox)  # 202: the code went out
    with django_capture_on_commit_callbacks(execute=True):
        booked = post(client, "/api/v1/appointments/", booking(matter, no_rest_window, code=code))

    assert booked.status_code == 201, booked.json()
    appointment = Appointment.objects.get(reference=booked.json()["reference"])
    received = Message.objects.about(appointment).get()
    assert received.status == Message.Status.QUEUED  # its task was never enqueued: kept here
    # The place it took shows at once (nothing cached to go stale).
    left = client.get("/api/v1/availability/", query).json()
    slot = next(
        s for s in left if s["window"] == no_rest_window.pk and s["start"] == booked.json()["start"]
    )
    assert slot["remaining"] == no_rest_window.capacity_per_slot - 1


def test_with_redis_down_a_change_shows_at_once_nothing_kept_in_the_process(
    client, on_redis, matter, regular_window, frozen, django_capture_on_commit_callbacks
):
    """Without the shared version and tokens, this process cannot tell its own copies of the
    matter's windows and slots stale: it keeps none while Redis is down."""
    query = {"matter": matter.pk, "from": "2026-09-16", "to": "2026-09-16"}
    on_redis.stop()
    before = client.get("/api/v1/availability/", query).json()
    assert regular_window.pk in {s["window"] for s in before}
    with django_capture_on_commit_callbacks(execute=True):
        regular_window.is_active = False
        regular_window.save()
    after = client.get("/api/v1/availability/", query).json()
    assert after and regular_window.pk not in {s["window"] for s in after}


def test_the_queued_message_goes_out_once_redis_is_back(
    client, on_redis, sms_inbox, matter, no_rest_window, frozen, django_capture_on_commit_callbacks
):
    on_redis.stop()
    with django_capture_on_commit_callbacks(execute=True):
        booked = book(client, sms_inbox, matter, no_rest_window)
    assert booked.status_code == 201, booked.json()
    on_redis.start()

    # The worker's "deliver sms" schedule, run twice (as a retry or a second worker would).
    messages_deliver_due(now=NOW + dt.timedelta(minutes=1))
    messages_deliver_due(now=NOW + dt.timedelta(minutes=2))

    appointment = Appointment.objects.get(reference=booked.json()["reference"])
    assert Message.objects.about(appointment).get().status == Message.Status.DELIVERED
    texts = [t for t in sms_inbox.messages(E164) if appointment.reference in t]
    assert len(texts) == 1, texts  # delivered exactly once


def test_rate_limits_keep_protecting_in_the_database_while_redis_is_down(
    client, on_redis, settings, frozen
):
    """The choice documented in yuyue/ratelimit.py: count in the database, not refuse all."""
    settings.RATE_LIMIT_VERIFICATION = (2, 600)
    on_redis.stop()

    answers = [
        post(client, "/api/v1/verification-codes/", {"phone": f"1370013700{n}"}).status_code
        for n in range(3)
    ]

    assert answers == [202, 202, 429]
    assert RateLimitCounter.objects.filter(scope_key__startswith="verification:").get().hits == 3


def test_rate_limits_count_in_redis_again_once_it_is_back(client, on_redis, settings, frozen):
    import redis

    on_redis.stop()
    post(client, "/api/v1/verification-codes/", {"phone": MOBILE})
    on_redis.start()
    time.sleep(settings.REDIS_RETRY_SECONDS + 0.1)

    post(client, "/api/v1/verification-codes/", {"phone": "13700137001"})

    keys = list(redis.Redis.from_url(on_redis.url).scan_iter(f"{REDIS_PREFIX}verification:*"))
    assert len(keys) == 1


def test_readiness_names_the_cache_down_while_liveness_stays_up_and_recovers(
    client, on_redis, settings
):
    worker_heartbeat_write(now=dt.datetime.now(dt.UTC))
    assert client.get("/readyz").status_code == 200

    on_redis.stop()
    ready = client.get("/readyz")
    live = client.get("/healthz")

    assert ready.status_code == 503
    assert ready.json()["checks"]["cache"] == "failed"
    assert ready.json()["checks"]["database"] == "ok"
    assert live.status_code == 200

    on_redis.start()
    time.sleep(settings.REDIS_RETRY_SECONDS + 0.1)
    assert client.get("/readyz").json()["checks"]["cache"] == "ok"  # no restart needed


def test_an_outage_costs_one_failed_call_per_retry_interval_not_one_per_request(on_redis):
    on_redis.stop()
    started = time.monotonic()
    answers = [cache.get(f"key-{n}", "miss") for n in range(200)]
    elapsed = time.monotonic() - started

    assert answers == ["miss"] * 200
    assert elapsed < 1.0, elapsed
    assert redis_guard.redis_is_down(on_redis.url)


def test_the_console_shows_with_redis_down(admin_client, on_redis):
    on_redis.stop()

    answer = admin_client.get("/admin/")

    assert answer.status_code == 200
    # The heartbeat lives in the cache: without it the console says the worker is not running.
    assert 'id="worker-down"' in answer.content.decode()


@pytest.mark.parametrize("phone", [MOBILE])
def test_a_code_asked_for_with_redis_down_is_sent_at_once(
    client, on_redis, sms_inbox, phone, frozen
):
    on_redis.stop()

    answer = post(client, "/api/v1/verification-codes/", {"phone": phone})

    assert answer.status_code == 202
    assert sms_inbox.last_code(E164)
