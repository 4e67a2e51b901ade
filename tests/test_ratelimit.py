"""Rate limits count every request, also requests that arrive at the same moment (issue 13,
part 4): in the database without Redis, in Redis with it.

The Redis cases need Redis on 127.0.0.1:6379 (CI has it): in CI (CI=1) they fail rather than
skip without it. They use database 8 (TEST_REDIS_URL overrides it) and scopes of their own, and
delete their keys afterwards.
"""

import datetime as dt
import os
import threading
import uuid

import pytest
import redis
from django.db import connection

from sms.models import RateLimitCounter
from yuyue.ratelimit import (
    REDIS_PREFIX,
    rate_limit_allows,
    rate_limit_counters_purge,
    rate_limit_reached,
)

from .conftest import at, missing_part

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/8")
THREADS = 24
LIMIT = (5, 600)
NOW = at(2026, 9, 16, 12, 0, 30)


def redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as error:
        missing_part(f"Redis not reachable at {REDIS_URL} ({error})")
    return client


@pytest.fixture(params=["database", "redis"])
def store(request, settings):
    """Where the counters are kept; yields a function that reads a scope's count."""
    scope = f"test-{uuid.uuid4().hex[:12]}"
    if request.param == "redis":
        client = redis_or_skip()
        settings.REDIS_URL = REDIS_URL
        try:
            yield (
                scope,
                lambda key: sum(
                    int(client.get(k)) for k in client.scan_iter(f"{REDIS_PREFIX}{scope}:{key}:*")
                ),
            )
        finally:
            for k in client.scan_iter(f"{REDIS_PREFIX}{scope}:*"):
                client.delete(k)
    else:
        settings.REDIS_URL = ""
        yield (
            scope,
            lambda key: sum(
                RateLimitCounter.objects.filter(scope_key=f"{scope}:{key}").values_list(
                    "hits", flat=True
                )
            ),
        )


# serialized_rollback: the flush afterwards then leaves the database empty for the next such
# test to restore (a plain flush would re-create content types under it).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_requests_at_the_same_moment_are_all_counted(store):
    """THREADS requests of one address at once, each in its own thread and database connection:
    the counter ends at exactly THREADS, and exactly LIMIT of them are let through. (The database
    cache's read-then-write incr lost counts here and let more through.)"""
    scope, counted = store
    barrier = threading.Barrier(THREADS)
    allowed: list[bool | str] = [""] * THREADS

    def request(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            allowed[i] = rate_limit_allows(scope=scope, key="203.0.113.7", limit=LIMIT, now=NOW)
        except Exception as error:  # shown in the assertion
            allowed[i] = repr(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=request, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(allowed, key=str) == [False] * (THREADS - LIMIT[0]) + [True] * LIMIT[0], allowed
    assert counted("203.0.113.7") == THREADS


@pytest.mark.django_db
def test_each_address_and_window_counts_on_its_own(store):
    scope, counted = store
    allows = [
        rate_limit_allows(scope=scope, key="203.0.113.7", limit=(2, 600), now=NOW) for _ in range(3)
    ]
    assert allows == [True, True, False]
    assert rate_limit_allows(scope=scope, key="203.0.113.8", limit=(2, 600), now=NOW)
    # NOW is 12:00:30, so the ten-minute window ends at 12:10.
    next_window = at(2026, 9, 16, 12, 10)
    assert rate_limit_allows(scope=scope, key="203.0.113.7", limit=(2, 600), now=next_window)
    assert counted("203.0.113.7") == 4 and counted("203.0.113.8") == 1


@pytest.mark.django_db
def test_reached_reads_the_count_without_adding_to_it(store):
    """For limits on outcomes (failed sign-ins): reached at ``count`` counted, not at count-1."""
    scope, counted = store
    limit = (2, 600)
    assert not rate_limit_reached(scope=scope, key="203.0.113.7", limit=limit, now=NOW)
    rate_limit_allows(scope=scope, key="203.0.113.7", limit=limit, now=NOW)
    assert not rate_limit_reached(scope=scope, key="203.0.113.7", limit=limit, now=NOW)
    rate_limit_allows(scope=scope, key="203.0.113.7", limit=limit, now=NOW)
    assert rate_limit_reached(scope=scope, key="203.0.113.7", limit=limit, now=NOW)
    assert counted("203.0.113.7") == 2
    next_window = at(2026, 9, 16, 12, 10)
    assert not rate_limit_reached(scope=scope, key="203.0.113.7", limit=limit, now=next_window)


@pytest.mark.django_db
def test_a_long_forwarded_address_gets_a_counter_of_its_own(settings):
    settings.REDIS_URL = ""
    long_a, long_b = "a" * 300 + "1", "a" * 300 + "2"
    assert rate_limit_allows(scope="lookup", key=long_a, limit=(1, 600), now=NOW)
    assert rate_limit_allows(scope="lookup", key=long_b, limit=(1, 600), now=NOW)
    assert not rate_limit_allows(scope="lookup", key=long_a, limit=(1, 600), now=NOW)
    assert RateLimitCounter.objects.count() == 2


@pytest.mark.django_db
def test_counters_of_ended_windows_are_purged(settings):
    settings.REDIS_URL = ""
    rate_limit_allows(scope="booking", key="203.0.113.7", limit=(5, 600), now=NOW)
    rate_limit_allows(scope="verification", key="203.0.113.7", limit=(5, 3600), now=NOW)
    # The ten-minute window ends at 12:10 (kept 5 s longer); the hour's at 13:00.
    assert rate_limit_counters_purge(now=at(2026, 9, 16, 12, 10, 4)) == 0
    assert rate_limit_counters_purge(now=at(2026, 9, 16, 12, 10, 5)) == 1
    assert list(RateLimitCounter.objects.values_list("scope_key", flat=True)) == [
        "verification:203.0.113.7"
    ]
    assert rate_limit_counters_purge(now=NOW + dt.timedelta(hours=1)) == 1
    assert not RateLimitCounter.objects.exists()
