"""Redis as a cache that may go away: an outage reads as a miss, never as an error.

Redis holds only what can be recomputed (cached availability answers, the published 好评率, the
worker's heartbeat) and the rate-limit counters, which fall back to the database
(yuyue/ratelimit.py). So with Redis down or restarting, every request still gets its answer from
the database, a little slower. One failed call marks Redis down in this process for
REDIS_RETRY_SECONDS: the calls in between answer "miss" at once instead of each waiting for a
connection that is refused or, worse, times out. The first failure of an outage and the recovery
are logged once each (WARNING and INFO), not once per request.
"""

import functools
import logging
import threading
import time

import redis
from django.conf import settings
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

# The errors of a Redis that is down, restarting, unreachable or too slow to answer; anything else
# (a wrong type, a bad command) is a bug and is raised.
REDIS_DOWN_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

# Redis URL → the monotonic time before which it is taken to be down (per process; shared by the
# threads of a gunicorn worker, whose cache backends are per thread).
_down_until: dict[str, float] = {}
_state_lock = threading.Lock()


def redis_is_down(url: str) -> bool:
    """Was ``url`` found down less than REDIS_RETRY_SECONDS ago?"""
    return time.monotonic() < _down_until.get(url, 0.0)


def redis_failed(url: str, error: Exception) -> None:
    """Record that a call to ``url`` failed: calls answer without Redis for a while."""
    with _state_lock:
        was_up = url not in _down_until
        _down_until[url] = time.monotonic() + settings.REDIS_RETRY_SECONDS
    if was_up:
        logger.warning(
            "Redis unreachable (%s: %s): answering from the database until it is back.",
            type(error).__name__,
            error,
        )


def redis_answered(url: str) -> None:
    """Record that a call to ``url`` succeeded (the end of an outage, if there was one)."""
    if url in _down_until:
        with _state_lock:
            was_down = _down_until.pop(url, None) is not None
        if was_down:
            logger.info("Redis reachable again.")


def redis_socket_options() -> dict[str, float]:
    """Connection and reply timeouts (REDIS_TIMEOUT_SECONDS) for the Redis clients of requests,
    as the cache has them (settings.CACHES): a Redis that hangs costs a request this long, once
    per REDIS_RETRY_SECONDS."""
    seconds = settings.REDIS_TIMEOUT_SECONDS
    return {"socket_connect_timeout": seconds, "socket_timeout": seconds}


def _or_miss(miss):
    """Run the cache operation; with Redis down, answer ``miss`` (called with the operation's
    arguments when callable) instead."""

    def decorate(operation):
        @functools.wraps(operation)
        def guarded(self, *args, **kwargs):
            url = self._servers[0]
            if not redis_is_down(url):
                try:
                    result = operation(self, *args, **kwargs)
                except REDIS_DOWN_ERRORS as error:
                    redis_failed(url, error)
                else:
                    redis_answered(url)
                    return result
            return miss(*args, **kwargs) if callable(miss) else miss

        return guarded

    return decorate


def _default(key, default=None, version=None):
    return default


def _not_stored(key, *args, **kwargs):
    # incr() on a missing key raises ValueError; callers handle that already.
    raise ValueError(f"Key {key!r} not found (Redis unreachable).")


class TolerantRedisCache(RedisCache):
    """Django's Redis cache whose outage is a cache miss: reads find nothing, writes are
    dropped, ``incr`` raises ValueError as for a missing key."""

    add = _or_miss(False)(RedisCache.add)
    get = _or_miss(_default)(RedisCache.get)
    set = _or_miss(None)(RedisCache.set)
    touch = _or_miss(False)(RedisCache.touch)
    delete = _or_miss(False)(RedisCache.delete)
    get_many = _or_miss({})(RedisCache.get_many)
    has_key = _or_miss(False)(RedisCache.has_key)
    incr = _or_miss(_not_stored)(RedisCache.incr)
    set_many = _or_miss(lambda data, *args, **kwargs: list(data))(RedisCache.set_many)
    delete_many = _or_miss(None)(RedisCache.delete_many)
    clear = _or_miss(False)(RedisCache.clear)
