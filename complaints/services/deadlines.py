"""Complaint deadlines in working days with the holiday calendar (GB/T 36113; DB1403/T 7.3): when
acceptance and the reply are due, which step is running late, and the overdue list."""

import datetime as dt

from django.conf import settings
from django.db.models import Q

from duty.calendar import local, working_days_add

from ..models import (
    AWAITING_ACCEPTANCE,
    AWAITING_REPLY,
    Complaint,
)


def accept_due_date(*, received_at: dt.datetime) -> dt.date:
    """GB/T 36113, DB1403/T 7.3: accept within COMPLAINT_ACCEPT_WORKING_DAYS working days."""
    return working_days_add(
        start=local(received_at).date(), days=settings.COMPLAINT_ACCEPT_WORKING_DAYS
    )


def reply_due_date(*, accepted_at: dt.datetime, is_complex: bool) -> dt.date:
    """GB/T 36113 (local rule), DB1403/T 7.3: reply within COMPLAINT_REPLY_WORKING_DAYS working
    days of acceptance, COMPLAINT_REPLY_COMPLEX_WORKING_DAYS for a complex complaint."""
    days = (
        settings.COMPLAINT_REPLY_COMPLEX_WORKING_DAYS
        if is_complex
        else settings.COMPLAINT_REPLY_WORKING_DAYS
    )
    return working_days_add(start=local(accepted_at).date(), days=days)


def complaints_overdue(now: dt.datetime):
    """GB/T 36113 (local deadlines), DB1403/T 7.3: complaints not accepted by their acceptance
    date, or not replied to by their reply date."""
    return Complaint.objects.filter(overdue_condition(now)).select_related("hall").order_by("pk")


def complaint_running_deadline(*, complaint: Complaint) -> tuple[str, dt.date] | None:
    """GB/T 36113 (local deadlines), DB1403/T 7.3: the deadline running now — ``("accept",
    accept_due)`` while awaiting acceptance, ``("reply", reply_due)`` while awaiting the reply —
    or None once replied, refused or archived. The same states as ``overdue_condition``."""
    if complaint.state in AWAITING_ACCEPTANCE:
        return "accept", complaint.accept_due
    if complaint.state in AWAITING_REPLY and complaint.reply_due:
        return "reply", complaint.reply_due
    return None


def overdue_condition(now: dt.datetime) -> Q:
    """GB/T 36113 (local deadlines), DB1403/T 7.3: the overdue rule as a filter, for the sweep,
    the console's list filter and its flag on each row."""
    today = local(now).date()
    return Q(state__in=AWAITING_ACCEPTANCE, accept_due__lt=today) | Q(
        state__in=AWAITING_REPLY, reply_due__lt=today
    )
