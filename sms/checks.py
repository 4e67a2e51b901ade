"""System checks of the SMS provider's setup: a purpose without a template registered for the
active provider would only be discovered when the first citizen books (run by `migrate` and
`check --database default`); missing credentials by every `check`."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import connections, router

from .backends import get_backend
from .models import MessageTemplate
from .providers import provider_settings_missing
from .registry import message_purposes


@register()
def provider_settings(app_configs=None, **kwargs):
    missing = provider_settings_missing(settings.SMS_BACKEND)
    if not missing:
        return []
    return [
        Error(
            f"SMS_BACKEND={settings.SMS_BACKEND} needs {', '.join(missing)}.",
            hint="README: Text messages through Alibaba Cloud or Tencent Cloud.",
            id="sms.E001",
        )
    ]


def purposes_without_template(backend) -> list[str]:
    """The registered purposes with no template code for ``backend`` (a provider)."""
    coded = set(
        MessageTemplate.objects.exclude(**{backend.template_field: ""}).values_list(
            "purpose", flat=True
        )
    )
    return [member.value for member in message_purposes if member.value not in coded]


@register(Tags.database)
def provider_templates(app_configs=None, databases=None, **kwargs):
    backend = get_backend()
    if not getattr(backend, "templated", False):
        return []
    alias = router.db_for_read(MessageTemplate)
    if not databases or alias not in databases:
        return []
    if MessageTemplate._meta.db_table not in connections[alias].introspection.table_names():
        return []
    missing = purposes_without_template(backend)
    if not missing:
        return []
    return [
        Warning(
            f"{len(missing)} message purposes have no {backend.name} template and cannot be "
            f"sent: {', '.join(missing)}.",
            hint="Enter each one's template code under Message templates in the console "
            "(README: the table of provider templates).",
            id="sms.W001",
        )
    ]
