"""The citizen API's availability answers, assembled from pieces of one matter and one day kept
in the cache, so that a booking makes only its own day of its own matters stale.

An answer (a matter, ``from`` to ``to``) is the concatenation of one JSON piece per day: that
day's bookable slots of the matter's windows, each with its places left. A piece is valid for a
*stamp*:

- the structure version (``slots.availability_version``): bumped once committed by any change to
  what the slots are made of — windows, service periods, the calendar, duties, matters and
  their windows (appointments/receivers.py);
- the day's token for the matter: replaced by a fresh random number once a change to a booking
  or to a slot's capacity on that day at one of the matter's windows is committed
  (``availability_places_changed``);
- for the day the 24-hour lead ends in, the minute it ends (earlier slots of that day are left
  out).

Every request reads the version and its days' tokens from the shared cache in one call, so a
committed booking is seen by the next request of every process. The pieces themselves are kept
in the shared cache and, for speed, in this process (``_local``, checked against the same
stamps). A piece is stored under the stamp read *before* its bookings were counted: a booking
committed meanwhile replaces the token, so that piece is never taken for the new state. A token
that is missing (evicted, never set, the cache flushed) is created afresh and random, so no piece
stored before can match it; with the cache unreachable nothing is stored and every answer is
computed. Whatever happens, a piece is not used more than ``2 * PIECE_SECONDS`` after it was
computed (its time in the shared cache, then in a process).

A booking is still judged on its locked, recounted slot, so a piece can at worst show, for the
instant between a commit and its token being replaced, a place that has just gone (409).
"""

import datetime as dt
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.utils import timezone

from duty.calendar import local
from duty.models import Window

from .models import Matter
from .slots import (
    AVAILABILITY_VERSION_KEY,
    SlotTime,
    availability_version,
    slot_bookings,
    slot_capacities,
    windows_slots,
)

PIECE_SECONDS = 60
# A token lives far beyond the days a citizen can ask for; one that expires is made afresh (a
# miss, never a wrong answer).
TOKEN_SECONDS = 90 * 86400
# Entries kept in this process per table before it is emptied: pieces are a few kB of JSON, the
# skeleton of a matter's day about as much (30 windows' horizon: ~20 MB).
LOCAL_MAX = 20_000

# Given (slot, window name) for many slots, each slot's JSON up to ``"capacity":`` and from the
# comma after its places left (the API's SlotOut, appointments/api.py): the numbers that change
# with bookings and slot capacities are put in between.
Encoder = Callable[[list[tuple[SlotTime, str]]], list[tuple[bytes, bytes]]]


@dataclass(frozen=True)
class _Offer:
    """A matter's active windows, as the API offers them."""

    windows: tuple[Window, ...]
    names: dict[int, str]


@dataclass(frozen=True)
class _SkeletonSlot:
    window_id: int
    start: dt.datetime
    capacity: int  # the window's; a slot's own capacity (Slot) is read with the bookings
    prefix: bytes
    suffix: bytes


# Per process, checked against the stamps read from the shared cache on every request.
_offers: dict[tuple[int, int], _Offer | None] = {}
_skeletons: dict[tuple[int, int, dt.date], list[_SkeletonSlot]] = {}
_local: dict[tuple[int, dt.date], tuple[tuple, float, bytes]] = {}


def availability_local_clear() -> None:
    """Forget what this process keeps (as a new process would start)."""
    for table in (_offers, _skeletons, _local):
        table.clear()


def _remember(table: dict, key, value) -> None:
    # Emptied rather than evicted one by one: no bookkeeping per hit, and safe under threads.
    if len(table) >= LOCAL_MAX:
        table.clear()
    table[key] = value


def _token_key(matter_id: int, day: dt.date) -> str:
    return f"availability:token:{matter_id}:{day.isoformat()}"


def _piece_key(matter_id: int, day: dt.date) -> str:
    return f"availability:piece:{matter_id}:{day.isoformat()}"


def _fresh_token() -> int:
    return secrets.randbits(62)


