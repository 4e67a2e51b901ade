"""Local stand-ins of the two SMS providers' HTTP APIs, for the tests: each checks a request as
the provider does (the action and version, the SDK's signature recomputed with the test's
secret, the signature name, the template and its parameters) and answers in the provider's
documented format, including its refusals and throttling codes.

What they follow (the same sources as sms/providers/aliyun.py and tencent.py):
- Alibaba Cloud SMS 2017-05-25, RPC style signed with ACS3-HMAC-SHA256: SendSms answers
  {"Code": "OK", "BizId", "RequestId", "Message"} or HTTP 200 with another Code
  (isv.BUSINESS_LIMIT_CONTROL, isv.SMS_TEMPLATE_ILLEGAL, isv.TEMPLATE_MISSING_PARAMETERS, …);
  a bad signature or the API's flow control is an HTTP 4xx with {"Code", "Message",
  "RequestId"}. QuerySendDetails answers SmsSendDetailDTOs.SmsSendDetailDTO[] with SendStatus
  1/2/3, ErrCode, ReceiveDate, OutId.
- Tencent Cloud SMS 2021-01-11, signed with TC3-HMAC-SHA256: every answer is HTTP 200 with
  {"Response": {..., "RequestId"}}; a refused request has Response.Error {Code, Message}
  (AuthFailure.SignatureFailure, RequestLimitExceeded); SendSms's SendStatusSet has one status
  per number (Code "Ok", SerialNo, Fee, SessionContext; or LimitExceeded.PhoneNumber…Limit).
  PullSmsSendStatus[ByPhoneNumber] answer PullSmsSendStatusSet.
"""

import datetime as dt
import hashlib
import hmac
import itertools
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit

KEY_ID, KEY_SECRET = "test-key-id", "test-key-secret"
SIGN_NAME = "阳泉市政务服务中心"
APP_ID = "1400000001"
PARAM_LIMIT = 35


class StandIn(BaseHTTPRequestHandler):
    """Shared by both: one server per test, its state on the server object."""

    def log_message(self, *args):
        pass

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", self.server.content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):  # noqa: N802 - the http.server hook's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append((dict(self.headers), self.path, body))
        self.server.handle(self, body)


class Provider(ThreadingHTTPServer):
    daemon_threads = True
    content_type = "application/json;charset=utf-8"

    def __init__(self):
        super().__init__(("127.0.0.1", 0), StandIn)
        self.requests = []
        self.sent = []  # one dict per accepted message
        self.templates = {}  # template code → its parameter names
        self.refuse_code = ""  # answer every send with this refusal
        self.flow_control = False  # the API's own throttling
        self.per_minute = 1  # the per-number limit for one number (as the providers' default)
        self.ids = itertools.count(1)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def stop(self):
        self.shutdown()
        self.server_close()

    def minute_passes(self):
        """The per-number limit counts the provider's own clock: move what it sent a minute
        into the past, as if the minute had gone by (the application's clock is frozen)."""
        for sent in self.sent:
            sent["at"] -= dt.timedelta(minutes=1)

    def too_many(self, phone: str) -> bool:
        minute_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        recent = [s for s in self.sent if s["phone"] == phone and s["at"] > minute_ago]
        return len(recent) >= self.per_minute


# --- Alibaba Cloud ---------------------------------------------------------------------------


