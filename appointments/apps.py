from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = _("Appointments")

    def ready(self):
        from sms.registry import SubjectHandler, alert_kinds, message_purposes, subject_handlers

        # Registers the checks and the sweeps, connects the receivers.
        from . import checks, receivers, sweeps  # noqa: F401
        from .alerts import AlertKind
        from .models import Appointment, ChangeRequest
        from .texts import TEMPLATES, Purpose

        alert_kinds.register(AlertKind)
        message_purposes.register(Purpose, TEMPLATES)
        # What sms asks before sending a message about a booking or a change, and what the
        # sending of a change notice causes (DB1403/T 6.2.2).
        subject_handlers.register(
            Appointment, SubjectHandler(skip_reason=receivers.booking_message_skip_reason)
        )
        subject_handlers.register(
            ChangeRequest,
            SubjectHandler(
                skip_reason=receivers.change_message_skip_reason,
                on_sent=receivers.change_notice_sent,
            ),
        )
