"""The SMS providers a hall sends through: Alibaba Cloud SMS (``aliyun``) and Tencent Cloud SMS
(``tencent``), through their official SDKs.

Neither takes free text. Each message is a template registered and approved with the provider
in advance, sent with the hall's approved signature and the template's parameters
(``TemplatedSms``). Which template a purpose uses is kept by administrators beside its wording
(``MessageTemplate.aliyun_template_code`` / ``tencent_template_id``); which placeholders are its
parameters, and in which order, the purpose's app declares (``TextTemplate.provider_params``).

A provider reports delivery afterwards: by a callback it pushes to the hall (``sms.views``) or
when asked (``receipts_query``); both come back as ``Receipt``s for ``sms.receipts``.
"""

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TemplatedSms:
    """One message as a provider takes it: our message id (Aliyun's OutId, Tencent's
    SessionContext, so that a lost answer can be found again), the number in E.164, the
    provider's template code and the parameters in the purpose's order."""

    message_id: int
    phone: str
    template: str
    params: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Accepted:
    """The provider's answer to a send it accepted: its id for the message (Aliyun's BizId,
    Tencent's SerialNo) and the parts it bills, when it says."""

    gateway_id: str
    segments: int | None = None


@dataclass(frozen=True)
class Receipt:
    """A provider's word on one message: delivered to the handset or not, its status code, and
    the time it reports (the handset's receipt time, or the report's). ``message_id`` is our id
    where the provider echoes it back (Aliyun's out_id, Tencent's SessionContext); ``pending``
    is a query's answer for a message still waiting for its carrier."""

    gateway_id: str
    delivered: bool
    code: str
    reported_at: dt.datetime | None
    message_id: int | None = None
    phone: str = ""
    segments: int | None = None
    pending: bool = False


def provider_time(text: str | None) -> dt.datetime | None:
    """A provider's "yyyy-MM-dd HH:mm:ss" (Beijing time, as both document) as an aware datetime;
    None for anything else."""
    try:
        naive = dt.datetime.strptime(str(text).strip(), "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007
    except (TypeError, ValueError):
        return None
    return timezone.make_aware(naive, timezone.get_default_timezone())


def message_id_of(value) -> int | None:
    """Our message id echoed back by a provider (a string of digits), or None."""
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def callback_items(payload, *, id_field: str) -> list[dict]:
    """The items of a receipt push: both providers push a JSON array of objects, each naming the
    message by ``id_field``. Raises ValueError for anything else (answered as a bad request)."""
    if not isinstance(payload, list):
        raise ValueError("not a JSON array")
    for item in payload:
        if not isinstance(item, dict) or not item.get(id_field):
            raise ValueError(f"an item without {id_field}")
    return payload


def param_value(value, *, limit: int) -> str:
    """A parameter as sent: a provider refuses a value over its length cap (SMS_PARAM_MAX_CHARS),
    so a longer one is cut with "…"; the full wording stays on the page the template links to."""
    text = " ".join(str(value if value is not None else "").split()) or "-"
    if limit and len(text) > limit:
        logger.warning("SMS parameter cut to %s characters: %r", limit, text)
        return text[: limit - 1] + "…"
    return text


def provider_settings_missing(name: str) -> list[str]:
    """The settings a provider needs that are empty."""
    common = ["SMS_ACCESS_KEY_ID", "SMS_ACCESS_KEY_SECRET", "SMS_SIGN_NAME"]
    needed = {"aliyun": common, "tencent": [*common, "SMS_SDK_APP_ID"]}.get(name, [])
    return [setting for setting in needed if not getattr(settings, setting, "")]


# The per-number limits of both providers, as their refusals name them (the application
# mirrors them in VERIFICATION_CODES_PER_NUMBER_*, so a citizen rarely meets them).
NUMBER_LIMIT_CODES = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",
        "isv.DAY_LIMIT_CONTROL",
        "LimitExceeded.PhoneNumberThirtySecondLimit",
        "LimitExceeded.PhoneNumberOneHourLimit",
        "LimitExceeded.PhoneNumberDailyLimit",
        "LimitExceeded.PhoneNumberSameContentDailyLimit",
    }
)


def template_code(*, backend, purpose: str) -> str:
    """The provider's template for ``purpose``, as administrators entered it ("" if none)."""
    from ..models import MessageTemplate

    return (
        MessageTemplate.objects.filter(purpose=purpose)
        .values_list(backend.template_field, flat=True)
        .first()
        or ""
    ).strip()


def templated_sms(*, backend, message, context: dict) -> TemplatedSms:
    """The message as ``backend`` takes it: its purpose's template there and the purpose's
    parameters (``TextTemplate.provider_params``) filled from ``context``. A purpose without a
    template for the provider cannot go out (the system check sms.W001 lists them)."""
    from ..backends import DeliveryError
    from ..registry import message_purposes

    code = template_code(backend=backend, purpose=message.purpose)
    if not code:
        raise DeliveryError(
            f"no {backend.name} template for {message.purpose}", transient=False, code="no_template"
        )
    spec = message_purposes.templates[message.purpose]
    limit = settings.SMS_PARAM_MAX_CHARS
    params = tuple(
        (name, param_value(context.get(name), limit=limit)) for name in spec.provider_params
    )
    return TemplatedSms(
        message_id=message.pk, phone=message.phone.as_e164, template=code, params=params
    )


class ProviderBackend:
    """What both providers' backends share: they send templates, and their receipt pushes are
    JSON arrays answered with a small JSON acknowledgement (``callback_answers``)."""

    templated = True
    # The receipt item's field naming the message, and the answers to a push: ok, not understood.
    receipt_id_field = ""
    callback_answers: tuple[dict, dict] = ({}, {})

    @classmethod
    def callback_receipts(cls, payload) -> list[Receipt]:
        """The receipts of one push; raises ValueError if it is not one."""
        items = callback_items(payload, id_field=cls.receipt_id_field)
        return [cls._callback_receipt(item) for item in items]

    @classmethod
    def callback_answer(cls, *, ok: bool) -> tuple[int, dict]:
        return (200, cls.callback_answers[0]) if ok else (400, cls.callback_answers[1])
