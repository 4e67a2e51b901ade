"""Request rate limits per client address, counted in the cache (Redis when REDIS_URL is set)."""

import datetime as dt
import ipaddress

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone


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
    window = int(now.timestamp()) // seconds
    cache_key = f"ratelimit:{scope}:{key}:{window}"
    cache.add(cache_key, 0, timeout=seconds + 5)
    try:
        hits = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=seconds + 5)
        hits = 1
    return hits <= count


def request_rate_limited(request, *, scope: str, limit: tuple[int, int]) -> bool:
    """Count this request of its client address in ``scope``; True once over ``limit``."""
    return not rate_limit_allows(
        scope=scope, key=client_address(request), limit=limit, now=timezone.now()
    )
