from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvaluationConfig(AppConfig):
    name = "evaluation"
    verbose_name = _("Evaluation")

    def ready(self):
        from sms.registry import alert_kinds, message_purposes

        from . import receivers, summary_marks, sweeps  # noqa: F401 - receivers, sweeps
        from .alerts import AlertKind
        from .texts import TEMPLATES, Purpose

        alert_kinds.register(AlertKind)
        message_purposes.register(Purpose, TEMPLATES)
