"""Request rate limits per client address: in Redis when REDIS_URL is set, else in the database.

Either way one request is counted by one atomic operation that also returns the new count
(Redis INCR; an SQL upsert with RETURNING), so requests that arrive together are all counted and
exactly ``count`` of them get through. The database cache's ``incr`` did not do that: it reads the
value and writes it back plus one, and concurrent requests overwrote each other's counts.

With Redis down or restarting, the limits keep protecting: requests are counted in the database
instead (yuyue/cache.py says when Redis is taken to be down). The trade-off, chosen over refusing
every request while Redis is away: the counts of the current window start again from zero in the
other store when an outage begins and when it ends, so a client may get up to twice its limit
through in the window of each switch, and every limited request writes a row while Redis is
down. The limits stay shared by every web instance (one database), unlike a per-process count.
"""

import datetime as dt
import hashlib
import ipaddress
import threading

import redis
from django.conf import settings
from django.db import connections, router
from django.utils import timezone

from sms.models import RateLimitCounter

from .cache import (
    REDIS_DOWN_ERRORS,
    redis_answered,
    redis_failed,
    redis_is_down,
    redis_socket_options,
)

# Keys outlive their window by this much, so that a counter never expires while its window is
# still current on a server whose clock is slightly behind.
EXPIRY_MARGIN_SECONDS = 5
REDIS_PREFIX = "yuyue:ratelimit:"

_redis_clients: dict[str, redis.Redis] = {}
_redis_clients_lock = threading.Lock()


def client_address(request) -> str:
    """The client's address; behind a trusted proxy, the hop the proxy appended last."""
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def client_ip(request) -> str | None:
    """``client_address`` where it is an IP address, else None: for the sign-in lockout, which
    keeps addresses in an IP column (PostgreSQL's inet refuses "unknown")."""
    address = client_address(request)
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def rate_limit_allows(*, scope: str, key: str, limit: tuple[int, int], now: dt.datetime) -> bool:
    """Count one request of ``key`` in ``scope``; False once ``limit`` (count, seconds) is passed.

    A fixed window: simple, and at most twice the limit across a window boundary.
    """
    count, seconds = limit
    scope_key, window = _scope_key(scope, key), _window(seconds, now)
    expires = (window + 1) * seconds + EXPIRY_MARGIN_SECONDS
    hits = _redis_call(
        _count_in_redis, _redis_key(scope_key, window), expires - int(now.timestamp())
    )
    if hits is None:
        hits = _count_in_database(scope_key, window, dt.datetime.fromtimestamp(expires, tz=dt.UTC))
    return hits <= count


def rate_limit_reached(*, scope: str, key: str, limit: tuple[int, int], now: dt.datetime) -> bool:
    """Has ``key`` already used up ``limit`` in ``scope``'s current window? Counts nothing: for
    limits on outcomes (failed sign-ins) that are counted afterwards with ``rate_limit_allows``."""
    count, seconds = limit
    scope_key, window = _scope_key(scope, key), _window(seconds, now)
    hits = _redis_call(_read_in_redis, _redis_key(scope_key, window))
    if hits is None:
        counter = RateLimitCounter.objects.filter(scope_key=scope_key, period=window).first()
        hits = counter.hits if counter else 0
    return hits >= count


def request_rate_limited(request, *, scope: str, limit: tuple[int, int]) -> bool:
    """Count this request of its client address in ``scope``; True once over ``limit``."""
    return not rate_limit_allows(
        scope=scope, key=client_address(request), limit=limit, now=timezone.now()
    )


def rate_limit_counters_purge(*, now: dt.datetime) -> int:
    """Delete the database counters of windows that have ended (Redis expires its own keys);
    the worker runs this hourly. Returns how many were deleted."""
    deleted, _by_model = RateLimitCounter.objects.filter(expires_at__lte=now).delete()
    return deleted


def _window(seconds: int, now: dt.datetime) -> int:
    """The fixed window ``now`` falls in: seconds since the epoch // the window's length."""
    return int(now.timestamp()) // seconds


def _redis_key(scope_key: str, window: int) -> str:
    return f"{REDIS_PREFIX}{scope_key}:{window}"


def _scope_key(scope: str, key: str) -> str:
    scope_key = f"{scope}:{key}"
    if len(scope_key) > RateLimitCounter._meta.get_field("scope_key").max_length:
        # A forwarded address is whatever the proxy wrote: long ones are hashed, not cut, so
        # that two of them never share a counter.
        scope_key = f"{scope}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"
    return scope_key


def _redis_call(operation, *args) -> int | None:
    """``operation(client, *args)`` on REDIS_URL; None without Redis (none set, or down: the
    caller counts in the database)."""
    url = settings.REDIS_URL
    if not url or redis_is_down(url):
        return None
    try:
        result = operation(_redis_client(url), *args)
    except REDIS_DOWN_ERRORS as error:
        redis_failed(url, error)
        return None
    redis_answered(url)
    return result


def _read_in_redis(client: redis.Redis, key: str) -> int:
    return int(client.get(key) or 0)


def _count_in_redis(client: redis.Redis, key: str, ttl: int) -> int:
    """INCR and EXPIRE in one MULTI/EXEC: Redis runs commands one at a time, so every request
    gets its own count, and the key disappears after its window."""
    with client.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, max(ttl, 1))
        hits, _expire_set = pipe.execute()
    return hits


def _redis_client(url: str) -> redis.Redis:
    """One client (and connection pool) per URL and process; redis-py reconnects after a fork."""
    with _redis_clients_lock:
        if url not in _redis_clients:
            _redis_clients[url] = redis.Redis.from_url(url, **redis_socket_options())
        return _redis_clients[url]


def _count_in_database(scope_key: str, window: int, expires_at: dt.datetime) -> int:
    """Add one to the window's counter and return the new count, in one statement.

    Race-free on both databases: INSERT ... ON CONFLICT DO UPDATE SET hits = hits + 1 either
    inserts the row or, if it exists (or a rival inserts it meanwhile), updates it under its
    row lock, re-reading the latest committed count (PostgreSQL waits on the unique index for a
    rival insert, then takes the update path); SQLite runs one writer at a time. RETURNING gives
    this request's own count, which no later request can change before it is read.
    (``bulk_create(update_conflicts=True)`` can only set the inserted value, not add to it, and
    returns no count.)
    """
    alias = router.db_for_write(RateLimitCounter)
    connection = connections[alias]
    quote = connection.ops.quote_name
    table = quote(RateLimitCounter._meta.db_table)
    scope_col, period, hits, expires = map(quote, ("scope_key", "period", "hits", "expires_at"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({scope_col}, {period}, {hits}, {expires}) "
            f"VALUES (%s, %s, 1, %s) "
            f"ON CONFLICT ({scope_col}, {period}) DO UPDATE SET {hits} = {table}.{hits} + 1 "
            f"RETURNING {hits}",
            [scope_key, window, connection.ops.adapt_datetimefield_value(expires_at)],
        )
        return cursor.fetchone()[0]
