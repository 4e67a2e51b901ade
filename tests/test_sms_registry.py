"""sms knows no domain: the apps register their alert kinds and message purposes, and a new
domain's kinds need no sms migration."""

import pytest
from django.core.management import call_command
from django.db import models

from sms import registry
from sms.models import Alert, Message


class NewDomainKind(models.TextChoices):
    PARKING_FULL = "parking_full", "parking full"


def test_each_apps_kinds_and_purposes_are_read_through_sms():
    from appointments.alerts import AlertKind
    from complaints.texts import Purpose

    assert Alert.Kind.NO_SHOW_DUE is AlertKind.NO_SHOW_DUE
    assert Message.Purpose.COMPLAINT_REPLY is Purpose.COMPLAINT_REPLY
    assert Alert(kind="no_show_due").get_kind_display() == AlertKind.NO_SHOW_DUE.label
    with pytest.raises(AttributeError):
        Alert.Kind.NO_SUCH_KIND  # noqa: B018


def test_a_new_domains_alert_kind_needs_no_sms_migration(monkeypatch, db):
    kinds = registry.ChoicesRegistry("alert kind")
    kinds.register(list(registry.alert_kinds))
    kinds.register(NewDomainKind)
    monkeypatch.setattr(registry, "alert_kinds", kinds)
    assert ("parking_full", "parking full") in Alert._meta.get_field("kind").choices
    call_command("makemigrations", "sms", "--check", "--dry-run", verbosity=0)


def test_a_kind_value_claimed_by_two_apps_is_refused():
    class Twin(models.TextChoices):
        NO_SHOW = "no_show_due", "a twin of appointments' kind"

    with pytest.raises(ValueError, match="no_show_due"):
        registry.alert_kinds.register(Twin)
