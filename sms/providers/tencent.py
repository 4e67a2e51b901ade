"""Tencent Cloud SMS (腾讯云短信, API version 2021-01-11) through its official SDK,
``tencentcloud-sdk-python-sms``.

What this follows, from the provider's API documentation (cloud.tencent.com/document/api/382):
- SendSms: PhoneNumberSet (E.164), SmsSdkAppId, SignName, TemplateId, TemplateParamSet (the
  template's ``{1}``, ``{2}``, … in order), SessionContext (echoed in status pulls). The answer's
  ``SendStatusSet`` holds one status per number: ``Code`` "Ok" with ``SerialNo`` and ``Fee`` (the
  billed parts), or a refusal such as ``LimitExceeded.PhoneNumberThirtySecondLimit``,
  ``…OneHourLimit``, ``…DailyLimit`` (the per-number limits). A refused request comes as
  ``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`` (``AuthFailure.SignatureFailure``,
  ``RequestLimitExceeded``, ``InternalError…``), which the SDK raises.
- PullSmsSendStatus: SmsSdkAppId, Limit; ``PullSmsSendStatusSet`` lists each receipt once
  (SerialNo, ReportStatus SUCCESS/FAIL, Description, UserReceiveTime in Unix seconds,
  SessionContext). PullSmsSendStatusByPhoneNumber (BeginTime, Offset, Limit, PhoneNumber,
  SmsSdkAppId) finds one number's receipts again, for a send whose answer was lost.
- The receipt callback (短信下发状态通知): a JSON array of {user_receive_time, nationcode,
  mobile, report_status, errmsg, description, sid}; the hall answers {"result": 0, "errmsg":
  "OK"}. No signature is documented on it: the callback URL carries a secret and may be
  limited to the provider's addresses (sms.views).
The SDK signs each request with TC3-HMAC-SHA256 (an Authorization header over content-type,
host and the body's hash, with a key derived from the date and the service "sms").
"""

import datetime as dt

from django.conf import settings

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


def _transient(code: str) -> bool:
    return code.startswith("InternalError") or code in {
        "RequestLimitExceeded",
        "ServerNetworkError",
    }


def _unix_time(value) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(int(value), tz=dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


class TencentBackend(ProviderBackend):
    name = "tencent"
    receipt_id_field = "sid"
    callback_answers = ({"result": 0, "errmsg": "OK"}, {"result": 1, "errmsg": "bad request"})
    template_field = "tencent_template_id"

    def _client(self):
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.sms.v20210111.sms_client import SmsClient

        http = HttpProfile(
            protocol=settings.SMS_PROTOCOL,
            endpoint=settings.SMS_ENDPOINT or "sms.tencentcloudapi.com",
            reqTimeout=settings.SMS_HTTP_TIMEOUT,
        )
        return SmsClient(
            credential.Credential(settings.SMS_ACCESS_KEY_ID, settings.SMS_ACCESS_KEY_SECRET),
            settings.SMS_REGION or "ap-guangzhou",
            ClientProfile(httpProfile=http),
        )

    def _call(self, action: str, request_class: str, **fields):
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
            TencentCloudSDKException,
        )
        from tencentcloud.sms.v20210111 import models

        request = getattr(models, request_class)()
        for field, value in fields.items():
            setattr(request, field, value)
        try:
            return getattr(self._client(), action)(request)
        except TencentCloudSDKException as error:
            code = str(error.get_code() or "")
            raise DeliveryError(
                f"Tencent refused: {code} {error.get_message()}",
                transient=_transient(code),
                code=code,
            ) from error
        except Exception as error:  # noqa: BLE001 - network errors come as plain exceptions
            raise DeliveryError(f"Tencent unreachable: {error}", transient=True) from error

    def send_template(self, sms: TemplatedSms) -> Accepted:
        answer = self._call(
            "SendSms",
            "SendSmsRequest",
            PhoneNumberSet=[sms.phone],
            SmsSdkAppId=settings.SMS_SDK_APP_ID,
            SignName=settings.SMS_SIGN_NAME,
            TemplateId=sms.template,
            TemplateParamSet=[value for _name, value in sms.params],
            SessionContext=str(sms.message_id),
        )
        status = (answer.SendStatusSet or [None])[0]
        if status is None:
            raise DeliveryError("Tencent answered without a status", transient=True)
        if status.Code != "Ok":
            code = status.Code or ""
            raise DeliveryError(
                f"Tencent refused: {code} {status.Message}",
                transient=_transient(code),
                code=code,
                throttled=code in NUMBER_LIMIT_CODES,
            )
        return Accepted(gateway_id=status.SerialNo or "", segments=status.Fee)

    @staticmethod
    def _receipt(item) -> Receipt:
        return Receipt(
            gateway_id=item.SerialNo or "",
            delivered=item.ReportStatus == "SUCCESS",
            # No status yet: the carrier has not reported.
            pending=not item.ReportStatus,
            code=item.Description or item.ReportStatus or "",
            reported_at=_unix_time(item.UserReceiveTime),
            message_id=message_id_of(item.SessionContext),
            phone=item.PhoneNumber or "",
        )

    def receipts_pull(self) -> list[Receipt]:
        """The receipts the provider holds that were not pulled yet (each comes once)."""
        answer = self._call(
            "PullSmsSendStatus",
            "PullSmsSendStatusRequest",
            Limit=100,
            SmsSdkAppId=settings.SMS_SDK_APP_ID,
        )
        return [self._receipt(item) for item in answer.PullSmsSendStatusSet or []]

    def receipts_query(self, *, phone: str, sent_at: dt.datetime, gateway_id: str = ""):
        """The receipts of what went to ``phone`` since ``sent_at`` (all of them, or the one
        with ``gateway_id``)."""
        answer = self._call(
            "PullSmsSendStatusByPhoneNumber",
            "PullSmsSendStatusByPhoneNumberRequest",
            BeginTime=int(sent_at.timestamp()) - 60,
            Offset=0,
            Limit=100,
            PhoneNumber=phone,
            SmsSdkAppId=settings.SMS_SDK_APP_ID,
        )
        receipts = [self._receipt(item) for item in answer.PullSmsSendStatusSet or []]
        return [r for r in receipts if not gateway_id or r.gateway_id == gateway_id]

    @staticmethod
    def _callback_receipt(item: dict) -> Receipt:
        nation, mobile = str(item.get("nationcode") or ""), str(item.get("mobile") or "")
        return Receipt(
            gateway_id=str(item["sid"]),
            delivered=item.get("report_status") == "SUCCESS",
            code=str(item.get("errmsg") or ""),
            reported_at=provider_time(item.get("user_receive_time")),
            phone=f"+{nation}{mobile}" if nation and mobile else mobile,
        )
