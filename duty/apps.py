from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DutyConfig(AppConfig):
    default = True  # the app's own config; AxesConfig below is named in INSTALLED_APPS
    name = "duty"
    verbose_name = _("Halls, calendar and duty")

    def ready(self):
        from django.contrib.auth import get_user_model

        from sms.registry import alert_kinds

        from . import signin, sweeps  # noqa: F401 - connects the lockout log, registers sweeps
        from .alerts import AlertKind
        from .names import staff_name

        alert_kinds.register(AlertKind)
        # Wherever a page shows a person (a record's "by", "approver", "assigned to", a choice
        # of staff), it shows their name (王敏), not their login; the login only when no name
        # is recorded. Django's own pages show the user through str(), so this is the one place.
        get_user_model().__str__ = staff_name


class AxesConfig(AxesAppConfig):
    """django-axes under a Chinese name in the console (it ships no Chinese catalogue)."""

    default = False
    verbose_name = _("Sign-in protection")
