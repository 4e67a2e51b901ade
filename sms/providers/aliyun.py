"""Alibaba Cloud SMS (阿里云短信服务, API version 2017-05-25) through its official SDK,
``alibabacloud-dysmsapi20170525``.

What this follows, from the provider's API reference (help.aliyun.com, 短信服务 → API参考):
- SendSms: PhoneNumbers (a mainland number without +86), SignName, TemplateCode, TemplateParam
  (a JSON object of the template's ``${name}`` variables), OutId (echoed in receipts). The answer
  is HTTP 200 with ``Code`` "OK" and ``BizId``, or another ``Code`` for a refusal (e.g.
  ``isv.BUSINESS_LIMIT_CONTROL``, the per-number flow control: by default 1 a minute, 5 an hour,
  10 a day for the same number); gateway errors (signature, throttling ``Throttling.User``) come
  as HTTP 4xx/5xx with ``Code`` and ``Message``, which the SDK raises.
- QuerySendDetails: PhoneNumber, SendDate (yyyyMMdd), BizId (optional), PageSize (≤ 50),
  CurrentPage; ``SmsSendDetailDTOs.SmsSendDetailDTO`` lists SendStatus (1 waiting for the
  receipt, 2 failed, 3 delivered), ErrCode, ReceiveDate, OutId.
- SmsReport (HTTP 批量推送, the receipt callback): a JSON array of {phone_number, send_time,
  report_time, success, err_code, err_msg, sms_size, biz_id, out_id}; the hall answers
  {"code": 0, "msg": "接收成功"} (anything else makes the provider push again). The provider
  documents no signature on this push: the callback URL carries a secret and may be limited to
  the provider's addresses (sms.views).
The SDK signs each request with ACS3-HMAC-SHA256 (an Authorization header over the method,
query, x-acs-* headers and the body's hash).
"""

import datetime as dt
import json

from django.conf import settings
from django.utils import timezone

from ..backends import DeliveryError
from . import (
    NUMBER_LIMIT_CODES,
    Accepted,
    ProviderBackend,
    Receipt,
    TemplatedSms,
    message_id_of,
    provider_time,
)

# Refusals worth trying again later: the provider's own fault or its gateway's throttling.
TRANSIENT_CODES = {"isp.SYSTEM_ERROR", "isp.RAM_PERMISSION_DENY", "Throttling.User", "Throttling"}


def _national(phone: str) -> str:
    """Aliyun takes mainland numbers without the country code; others as 00<country><number>."""
    return phone[3:] if phone.startswith("+86") else "00" + phone.lstrip("+")


class AliyunBackend(ProviderBackend):
    name = "aliyun"
    receipt_id_field = "biz_id"
    callback_answers = ({"code": 0, "msg": "接收成功"}, {"code": 1, "msg": "bad request"})
    template_field = "aliyun_template_code"

    def _client(self):
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi.models import Config

        return Client(
            Config(
                access_key_id=settings.SMS_ACCESS_KEY_ID,
                access_key_secret=settings.SMS_ACCESS_KEY_SECRET,
                region_id=settings.SMS_REGION or "cn-hangzhou",
                endpoint=settings.SMS_ENDPOINT or "dysmsapi.aliyuncs.com",
                protocol=settings.SMS_PROTOCOL,
                connect_timeout=settings.SMS_HTTP_TIMEOUT * 1000,
                read_timeout=settings.SMS_HTTP_TIMEOUT * 1000,
            )
        )

    def _call(self, method: str, request):
        """Call the SDK; its exceptions become ``DeliveryError``s with the provider's code."""
        from alibabacloud_tea_openapi.exceptions import (
            AlibabaCloudException,
            ClientException,
            ThrottlingException,
        )
        from darabonba.runtime import RuntimeOptions

        # No retries inside the SDK: the worker retries with its own backoff, and a send
        # retried blindly could go out twice.
        runtime = RuntimeOptions(autoretry=False)
        try:
            return getattr(self._client(), method)(request, runtime).body
        except ThrottlingException as error:
            raise DeliveryError(
                f"Aliyun throttling: {error.code}", transient=True, code=str(error.code)
            ) from error
        except ClientException as error:
            code = str(error.code)
            raise DeliveryError(
                f"Aliyun refused: {code} {error.message}",
                transient=code in TRANSIENT_CODES,
                code=code,
            ) from error
        except AlibabaCloudException as error:
            raise DeliveryError(
                f"Aliyun error: {error.code}", transient=True, code=str(error.code)
            ) from error
        except Exception as error:  # noqa: BLE001 - the SDK raises plain exceptions on network errors
            raise DeliveryError(f"Aliyun unreachable: {error}", transient=True) from error

    def send_template(self, sms: TemplatedSms) -> Accepted:
        from alibabacloud_dysmsapi20170525.models import SendSmsRequest

        body = self._call(
            "send_sms_with_options",
            SendSmsRequest(
                phone_numbers=_national(sms.phone),
                sign_name=settings.SMS_SIGN_NAME,
                template_code=sms.template,
                template_param=json.dumps(dict(sms.params), ensure_ascii=False),
                out_id=str(sms.message_id),
            ),
        )
        if body.code != "OK":
            raise DeliveryError(
                f"Aliyun refused: {body.code} {body.message}",
                transient=body.code in TRANSIENT_CODES,
                code=body.code or "",
                throttled=body.code in NUMBER_LIMIT_CODES,
            )
        return Accepted(gateway_id=body.biz_id or "")

    def receipts_query(self, *, phone: str, sent_at: dt.datetime, gateway_id: str = ""):
        """The provider's records of what went to ``phone`` on the day of ``sent_at`` (that one
        message where ``gateway_id`` is known), as ``Receipt``s."""
        from alibabacloud_dysmsapi20170525.models import QuerySendDetailsRequest

        body = self._call(
            "query_send_details_with_options",
            QuerySendDetailsRequest(
                phone_number=_national(phone),
                biz_id=gateway_id or None,
                send_date=timezone.localtime(sent_at).strftime("%Y%m%d"),
                page_size=50,
                current_page=1,
            ),
        )
        if body.code != "OK":
            raise DeliveryError(
                f"Aliyun query refused: {body.code}", transient=True, code=body.code or ""
            )
        details = body.sms_send_detail_dtos.sms_send_detail_dto if body.sms_send_detail_dtos else []
        return [
            Receipt(
                gateway_id=gateway_id,
                delivered=detail.send_status == 3,
                pending=detail.send_status == 1,
                code=detail.err_code or "",
                reported_at=provider_time(detail.receive_date),
                message_id=message_id_of(detail.out_id),
                phone=phone,
            )
            for detail in details or []
        ]

    @staticmethod
    def _callback_receipt(item: dict) -> Receipt:
        size = str(item.get("sms_size", "")).strip()
        return Receipt(
            gateway_id=str(item["biz_id"]),
            delivered=item.get("success") is True,
            code=str(item.get("err_code") or ""),
            reported_at=provider_time(item.get("report_time")),
            message_id=message_id_of(item.get("out_id")),
            phone=str(item.get("phone_number") or ""),
            segments=int(size) if size.isdigit() else None,
        )
