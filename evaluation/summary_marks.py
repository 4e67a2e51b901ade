"""Marking the dashboard's summary days stale when a booking, a rating or a no-show follow-up
changes (see ``evaluation.reporting.summary``): receivers on the models' own signals, so that
appointments (below evaluation in the layers) need not know the summary exists.

Bulk writes (``QuerySet.update``, ``bulk_create``, ``bulk_update``) send no signal: each call
site that writes a counted field of those records calls ``day_mark_stale`` (or
``bookings_mark_stale``) here itself, and ``tests/test_dashboard_summary.py`` fails when a new
bulk writer of those models appears.
"""

import datetime as dt

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone

from appointments.models import Appointment, NoShowFollowUp
from duty.calendar import local

from .models import DashboardStaleDay, Rating

# The summary holds days up to the day before yesterday; later days are always counted live.
SUMMARY_LAG_DAYS = 2

# --- marking days stale --------------------------------------------------------------------------


def day_mark_stale(pairs, *, now: dt.datetime | None = None) -> int:
    """Mark (window id, local day) pairs stale, in the caller's transaction; days from today on
    are left out (the summary never holds them). Call it from every bulk write of bookings or
    ratings (``QuerySet.update``, ``bulk_create``, ``bulk_update``), which send no signal."""
    today = local(now or timezone.now()).date()
    fresh = {(w, d) for w, d in pairs if w is not None and d < today}
    DashboardStaleDay.objects.bulk_create(
        [DashboardStaleDay(window_id=w, day=d) for w, d in sorted(fresh)], batch_size=1000
    )
    return len(fresh)


def bookings_mark_stale(bookings, *, now: dt.datetime | None = None) -> int:
    """Mark the days of a queryset of bookings stale (before a bulk write changes them)."""
    today = local(now or timezone.now()).date()
    low = dt.datetime.combine(today, dt.time(), tzinfo=timezone.get_default_timezone())
    pairs = {
        (w, local(s).date())
        for w, s in bookings.filter(start__lt=low).order_by().values_list("window_id", "start")
    }
    return day_mark_stale(pairs, now=now)


# The booking's fields a save can change that its day's counts depend on (day_counts).
COUNTED_FIELDS = frozenset(
    {
        "window",
        "window_id",
        "start",
        "status",
        "channel",
        "matter",
        "matter_id",
        "created_at",
        "accepted_at",
        "arrived_at",
        "served_at",
    }
)
# Moving a booking (or changing its matter) changes the counts of the day it leaves too.
PLACE_FIELDS = frozenset({"window", "window_id", "start", "matter", "matter_id"})


def _past(moment, today) -> bool:
    return moment is not None and local(moment).date() < today


@receiver(pre_save, sender=Appointment, dispatch_uid="evaluation.summary_booking_moves")
def booking_leaves_day(sender, instance, raw=False, update_fields=None, **kwargs):
    """A booking moved (another window or time) or given another matter: the day it leaves is
    stale too, and so are its follow-ups' days (they are counted at the booking's window and
    matter). Read from the database only when the save can move it, for a booking stored."""
    if instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and not (PLACE_FIELDS & set(update_fields)):
        return
    old = (
        Appointment.objects.filter(pk=instance.pk)
        .values_list("window_id", "start", "matter_id")
        .first()
    )
    if old is None or old == (instance.window_id, instance.start, instance.matter_id):
        return
    today = local(timezone.now()).date()
    pairs = []
    if _past(old[1], today):
        pairs.append((old[0], local(old[1]).date()))
    if (old[0], old[2]) != (instance.window_id, instance.matter_id):
        for slot_start in NoShowFollowUp.objects.filter(appointment_id=instance.pk).values_list(
            "slot_start", flat=True
        ):
            if _past(slot_start, today):
                day = local(slot_start).date()
                pairs += [(old[0], day), (instance.window_id, day)]
    if pairs:
        day_mark_stale(pairs)


@receiver(post_save, sender=Appointment, dispatch_uid="evaluation.summary_booking_saved")
def booking_saved(sender, instance, created=False, update_fields=None, **kwargs):
    """A booking of a past day written: its (window, day) is stale. Nothing for today and
    later (the summary never holds them), so booking costs nothing more."""
    if update_fields is not None and not (COUNTED_FIELDS & set(update_fields)):
        return
    if _past(instance.start, local(timezone.now()).date()):
        day_mark_stale([(instance.window_id, local(instance.start).date())])


@receiver(post_delete, sender=Appointment, dispatch_uid="evaluation.summary_booking_deleted")
def booking_deleted(sender, instance, **kwargs):
    if _past(instance.start, local(timezone.now()).date()):
        day_mark_stale([(instance.window_id, local(instance.start).date())])


def _rating_day(rating: Rating):
    """The rated booking's (window, start): its day holds the rating's counts."""
    booking = rating._state.fields_cache.get("appointment")
    if booking is not None:
        return booking.window_id, booking.start
    return (
        Appointment.objects.filter(pk=rating.appointment_id)
        .values_list("window_id", "start")
        .first()
    )


@receiver(post_save, sender=Rating, dispatch_uid="evaluation.summary_rating_saved")
@receiver(post_delete, sender=Rating, dispatch_uid="evaluation.summary_rating_deleted")
def rating_changed(sender, instance, update_fields=None, **kwargs):
    """A rating given, excluded after an appeal (申诉复核) or deleted: its booking's day is
    stale (anonymising a comment is not counted and marks nothing)."""
    if update_fields is not None and not ({"excluded", "overall", "source"} & set(update_fields)):
        return
    place = _rating_day(instance)
    if place and _past(place[1], local(timezone.now()).date()):
        day_mark_stale([(place[0], local(place[1]).date())])


@receiver(post_save, sender=NoShowFollowUp, dispatch_uid="evaluation.summary_follow_up_saved")
@receiver(post_delete, sender=NoShowFollowUp, dispatch_uid="evaluation.summary_follow_up_deleted")
def follow_up_changed(sender, instance, update_fields=None, **kwargs):
    """DB1403/T 6.2.3: a no-show follow-up opened, recorded (late or not) or deleted: the day of
    its booked time, at its booking's window, is stale (a note changed is not counted)."""
    counted = {"outcome", "recorded_at", "due_at", "slot_start", "appointment"}
    if update_fields is not None and not (counted & set(update_fields)):
        return
    if not _past(instance.slot_start, local(timezone.now()).date()):
        return
    booking = instance._state.fields_cache.get("appointment")
    window_id = (
        booking.window_id
        if booking is not None
        else Appointment.objects.filter(pk=instance.appointment_id)
        .values_list("window_id", flat=True)
        .first()
    )
    day_mark_stale([(window_id, local(instance.slot_start).date())])