def acs3_signature(method: str, path: str, query: dict, headers: dict, signed: list[str]) -> str:
    """ACS3-HMAC-SHA256 as the provider computes it: the canonical request of the method, the
    path, the sorted query, the signed headers (lower-case, trimmed) and the body's hash."""
    canonical_query = "&".join(
        f"{quote(key, safe='~')}={quote(query[key], safe='~')}" for key in sorted(query)
    )
    lower = {key.lower(): value.strip() for key, value in headers.items()}
    canonical_headers = "".join(f"{name}:{lower.get(name, '')}\n" for name in signed)
    canonical = "\n".join(
        [
            method,
            path,
            canonical_query,
            canonical_headers,
            ";".join(signed),
            lower.get("x-acs-content-sha256", ""),
        ]
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    to_sign = f"ACS3-HMAC-SHA256\n{digest}"
    return hmac.new(KEY_SECRET.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


class Aliyun(Provider):
    def error(self, handler, status: int, code: str, message: str):
        handler._answer(status, {"Code": code, "Message": message, "RequestId": str(uuid.uuid4())})

    def handle(self, handler, body: bytes):
        headers = handler.headers
        url = urlsplit(handler.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        auth = headers.get("Authorization", "")
        try:
            algorithm, rest = auth.split(" ", 1)
            fields = dict(part.split("=", 1) for part in rest.split(","))
        except ValueError:
            return self.error(handler, 400, "MissingAuthorization", "Authorization is missing.")
        if algorithm != "ACS3-HMAC-SHA256" or fields.get("Credential") != KEY_ID:
            return self.error(
                handler, 404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
            )
        if hashlib.sha256(body).hexdigest() != headers.get("x-acs-content-sha256"):
            return self.error(
                handler, 400, "IncompleteSignature", "The payload hash does not match."
            )
        expected = acs3_signature(
            handler.command,
            url.path or "/",
            query,
            dict(headers),
            fields["SignedHeaders"].split(";"),
        )
        if not hmac.compare_digest(expected, fields.get("Signature", "")):
            return self.error(
                handler,
                400,
                "SignatureDoesNotMatch",
                "Specified signature is not matched with our calculation.",
            )
        if headers.get("x-acs-version") != "2017-05-25":
            return self.error(
                handler, 400, "InvalidVersion", "Specified parameter Version is not valid."
            )
        if self.flow_control:
            return self.error(
                handler, 400, "Throttling.User", "Request was denied due to user flow control."
            )
        action = headers.get("x-acs-action")
        if action == "SendSms":
            return self.send_sms(handler, query)
        if action == "QuerySendDetails":
            return self.query_send_details(handler, query)
        return self.error(
            handler,
            404,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
        )

    def send_sms(self, handler, query: dict):
        def refuse(code, message):
            handler._answer(200, {"Code": code, "Message": message, "RequestId": str(uuid.uuid4())})

        if self.refuse_code:
            return refuse(self.refuse_code, "refused")
        if query.get("SignName") != SIGN_NAME:
            return refuse("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        names = self.templates.get(query.get("TemplateCode"))
        if names is None:
            return refuse("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        try:
            params = json.loads(query.get("TemplateParam") or "{}")
        except ValueError:
            return refuse("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        if set(params) != set(names):
            return refuse("isv.TEMPLATE_MISSING_PARAMETERS", "模板缺少变量")
        if any(not isinstance(v, str) or len(v) > PARAM_LIMIT for v in params.values()):
            return refuse("isv.PARAM_LENGTH_LIMIT", "参数超出长度限制")
        phone = query.get("PhoneNumbers", "")
        if not (phone.isdigit() and len(phone) == 11):
            return refuse("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        if self.too_many(phone):
            return refuse("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1")
        biz_id = f"{next(self.ids):06d}^0"
        self.sent.append(
            {
                "biz_id": biz_id,
                "phone": phone,
                "out_id": query.get("OutId", ""),
                "template": query["TemplateCode"],
                "params": params,
                "at": dt.datetime.now(dt.UTC),
                "status": 1,
                "err_code": "",
                "receive_date": "",
            }
        )
        handler._answer(
            200, {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": str(uuid.uuid4())}
        )

    def query_send_details(self, handler, query: dict):
        found = [
            s
            for s in self.sent
            if s["phone"] == query.get("PhoneNumber")
            and (not query.get("BizId") or s["biz_id"] == query["BizId"])
            and s["at"].astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y%m%d")
            == query.get("SendDate")
        ]
        details = [
            {
                "PhoneNum": s["phone"],
                "SendStatus": s["status"],
                "ErrCode": s["err_code"],
                "TemplateCode": s["template"],
                "Content": "【" + SIGN_NAME + "】…",
                "SendDate": "",
                "ReceiveDate": s["receive_date"],
                "OutId": s["out_id"],
            }
            for s in found
        ]
        handler._answer(
            200,
            {
                "Code": "OK",
                "Message": "OK",
                "RequestId": str(uuid.uuid4()),
                "TotalCount": len(details),
                "SmsSendDetailDTOs": {"SmsSendDetailDTO": details},
            },
        )


# --- Tencent Cloud ---------------------------------------------------------------------------


def tc3_signature(headers, body: bytes, date: str) -> str:
    """TC3-HMAC-SHA256 as the provider computes it, over content-type, host and the body."""
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{headers.get('Content-Type')}\nhost:{headers.get('Host')}\n",
            "content-type;host",
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{date}/sms/tc3_request"
    to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            headers.get("X-TC-Timestamp", ""),
            scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )

    def sign(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = sign(sign(sign(("TC3" + KEY_SECRET).encode(), date), "sms"), "tc3_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


class Tencent(Provider):
    # As the API answers (the SDK reads an error only under exactly this type).
    content_type = "application/json"

    def error(self, handler, code: str, message: str):
        handler._answer(
            200,
            {
                "Response": {
                    "Error": {"Code": code, "Message": message},
                    "RequestId": str(uuid.uuid4()),
                }
            },
        )

    def handle(self, handler, body: bytes):
        headers = handler.headers
        auth = headers.get("Authorization", "")
        prefix = f"TC3-HMAC-SHA256 Credential={KEY_ID}/"
        if not auth.startswith(prefix):
            return self.error(handler, "AuthFailure.SecretIdNotFound", "The SecretId is not found.")
        date = auth[len(prefix) :].split("/", 1)[0]
        signature = auth.rsplit("Signature=", 1)[-1]
        if not hmac.compare_digest(tc3_signature(headers, body, date), signature):
            return self.error(
                handler,
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated.",
            )
        if headers.get("X-TC-Version") != "2021-01-11":
            return self.error(handler, "InvalidParameterValue", "version")
        if self.flow_control:
            return self.error(
                handler, "RequestLimitExceeded", "Your current request times exceeds limit."
            )
        try:
            params = json.loads(body)
        except ValueError:
            return self.error(handler, "InvalidParameter", "body")
        if params.get("SmsSdkAppId") != APP_ID:
            return self.error(
                handler, "FailedOperation.SmsSdkAppIdVerifyFail", "SdkAppId verify fail"
            )
        action = headers.get("X-TC-Action")
        if action == "SendSms":
            return self.send_sms(handler, params)
        if action == "PullSmsSendStatus":
            return self.pull(
                handler, [s for s in self.sent if s["receipt"] and not s["pulled"]], mark=True
            )
        if action == "PullSmsSendStatusByPhoneNumber":
            return self.pull(
                handler,
                [
                    s
                    for s in self.sent
                    if s["phone"] == params.get("PhoneNumber")
                    and s["at"].timestamp() >= params.get("BeginTime", 0)
                ],
            )
        return self.error(handler, "InvalidAction", "action")

    def send_sms(self, handler, params: dict):
        def status(code, message, **extra):
            return {
                "SerialNo": "",
                "PhoneNumber": params["PhoneNumberSet"][0],
                "Fee": 0,
                "SessionContext": params.get("SessionContext", ""),
                "Code": code,
                "Message": message,
                "IsoCode": "CN",
                **extra,
            }

        if self.refuse_code:
            return self.error(handler, self.refuse_code, "refused")
        if params.get("SignName") != SIGN_NAME:
            return self.error(
                handler, "FailedOperation.SignatureIncorrectOrUnapproved", "签名未审批或格式错误"
            )
        count = self.templates.get(params.get("TemplateId"))
        if count is None:
            return self.error(
                handler, "FailedOperation.TemplateIncorrectOrUnapproved", "模板未审批或内容不匹配"
            )
        values = params.get("TemplateParamSet") or []
        if len(values) != count or not all(isinstance(v, str) for v in values):
            return self.error(
                handler,
                "FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
                "请求内容与审核通过的模板内容不匹配",
            )
        phone = params["PhoneNumberSet"][0]
        if self.too_many(phone):
            answer = status(
                "LimitExceeded.PhoneNumberThirtySecondLimit",
                "单个手机号30秒内下发短信条数超过设定的上限",
            )
        else:
            serial = f"2433:{next(self.ids):012d}"
            self.sent.append(
                {
                    "serial": serial,
                    "phone": phone,
                    "values": values,
                    "template": params["TemplateId"],
                    "at": dt.datetime.now(dt.UTC),
                    "context": params.get("SessionContext", ""),
                    "receipt": None,
                    "pulled": False,
                }
            )
            answer = status("Ok", "send success", SerialNo=serial, Fee=1)
        handler._answer(
            200, {"Response": {"SendStatusSet": [answer], "RequestId": str(uuid.uuid4())}}
        )

    def pull(self, handler, rows, mark=False):
        items = []
        for s in rows:
            receipt = s["receipt"]
            if mark:
                s["pulled"] = True
            items.append(
                {
                    "UserReceiveTime": receipt["time"] if receipt else None,
                    "CountryCode": "86",
                    "SubscriberNumber": s["phone"][3:],
                    "PhoneNumber": s["phone"],
                    "SerialNo": s["serial"],
                    "ReportStatus": receipt["status"] if receipt else None,
                    "Description": receipt["description"] if receipt else None,
                    "SessionContext": s["context"],
                }
            )
        handler._answer(
            200, {"Response": {"PullSmsSendStatusSet": items, "RequestId": str(uuid.uuid4())}}
        )
