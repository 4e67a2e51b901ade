from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    name = "complaints"
    verbose_name = _("Complaints")

    def ready(self):
        from sms.registry import alert_kinds, message_purposes

        from . import sweeps  # noqa: F401 - registers the sweep
        from .alerts import AlertKind
        from .texts import TEMPLATES, Purpose

        alert_kinds.register(AlertKind)
        message_purposes.register(Purpose, TEMPLATES)