def availability_places_changed(places: set[tuple[int, dt.datetime]]) -> None:
    """Make the cached days of every matter served at the (window, slot start) ``places`` stale
    (call once the change is committed): one query and one cache call."""
    windows = {window_id for window_id, _start in places}
    matters: dict[int, list[int]] = {}
    for window_id, matter_id in Matter.windows.through.objects.filter(
        window_id__in=windows
    ).values_list("window_id", "matter_id"):
        matters.setdefault(window_id, []).append(matter_id)
    tokens = {
        _token_key(matter_id, local(start).date()): _fresh_token()
        for window_id, start in places
        for matter_id in matters.get(window_id, ())
    }
    if tokens:
        cache.set_many(tokens, timeout=TOKEN_SECONDS)


def _pieces_shared() -> bool:
    """Pieces are shared between processes through Redis (one round trip for all of them), not
    through the database cache, which writes each key in a transaction of its own: there each
    process keeps its own pieces, and only the tokens are shared."""
    return not isinstance(caches["default"], DatabaseCache)


def _tokens(matter_id: int, days: list[dt.date], found: dict) -> dict[dt.date, int] | None:
    """The days' tokens from ``found`` (what the cache answered), created where missing; None
    if the cache does not keep them."""
    keys = {_token_key(matter_id, day): day for day in days}
    missing = [key for key in keys if key not in found]
    if missing:
        for key in missing:
            # add: processes that miss at once agree on one token.
            cache.add(key, _fresh_token(), timeout=TOKEN_SECONDS)
        found = found | cache.get_many(missing)
        if any(key not in found for key in missing):
            return None
    return {day: found[key] for key, day in keys.items()}


def _offer(matter_id: int, version: int) -> _Offer | None:
    key = (version, matter_id)
    if key in _offers:
        return _offers[key]
    matter = Matter.objects.filter(pk=matter_id, is_active=True).first()
    offer = None
    if matter is not None:
        windows = tuple(matter.windows.filter(is_active=True).order_by("number"))
        offer = _Offer(windows=windows, names={w.pk: str(w) for w in windows})
    if version:
        _remember(_offers, key, offer)
    return offer


def _skeleton(
    matter_id: int, offer: _Offer, days: list[dt.date], version: int, encode: Encoder
) -> dict[dt.date, list[_SkeletonSlot]]:
    """The bookable slots of the days with their JSON, without the places: they change only
    with the structure version. A day missing here is built with every day of
    the booking horizon, in one ``windows_slots`` call: the next questions about the matter
    find theirs."""
    result = {}
    for day in days:
        if (version, matter_id, day) in _skeletons:
            result[day] = _skeletons[(version, matter_id, day)]
    missing = [day for day in days if day not in result]
    if not missing:
        return result
    today = timezone.localdate()
    first = min(min(missing), today)
    last = max(max(missing), today + dt.timedelta(days=settings.BOOKING_HORIZON_DAYS + 1))
    slots = [
        s
        for s in windows_slots(windows=list(offer.windows), start_date=first, end_date=last)
        if s.bookable
    ]
    per_slot = {w.pk: w.capacity_per_slot for w in offer.windows}
    places = [(s, offer.names[s.window_id]) for s in slots]
    built: dict[dt.date, list[_SkeletonSlot]] = {
        first + dt.timedelta(days=n): [] for n in range((last - first).days + 1)
    }
    for (s, _name), (prefix, suffix) in zip(places, encode(places), strict=True):
        built[local(s.start).date()].append(
            _SkeletonSlot(s.window_id, s.start, per_slot[s.window_id], prefix, suffix)
        )
    for day, skeleton in built.items():
        if version:
            _remember(_skeletons, (version, matter_id, day), skeleton)
    return result | {day: built[day] for day in missing}


