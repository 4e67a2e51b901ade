"""Copy the old foreign keys into the generic references, in batches: a message's booking into
its subject (with the booking's hall), its change request into its occasion, an alert's booking
into its subject. The labels are read from the old foreign keys themselves, so ``sms`` names no
other app here. Reversible while the old columns exist (before 0010 is undone, they are back).

A queued message whose booking was deleted (no booking left, its reference kept) is marked
skipped now: the rule that skipped it read the old foreign key."""

from django.db import migrations
from django.db.models import Q

BATCH = 1000


def _label(model, field: str) -> str:
    return model._meta.get_field(field).related_model._meta.label_lower


def _batches(queryset, fields):
    last = 0
    while True:
        rows = list(queryset.filter(pk__gt=last).order_by("pk").values("pk", *fields)[:BATCH])
        if not rows:
            return
        yield rows
        last = rows[-1]["pk"]


def forward(apps, schema_editor):
    Message = apps.get_model("sms", "Message")
    Alert = apps.get_model("sms", "Alert")
    booking, change = _label(Message, "appointment"), _label(Message, "change_request")
    Message.objects.filter(status="queued", appointment__isnull=True).exclude(
        subject_reference=""
    ).update(status="skipped", error="booking deleted")
    linked = Message.objects.filter(Q(appointment__isnull=False) | Q(change_request__isnull=False))
    fields = ["appointment_id", "change_request_id", "appointment__window__hall_id"]
    for rows in _batches(linked, fields):
        Message.objects.bulk_update(
            [
                Message(
                    pk=row["pk"],
                    subject_type=booking if row["appointment_id"] else "",
                    subject_id=row["appointment_id"],
                    occasion_type=change if row["change_request_id"] else "",
                    occasion_id=row["change_request_id"],
                    hall_id=row["appointment__window__hall_id"],
                )
                for row in rows
            ],
            ["subject_type", "subject_id", "occasion_type", "occasion_id", "hall_id"],
        )
    alert_booking = _label(Alert, "appointment")
    for rows in _batches(Alert.objects.filter(appointment__isnull=False), ["appointment_id"]):
        Alert.objects.bulk_update(
            [
                Alert(pk=row["pk"], subject_type=alert_booking, subject_id=row["appointment_id"])
                for row in rows
            ],
            ["subject_type", "subject_id"],
        )


def _existing(model, field: str, ids) -> set:
    related = model._meta.get_field(field).related_model
    return set(related._default_manager.filter(pk__in=ids).values_list("pk", flat=True))


def backward(apps, schema_editor):
    """Back to the foreign keys, for the records that still exist."""
    Message = apps.get_model("sms", "Message")
    Alert = apps.get_model("sms", "Alert")
    booking, change = _label(Message, "appointment"), _label(Message, "change_request")
    referring = Message.objects.filter(Q(subject_type=booking) | Q(occasion_type=change))
    fields = ["subject_type", "subject_id", "occasion_type", "occasion_id"]
    for rows in _batches(referring, fields):
        bookings = _existing(Message, "appointment", [r["subject_id"] for r in rows])
        changes = _existing(Message, "change_request", [r["occasion_id"] for r in rows])
        Message.objects.bulk_update(
            [
                Message(
                    pk=row["pk"],
                    appointment_id=row["subject_id"] if row["subject_id"] in bookings else None,
                    change_request_id=row["occasion_id"] if row["occasion_id"] in changes else None,
                )
                for row in rows
            ],
            ["appointment", "change_request"],
        )
    alert_booking = _label(Alert, "appointment")
    for rows in _batches(Alert.objects.filter(subject_type=alert_booking), ["subject_id"]):
        bookings = _existing(Alert, "appointment", [r["subject_id"] for r in rows])
        Alert.objects.bulk_update(
            [
                Alert(pk=row["pk"], appointment_id=row["subject_id"])
                for row in rows
                if row["subject_id"] in bookings
            ],
            ["appointment"],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("sms", "0008_generic_subjects"),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
