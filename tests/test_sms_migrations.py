"""The migrations that turn sms's foreign keys into generic references, run on a database with
data in it: every message and alert still points at the same booking, change and hall."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from appointments.models import Appointment, ChangeRequest
from sms.models import Alert, Message
from yuyue.stored_texts import stored_text

from .conftest import START

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BEFORE = [("sms", "0007_rate_limit_counter")]
NOW = START - dt.timedelta(days=2)


def migrate(targets=None):
    """Migrate to ``targets`` (the latest of every app by default); the models as they were
    there."""
    executor = MigrationExecutor(connection)
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def old_rows(apps, *, accepted, change, gone_reference, desk):
    """Rows as the old schema held them: foreign keys to the booking, change and hall."""
    OldMessage, OldAlert = apps.get_model("sms", "Message"), apps.get_model("sms", "Alert")
    common = {"phone": "+8613800138000", "text": "x", "created_at": NOW}
    return {
        "reminder": OldMessage.objects.create(
            purpose="reminder",
            appointment_id=accepted.pk,
            booking_reference=accepted.reference,
            status="sent",
            **common,
        ).pk,
        "notice": OldMessage.objects.create(
            purpose="change_notice",
            appointment_id=accepted.pk,
            change_request_id=change.pk,
            booking_reference=accepted.reference,
            **common,
        ).pk,
        # Its booking was deleted while it waited: it must not go out after the migration.
        "orphan": OldMessage.objects.create(
            purpose="reminder", booking_reference=gone_reference, **common
        ).pk,
        "code": OldMessage.objects.create(purpose="verification", **common).pk,
        "alert": OldAlert.objects.create(
            recipient_id=desk.pk,
            hall_id=accepted.window.hall_id,
            kind="no_show_due",
            appointment_id=accepted.pk,
            text="x",
            created_at=NOW,
            dedupe_key="noshow:1",
        ).pk,
        "duty_alert": OldAlert.objects.create(
            recipient_id=desk.pk,
            hall_id=accepted.window.hall_id,
            kind="duty_absent",
            text="x",
            created_at=NOW,
            dedupe_key="absent:1",
        ).pk,
    }


def test_messages_and_alerts_keep_their_booking_change_and_hall(change, desk):
    accepted = change.appointment
    hall_id = accepted.window.hall_id
    try:
        apps = migrate(BEFORE)
        rows = old_rows(apps, accepted=accepted, change=change, gone_reference="GONE01", desk=desk)
        migrate()

        reminder = Message.objects.get(pk=rows["reminder"])
        assert (reminder.subject, reminder.occasion) == (accepted, None)
        assert (reminder.hall_id, reminder.subject_reference) == (hall_id, accepted.reference)
        notice = Message.objects.get(pk=rows["notice"])
        assert (notice.subject, notice.occasion) == (accepted, ChangeRequest.objects.get())
        assert notice.hall_id == hall_id and notice.status == Message.Status.QUEUED
        orphan = Message.objects.get(pk=rows["orphan"])
        # appointments' 0008 keeps the reason as a msgid, translated when shown.
        assert (orphan.status, orphan.error) == (
            Message.Status.SKIPPED,
            stored_text("booking deleted"),
        )
        code = Message.objects.get(pk=rows["code"])
        assert (code.subject, code.hall_id, code.status) == (None, None, Message.Status.QUEUED)
        alert = Alert.objects.get(pk=rows["alert"])
        assert (alert.subject, alert.hall_id, alert.kind) == (accepted, hall_id, "no_show_due")
        assert alert.get_kind_display() == Alert.Kind.NO_SHOW_DUE.label
        duty_alert = Alert.objects.get(pk=rows["duty_alert"])
        assert (duty_alert.subject, duty_alert.hall_id) == (None, hall_id)
        # (Besides the text the applicant got when the desk registered the booking.)
        about = Message.objects.about(accepted).exclude(purpose=Message.Purpose.BOOKING_REGISTERED)
        assert list(about.order_by("pk")) == [reminder, notice]
        assert list(Alert.objects.about(accepted)) == [alert]

        # And back: the foreign keys again, pointing where they did.
        apps = migrate(BEFORE)
        OldMessage, OldAlert = apps.get_model("sms", "Message"), apps.get_model("sms", "Alert")
        notice = OldMessage.objects.get(pk=rows["notice"])
        assert (notice.appointment_id, notice.change_request_id) == (accepted.pk, change.pk)
        assert notice.booking_reference == accepted.reference
        alert = OldAlert.objects.get(pk=rows["alert"])
        assert (alert.appointment_id, alert.hall_id) == (accepted.pk, hall_id)
    finally:
        migrate()
    assert Appointment.objects.filter(pk=accepted.pk).exists()
