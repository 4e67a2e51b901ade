"""What the hall pays its SMS provider for: messages and billed parts, per month and purpose.

A Chinese text message is billed as one part up to 70 characters, the signature 【…】 included;
a longer one is split into parts of 67 characters each (both providers' rule). A provider's own
count, where its answer or receipt gives one (Tencent's Fee, Aliyun's sms_size), replaces ours.
"""

import datetime as dt
import math

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from .models import Message

SINGLE_PART_CHARS = 70
LONG_PART_CHARS = 67


def text_segments(text: str, *, signature: str = "") -> int:
    """The parts a text is billed as, with the signature as the provider adds it."""
    length = len(text) + (len(signature) + 2 if signature else 0)
    if length <= SINGLE_PART_CHARS:
        return 1
    return math.ceil(length / LONG_PART_CHARS)


# Messages the backend took (sent, delivered, or failed after it had them): the ones billed.
BILLED = Q(sent_at__isnull=False)


def message_counts(*, since: dt.datetime, until: dt.datetime, messages=None) -> list[dict]:
    """Per month (local) and purpose: messages sent and parts billed between ``since`` and
    ``until``, newest month first; one query. ``messages`` narrows the log (a hall's staff)."""
    rows = (
        (messages if messages is not None else Message.objects.all())
        .filter(BILLED, sent_at__gte=since, sent_at__lt=until)
        .annotate(month=TruncMonth("sent_at", tzinfo=timezone.get_default_timezone()))
        .values("month", "purpose")
        .annotate(messages=Count("pk"), segments=Sum("segments"))
        .order_by("-month", "purpose")
    )
    return [
        {
            "month": row["month"].date(),
            "purpose": Message.Purpose.label(row["purpose"]),
            "messages": row["messages"],
            "segments": row["segments"] or 0,
        }
        for row in rows
    ]
