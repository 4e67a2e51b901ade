"""Is the background worker alive? It writes a heartbeat every minute; staff pages warn when it
is older than WORKER_HEARTBEAT_MAX_SECONDS — reminders that silently stop are the most common
failure of booking systems."""

import datetime as dt

from django.conf import settings
from django.core.cache import cache

HEARTBEAT_KEY = "worker-heartbeat"


def worker_heartbeat_write(*, now: dt.datetime) -> None:
    cache.set(HEARTBEAT_KEY, now.timestamp(), timeout=None)


def worker_last_heartbeat() -> dt.datetime | None:
    stamp = cache.get(HEARTBEAT_KEY)
    return dt.datetime.fromtimestamp(stamp, tz=dt.UTC) if stamp is not None else None


def worker_is_alive(*, now: dt.datetime) -> bool:
    last = worker_last_heartbeat()
    limit = dt.timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_SECONDS)
    return last is not None and now - last <= limit
