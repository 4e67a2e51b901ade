"""Bounded lock waits on the booking path (BOOKING_LOCK_TIMEOUT_SECONDS).

A booking locks its slot's row, recounts the slot's bookings, then creates its own; staff steps
lock the booking's row first. Without a limit, one stuck transaction holding such a lock (a hung
worker, a console session left open in psql) would freeze that slot or booking for everyone who
comes after it. With a limit, whoever waits too long is told to try again (``BusyError``; the API
answers 503 with Retry-After), and nothing of theirs is saved.

- PostgreSQL: ``SET LOCAL lock_timeout`` at the start of the transaction; a wait that runs out
  raises LockNotAvailable (SQLSTATE 55P03) and aborts the transaction.
- SQLite: IMMEDIATE transactions take the database's write lock at BEGIN, so the wait is there;
  the connection's busy timeout (20 s, for every other write) is lowered to the same limit for
  the booking path's outermost transaction and restored afterwards; a wait that runs out raises
  "database is locked".

Either error becomes ``BusyError``, which must leave the ``transaction.atomic`` block before
anything else queries: an aborted PostgreSQL transaction accepts no further statement, and the
block's exit rolls it back (a nested block to its savepoint, after which the outer transaction is
usable again). ``locking_transaction`` converts after the rollback; the helpers that take a slot
or booking lock (appointments.services) convert at once, to say which lock, and raise straight
out.
"""

import math
from collections.abc import Callable
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction
from django.utils.translation import gettext as _

LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: lock_timeout ran out (psycopg's LockNotAvailable)


class BusyError(ValidationError):
    """A lock on the booking path was not had within BOOKING_LOCK_TIMEOUT_SECONDS: someone else
    holds it. Nothing was saved; the same request may be repeated shortly (the API answers 503
    with a Retry-After header, forms show the message)."""


def busy_error(
    message: str = "", *, field: str = NON_FIELD_ERRORS, code: str = "busy"
) -> BusyError:
    return BusyError(
        {
            field: ValidationError(
                message or _("The system is busy right now; please try again in a moment."),
                code=code,
            )
        }
    )


def busy_retry_after() -> int:
    """Seconds a client is asked to wait before repeating a request refused as busy."""
    return max(1, math.ceil(settings.BOOKING_LOCK_TIMEOUT_SECONDS))


def lock_wait_timed_out(error: BaseException) -> bool:
    """Whether ``error`` is a lock wait that ran out (PostgreSQL 55P03, SQLite "locked")."""
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    if (getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)) == LOCK_NOT_AVAILABLE:
        return True
    return "database is locked" in str(error)


def lock_timeout_set(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """PostgreSQL: every lock wait in the current transaction ends after
    BOOKING_LOCK_TIMEOUT_SECONDS. (SQLite waits at BEGIN; see ``lock_waits_bounded``.)"""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    if not connection.in_atomic_block:
        raise RuntimeError("lock_timeout_set() is for inside a transaction (SET LOCAL).")
    milliseconds = max(1, round(settings.BOOKING_LOCK_TIMEOUT_SECONDS * 1000))
    with connection.cursor() as cursor:
        # Race: two bookings for the last place of a slot, or two staff on one booking — lock,
        # recount, then create, with a lock timeout. The row lock makes the second wait for the
        # first to commit and then see its booking; the timeout keeps a first that never commits
        # from holding every later one forever. LOCAL: it ends with the transaction, so a pooled
        # connection's other work keeps the server's default.
        cursor.execute(f"SET LOCAL lock_timeout = {int(milliseconds)}")


@contextmanager
def lock_waits_bounded(
    *, busy: Callable[[], BusyError] = busy_error, using: str = DEFAULT_DB_ALIAS
):
    """Around code that opens the transaction: on SQLite its BEGIN waits at most
    BOOKING_LOCK_TIMEOUT_SECONDS for the write lock; a lock wait that runs out anywhere in the
    block, once its transaction has rolled back, raises ``busy()``."""
    connection = connections[using]
    outermost_on_sqlite = connection.vendor == "sqlite" and not connection.in_atomic_block
    if outermost_on_sqlite:
        _sqlite_busy_timeout_set(connection, settings.BOOKING_LOCK_TIMEOUT_SECONDS)
    try:
        yield
    except OperationalError as error:
        if lock_wait_timed_out(error):
            raise busy() from error
        raise
    finally:
        if outermost_on_sqlite:
            # Back to the connection's own timeout (sqlite3's default is 5 s).
            _sqlite_busy_timeout_set(
                connection, connection.settings_dict["OPTIONS"].get("timeout", 5)
            )


@contextmanager
def locking_transaction(
    *,
    busy: Callable[[], BusyError] = busy_error,
    using: str = DEFAULT_DB_ALIAS,
    savepoint: bool = True,
):
    """``transaction.atomic()`` for a block that takes row locks of the booking path: every
    lock wait in it is bounded by BOOKING_LOCK_TIMEOUT_SECONDS and one that runs out raises
    ``busy()`` after the rollback. Nested, it is a savepoint like ``atomic`` (after whose
    rollback the outer transaction is usable again, also on PostgreSQL). Nested in another
    locking transaction, the lock timeout is already set (at the outer block's start, which no
    inner rollback undoes), and with ``savepoint=False`` the block joins the outer one (two
    statements fewer, for a block whose refusal the outer one never survives: the booking's
    place taken inside the desk's registration or the citizen's code check)."""
    connection = connections[using]
    nested_in_locking = getattr(connection, "_locking_transactions", 0) > 0
    with (
        lock_waits_bounded(busy=busy, using=using),
        transaction.atomic(using=using, savepoint=savepoint or not nested_in_locking),
    ):
        if not nested_in_locking:
            lock_timeout_set(using=using)
        connection._locking_transactions = getattr(connection, "_locking_transactions", 0) + 1
        try:
            yield
        finally:
            connection._locking_transactions -= 1


def _sqlite_busy_timeout_set(connection, seconds: float) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA busy_timeout = {int(max(0, seconds) * 1000)}")
