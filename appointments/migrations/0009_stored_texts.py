"""Texts the system wrote into bookings' records are kept as msgids and translated when shown
(yuyue.stored_texts): the columns become StoredTextFields, and the texts already written in
English or Chinese — the applicant's online cancellation, a no-show outcome, a reassignment's
"reported to", why a message was not sent — are turned into stored texts. Free text typed by
staff is left as it is."""

import re

from django.db import migrations
from django.utils import translation
from django.utils.translation import gettext

import yuyue.stored_texts
from yuyue.stored_texts import stored_text

CANCELLED = "Cancelled by the applicant."
# NoShowFollowUp.Outcome's labels when this migration was written.
OUTCOMES = ["gives up the booking", "rescheduled", "on the way", "could not be reached"]
REPORTED = "%(reason)s (reported to %(agency)s)"
OUTCOME_AND_NOTE = "%(outcome)s. %(note)s"
SKIP_REASONS = [
    "booking deleted",
    "booking cancelled",
    "booking moved since the reminder was written",
    "change no longer approved",
]


def _forms(msgid: str) -> set[str]:
    """The ways ``msgid`` may have been frozen: in English and in Chinese."""
    with translation.override("zh-hans"):
        return {msgid, gettext(msgid)}


def _pattern(msgid: str) -> list[re.Pattern]:
    """Regular expressions matching ``msgid``'s frozen forms, its parameters as named groups."""
    patterns = []
    for form in _forms(msgid):
        parts = re.split(r"%\((\w+)\)s", form)  # text, name, text, name, text
        regex = "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<{part}>.*)" for i, part in enumerate(parts)
        )
        patterns.append(re.compile(f"^{regex}$", re.S))
    return patterns


def _stored(value: str) -> str | None:
    """The stored text for a frozen system text, or None for free text."""
    for msgid in [CANCELLED, *OUTCOMES]:
        if value in _forms(msgid):
            return stored_text(msgid)
    return None


def _convert(queryset, field: str, convert) -> None:
    for pk, value in queryset.exclude(**{field: ""}).values_list("pk", field).iterator():
        new = convert(value)
        if new is not None:
            queryset.filter(pk=pk).update(**{field: new})


def _reassign_note(value: str) -> str | None:
    for pattern in _pattern(REPORTED):
        match = pattern.match(value)
        if match:
            return stored_text(REPORTED, **match.groupdict())
    return None


def _contact_outcome(value: str) -> str | None:
    for msgid in OUTCOMES:
        for form in _forms(msgid):
            for separator in (". ", "."):
                if value == form + separator.strip() or value == form:
                    return stored_text(msgid)
                if value.startswith(form + separator):
                    note = value[len(form + separator) :].strip()
                    return stored_text(OUTCOME_AND_NOTE, outcome=stored_text(msgid), note=note)
    return None


def forwards(apps, schema_editor):
    Appointment = apps.get_model("appointments", "Appointment")
    AppointmentEvent = apps.get_model("appointments", "AppointmentEvent")
    ChangeRequest = apps.get_model("appointments", "ChangeRequest")
    ContactLog = apps.get_model("appointments", "ContactLog")
    Message = apps.get_model("sms", "Message")
    _convert(Appointment.objects.all(), "cancel_reason", _stored)
    _convert(AppointmentEvent.objects.exclude(action="reassigned"), "note", _stored)
    _convert(AppointmentEvent.objects.filter(action="reassigned"), "note", _reassign_note)
    _convert(ChangeRequest.objects.all(), "decision_note", _stored)
    _convert(ContactLog.objects.filter(purpose="no_show"), "outcome", _contact_outcome)
    for reason in SKIP_REASONS:
        Message.objects.filter(status="skipped", error=reason).update(error=stored_text(reason))


def backwards(apps, schema_editor):
    """Back to frozen texts, in the hall's language."""
    models = [
        ("Appointment", "cancel_reason"),
        ("AppointmentEvent", "note"),
        ("ChangeRequest", "decision_note"),
        ("ContactLog", "outcome"),
    ]
    with translation.override("zh-hans"):
        for name, field in models:
            _convert(
                apps.get_model("appointments", name).objects.filter(
                    **{f"{field}__startswith": yuyue.stored_texts.MARK}
                ),
                field,
                yuyue.stored_texts.shown_text,
            )
        Message = apps.get_model("sms", "Message")
        _convert(
            Message.objects.filter(error__startswith=yuyue.stored_texts.MARK),
            "error",
            yuyue.stored_texts.shown_text,
        )


class Migration(migrations.Migration):

    dependencies = [
        ('appointments', '0008_check_in_permission'),
        ('sms', '0010_drop_domain_foreign_keys'),
    ]

    operations = [
        migrations.AlterField(
            model_name='appointment',
            name='cancel_reason',
            field=yuyue.stored_texts.StoredTextField(blank=True, verbose_name='cancellation reason'),
        ),
        migrations.AlterField(
            model_name='appointmentevent',
            name='note',
            field=yuyue.stored_texts.StoredTextField(blank=True, verbose_name='note'),
        ),
        migrations.AlterField(
            model_name='changerequest',
            name='decision_note',
            field=yuyue.stored_texts.StoredTextField(blank=True, verbose_name='decision note'),
        ),
        migrations.AlterField(
            model_name='contactlog',
            name='outcome',
            field=yuyue.stored_texts.StoredTextField(blank=True, verbose_name='outcome'),
        ),
        migrations.RunPython(forwards, backwards),
    ]
