from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DutyConfig(AppConfig):
    default = True  # the app's own config; AxesConfig below is named in INSTALLED_APPS
    name = "duty"
    verbose_name = _("Halls, calendar and duty")

    def ready(self):
        from sms.registry import alert_kinds

        from . import signin, sweeps  # noqa: F401 - connects the lockout log, registers sweeps
        from .alerts import AlertKind

        alert_kinds.register(AlertKind)


class AxesConfig(AxesAppConfig):
    """django-axes under a Chinese name in the console (it ships no Chinese catalogue)."""

    default = False
    verbose_name = _("Sign-in protection")
