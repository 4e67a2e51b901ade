"""Arguments the management commands share, checked once: a hall by code or name, a date, a
period. Bad input exits with status 2 (usage), so that scripts can tell it from a failed check."""

import datetime as dt

from django.core.management.base import CommandError
from django.db.models import Q

from .models import Hall

USAGE_ERROR = 2


def usage_error(message: str) -> CommandError:
    return CommandError(message, returncode=USAGE_ERROR)


def hall_arg(value: str) -> Hall:
    """The hall with this code (or full name); an unknown one lists the codes there are."""
    hall = Hall.objects.filter(Q(code=value) | Q(name=value)).first()
    if hall is None:
        known = ", ".join(Hall.objects.order_by("code").values_list("code", flat=True))
        raise usage_error(f"No hall “{value}”. Known halls: {known or 'none'}.")
    return hall


def date_arg(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise usage_error(f"“{value}” is not a date; write it as YYYY-MM-DD.") from None


def period_args(date_from: str, date_to: str) -> tuple[dt.date, dt.date]:
    """``--from`` and ``--to`` as dates, the first not after the second."""
    first, last = date_arg(date_from), date_arg(date_to)
    if first > last:
        raise usage_error(f"--from {first} is after --to {last}.")
    return first, last
