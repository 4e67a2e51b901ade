"""Where text messages go, chosen by the SMS_BACKEND setting.

- ``console``: printed to the log (development).
- ``file``: one file per message under SMS_FILE_PATH with the number and the text (tests, demos).
- ``db``: a row in the outbox table for a separate gateway process.
- ``http``: POST to the hall's SMS gateway (SMS_HTTP_URL), signed with SMS_HTTP_KEY.
- ``aliyun``, ``tencent``: Alibaba Cloud SMS and Tencent Cloud SMS (``sms.providers``), which
  take a registered template and its parameters, not text, and report delivery afterwards.

A text backend sends one message and returns the gateway's id for it, or raises
``DeliveryError``. Only ``console`` and ``file`` count as delivered at once (``delivers_at_once``):
what ``db`` and ``http`` hand over, and what a provider accepts, is delivered when a receipt says
so (``sms.receipts``).
"""

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class DeliveryError(Exception):
    """The message did not go out. ``transient`` errors (timeouts, 5xx) are worth retrying;
    ``code`` is the provider's error code; ``throttled`` says the provider refused because the
    number reached its per-number limit (the citizen must wait)."""

    def __init__(self, reason: str, *, transient: bool, code: str = "", throttled: bool = False):
        super().__init__(reason)
        self.transient = transient
        self.code = code
        self.throttled = throttled


class ConsoleBackend:
    name = "console"
    delivers_at_once = True

    def send(self, *, message_id: int, phone: str, text: str) -> str:
        logger.info("SMS %s to %s: %s", message_id, phone, text)
        return f"console-{message_id}"


class FileBackend:
    name = "file"
    delivers_at_once = True

    def send(self, *, message_id: int, phone: str, text: str) -> str:
        folder = Path(settings.SMS_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S-%f")
        path = folder / f"{stamp}-{message_id}.txt"
        path.write_text(f"To: {phone}\n\n{text}\n", encoding="utf-8")
        return path.name


class DbBackend:
    name = "db"

    def send(self, *, message_id: int, phone: str, text: str) -> str:
        from .models import OutboxMessage

        row = OutboxMessage.objects.create(
            message_id=message_id, phone=phone, text=text, created_at=timezone.now()
        )
        return f"outbox-{row.pk}"


class HttpBackend:
    """A JSON gateway: body {"id", "phone", "text"}; headers X-Timestamp and X-Signature, the
    hex HMAC-SHA256 of "<timestamp>.<body>" with SMS_HTTP_KEY. The gateway answers 2xx with an
    optional JSON {"id": ...}."""

    name = "http"

    def send(self, *, message_id: int, phone: str, text: str) -> str:
        url, key = settings.SMS_HTTP_URL, settings.SMS_HTTP_KEY
        if not url or not key:
            raise ImproperlyConfigured("SMS_HTTP_URL and SMS_HTTP_KEY must be set for http SMS.")
        body = json.dumps(
            {"id": str(message_id), "phone": phone, "text": text}, ensure_ascii=False
        ).encode()
        stamp = str(int(time.time()))
        signature = hmac.new(key.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "X-Timestamp": stamp,
                "X-Signature": signature.hexdigest(),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=settings.SMS_HTTP_TIMEOUT) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            raise DeliveryError(
                f"gateway answered {error.code}", transient=error.code >= 500
            ) from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise DeliveryError(f"gateway unreachable: {error}", transient=True) from error
        try:
            return str(json.loads(payload or b"{}").get("id", ""))
        except (ValueError, AttributeError):
            return ""


BACKENDS = {
    "console": ConsoleBackend,
    "file": FileBackend,
    "db": DbBackend,
    "http": HttpBackend,
    "aliyun": "sms.providers.aliyun.AliyunBackend",
    "tencent": "sms.providers.tencent.TencentBackend",
}


def get_backend(name: str | None = None):
    """The backend SMS_BACKEND names (or ``name``, a message's own backend for its receipts)."""
    name = name or settings.SMS_BACKEND
    backend_class = BACKENDS.get(name) or import_string(name)
    if isinstance(backend_class, str):
        backend_class = import_string(backend_class)
    return backend_class()
