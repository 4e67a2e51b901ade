"""Fixtures that point the SMS providers' SDKs at the local stand-ins (sms_providers_standin)
and register every purpose's template with them, as an administrator would in the console."""

import pytest

from sms.models import MessageTemplate
from sms.registry import message_purposes

from . import sms_providers_standin as standin


def template_code(name: str, index: int) -> str:
    return f"SMS_4{index:05d}" if name == "aliyun" else f"1{index:06d}"


def register_templates(name: str, server) -> None:
    """Every registered purpose gets a template with the provider and its code in the console."""
    field = "aliyun_template_code" if name == "aliyun" else "tencent_template_id"
    for index, purpose in enumerate(message_purposes):
        code = template_code(name, index)
        MessageTemplate.objects.update_or_create(purpose=purpose.value, defaults={field: code})
        params = message_purposes.templates[purpose.value].provider_params
        server.templates[code] = list(params) if name == "aliyun" else len(params)


def provider_fixture(settings, name: str):
    server = standin.Aliyun() if name == "aliyun" else standin.Tencent()
    settings.SMS_BACKEND = name
    settings.SMS_ENDPOINT, settings.SMS_PROTOCOL = server.endpoint, "http"
    settings.SMS_ACCESS_KEY_ID = standin.KEY_ID
    settings.SMS_ACCESS_KEY_SECRET = standin.KEY_SECRET
    settings.SMS_SIGN_NAME, settings.SMS_SDK_APP_ID = standin.SIGN_NAME, standin.APP_ID
    settings.SMS_HTTP_TIMEOUT = 5
    settings.SMS_RECEIPT_TOKEN = "receipt-secret"
    register_templates(name, server)
    return server


@pytest.fixture(params=["aliyun", "tencent"])
def provider(request, db, settings):
    """Each provider in turn, through its real SDK against its stand-in."""
    server = provider_fixture(settings, request.param)
    server.name = request.param
    yield server
    server.stop()


def _one_provider(name: str):
    @pytest.fixture(name=name)
    def fixture(db, settings):
        server = provider_fixture(settings, name)
        server.name = name
        yield server
        server.stop()

    return fixture


aliyun = _one_provider("aliyun")
tencent = _one_provider("tencent")