def _pieces_build(
    matter_id: int,
    offer: _Offer,
    days: list[dt.date],
    not_before: dt.datetime,
    version: int,
    encode: Encoder,
) -> dict[dt.date, bytes]:
    """The days' pieces from their skeletons, the capacities set for single slots and one
    grouped count of the bookings (two queries)."""
    skeletons = _skeleton(matter_id, offer, days, version, encode)
    starts = [s.start for day in days for s in skeletons[day]]
    if not starts:
        return dict.fromkeys(days, b"")
    window_ids = list(offer.names)
    first, last = min(starts), max(starts)
    capacities = slot_capacities(window_ids=window_ids, first=first, last=last)
    booked = slot_bookings(window_ids=window_ids, first=first, last=last)
    pieces = {}
    for day in days:
        parts = []
        for s in skeletons[day]:
            if s.start >= not_before:
                capacity = capacities.get((s.window_id, s.start), s.capacity)
                left = max(capacity - booked.get((s.window_id, s.start), 0), 0)
                parts.append(b'%s%d,"remaining":%d%s' % (s.prefix, capacity, left, s.suffix))
        pieces[day] = b",".join(parts)
    return pieces


def _minute_ceiling(moment: dt.datetime) -> dt.datetime:
    """Slots start on whole minutes: ``start >= moment`` exactly when ``start >=`` this."""
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + dt.timedelta(minutes=1)


def availability_json(
    *, matter_id: int, date_from: dt.date, date_to: dt.date, now: dt.datetime, encode: Encoder
) -> bytes | None:
    """The JSON list of the matter's bookable slots from ``date_from`` to ``date_to`` that start
    at least BOOKING_MIN_LEAD_HOURS after ``now``, ordered by time then window (as
    ``slots.windows_availability`` gives them); None if there is no such active matter.

    A day whose piece is cached costs no query; the rest cost one grouped count together (and,
    after a change of structure, the slots' calendar)."""
    not_before = _minute_ceiling(now + dt.timedelta(hours=settings.BOOKING_MIN_LEAD_HOURS))
    boundary = local(not_before).date()
    first = max(date_from, timezone.localdate(now), boundary)
    days = [first + dt.timedelta(days=n) for n in range((date_to - first).days + 1)]
    # One cache call for the version and the days' tokens.
    found = cache.get_many([AVAILABILITY_VERSION_KEY] + [_token_key(matter_id, d) for d in days])
    # 0: the cache is unreachable (Redis down): nothing is kept, not even in this process, whose
    # copies could not be told stale.
    version = found.get(AVAILABILITY_VERSION_KEY) or availability_version()
    offer = _offer(matter_id, version)
    if offer is None:
        return None
    if not days or not offer.windows:
        return b"[]"
    tokens = _tokens(matter_id, days, found) if version else None
    if tokens is None:  # the cache keeps nothing: compute, store nothing
        pieces = _pieces_build(matter_id, offer, days, not_before, version, encode)
        return _joined(pieces, days)
    stamps = {day: (version, tokens[day], not_before if day == boundary else None) for day in days}
    pieces = {}
    clock = time.monotonic()
    for day in days:
        kept = _local.get((matter_id, day))
        if kept is not None and kept[0] == stamps[day] and kept[1] > clock:
            pieces[day] = kept[2]
    wanted = [day for day in days if day not in pieces]
    if wanted and _pieces_shared():
        shared = cache.get_many([_piece_key(matter_id, day) for day in wanted])
        for day in wanted:
            stored = shared.get(_piece_key(matter_id, day))
            if stored is not None and stored[0] == stamps[day]:
                pieces[day] = stored[1]
                _remember(_local, (matter_id, day), (stamps[day], clock + PIECE_SECONDS, stored[1]))
    missing = [day for day in days if day not in pieces]
    if missing:
        built = _pieces_build(matter_id, offer, missing, not_before, version, encode)
        if _pieces_shared():
            cache.set_many(
                {_piece_key(matter_id, day): (stamps[day], built[day]) for day in missing},
                timeout=PIECE_SECONDS,
            )
        for day in missing:
            _remember(_local, (matter_id, day), (stamps[day], clock + PIECE_SECONDS, built[day]))
        pieces.update(built)
    return _joined(pieces, days)


def _joined(pieces: dict[dt.date, bytes], days: list[dt.date]) -> bytes:
    return b"[" + b",".join(piece for day in days if (piece := pieces[day])) + b"]"
