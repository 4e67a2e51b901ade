from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SmsConfig(AppConfig):
    name = "sms"
    verbose_name = _("Text messages and alerts")

    def ready(self):
        from . import checks  # noqa: F401
        from .registry import alert_kinds, message_purposes
        from .texts import TEMPLATES, AlertKind, Purpose

        message_purposes.register(Purpose, TEMPLATES)
        alert_kinds.register(AlertKind)
