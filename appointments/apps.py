from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = _("Appointments")

    def ready(self):
        from sms.registry import alert_kinds, message_purposes

        # Registers the checks and the sweeps, connects the receivers (of sms's, duty's and
        # Django's signals).
        from . import checks, receivers, sweeps  # noqa: F401
        from .alerts import AlertKind
        from .texts import TEMPLATES, Purpose

        alert_kinds.register(AlertKind)
        message_purposes.register(Purpose, TEMPLATES)
