"""SMS backends and delivery: every message logged with its status, sent at most once."""

import datetime as dt
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from sms.models import Message, OutboxMessage
from sms.services import message_deliver, messages_deliver_due
from tests.conftest import at

NOW = at(2026, 9, 13, 20, 0)


def queued(text="预约已受理") -> Message:
    return Message.objects.create(
        phone="+8613800138000", text=text, purpose=Message.Purpose.BOOKING_RECEIVED, created_at=NOW
    )


class Gateway(BaseHTTPRequestHandler):
    """A local SMS gateway: checks the signature, answers as told."""

    received: list = []
    answer = 200

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        stamp = self.headers["X-Timestamp"]
        expected = hmac.new(b"gateway-key", stamp.encode() + b"." + body, hashlib.sha256)
        signed = hmac.compare_digest(expected.hexdigest(), self.headers["X-Signature"])
        Gateway.received.append({"body": json.loads(body), "signed": signed})
        self.send_response(Gateway.answer)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"id": "gw-42"}')

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway(settings):
    Gateway.received, Gateway.answer = [], 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SMS_BACKEND = "http"
    settings.SMS_HTTP_URL = f"http://127.0.0.1:{server.server_port}/send"
    settings.SMS_HTTP_KEY = "gateway-key"
    settings.SMS_HTTP_TIMEOUT = 2
    yield Gateway
    server.shutdown()


def test_file_backend_writes_number_and_text(db, sms_inbox):
    message = message_deliver(message_id=queued().pk, now=NOW)
    assert message.status == Message.Status.DELIVERED and message.sent_at == NOW
    assert sms_inbox.messages("+8613800138000") == ["To: +8613800138000\n\n预约已受理\n"]


def test_db_backend_fills_the_outbox(db, settings):
    settings.SMS_BACKEND = "db"
    message = message_deliver(message_id=queued().pk, now=NOW)
    outbox = OutboxMessage.objects.get()
    assert (outbox.message, outbox.phone, outbox.text) == (message, "+8613800138000", "预约已受理")


def test_console_backend_logs(db, settings, caplog):
    settings.SMS_BACKEND = "console"
    caplog.set_level("INFO", logger="sms.backends")
    message_deliver(message_id=queued().pk, now=NOW)
    assert "预约已受理" in caplog.text


def test_http_backend_signs_and_records_the_gateway_id(db, gateway):
    message = message_deliver(message_id=queued().pk, now=NOW)
    assert message.status == Message.Status.SENT and message.gateway_id == "gw-42"
    [request] = gateway.received
    assert request["signed"]
    assert request["body"] == {
        "id": str(message.pk),
        "phone": "+8613800138000",
        "text": "预约已受理",
    }


@pytest.mark.parametrize("status", [500, 503])
def test_gateway_5xx_is_retried_with_backoff_then_failed(db, gateway, settings, status):
    settings.SMS_MAX_ATTEMPTS, settings.SMS_RETRY_BASE_SECONDS = 3, 60
    gateway.answer = status
    message = message_deliver(message_id=queued().pk, now=NOW)
    assert (message.status, message.attempts) == (Message.Status.QUEUED, 1)
    assert message.next_attempt_at == NOW + dt.timedelta(seconds=60)
    # Not due yet: nothing is tried.
    assert messages_deliver_due(now=NOW + dt.timedelta(seconds=59)) == 0
    assert messages_deliver_due(now=NOW + dt.timedelta(seconds=60)) == 1
    message.refresh_from_db()
    assert message.next_attempt_at == NOW + dt.timedelta(seconds=60 + 120)
    messages_deliver_due(now=NOW + dt.timedelta(seconds=180))
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Message.Status.FAILED, 3)
    assert str(status) in message.error
    assert len(gateway.received) == 3


def test_gateway_recovering_delivers_on_retry(db, gateway):
    gateway.answer = 503
    message = message_deliver(message_id=queued().pk, now=NOW)
    gateway.answer = 200
    messages_deliver_due(now=message.next_attempt_at)
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and message.attempts == 2


def test_gateway_4xx_fails_at_once(db, gateway):
    gateway.answer = 400
    message = message_deliver(message_id=queued().pk, now=NOW)
    assert (message.status, message.attempts) == (Message.Status.FAILED, 1)
    assert "400" in message.error


def test_unreachable_gateway_is_retried(db, settings):
    settings.SMS_BACKEND = "http"
    settings.SMS_HTTP_URL, settings.SMS_HTTP_KEY = "http://127.0.0.1:9/none", "k"
    message = message_deliver(message_id=queued().pk, now=NOW)
    assert message.status == Message.Status.QUEUED and "unreachable" in message.error


def test_a_stuck_message_a_backend_cannot_be_asked_about_fails_not_resent(db, sms_inbox, settings):
    message = queued()
    Message.objects.filter(pk=message.pk).update(status=Message.Status.SENDING, claimed_at=NOW)
    messages_deliver_due(now=NOW + dt.timedelta(minutes=settings.SMS_STUCK_MINUTES + 1))
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED and sms_inbox.messages() == []


def test_a_message_is_never_sent_twice(db, sms_inbox):
    message = queued()
    message_deliver(message_id=message.pk, now=NOW)
    message_deliver(message_id=message.pk, now=timezone.now())
    assert len(sms_inbox.messages()) == 1


def test_a_deleted_message_is_skipped(db, sms_inbox):
    message = queued()
    message_id = message.pk
    message.delete()
    assert message_deliver(message_id=message_id, now=NOW) is None
    assert sms_inbox.messages() == []


def test_booking_received_sms_goes_out_after_commit(
    db, sms_inbox, monkeypatch, django_capture_on_commit_callbacks, matter, no_rest_window
):
    """DB1403/T 5.1.3 c: the applicant is told the booking waits for the window to confirm."""
    from django_q.conf import Conf

    from appointments.citizen import citizen_booking_create
    from sms.services import verification_code_send
    from tests.conftest import START

    monkeypatch.setattr(Conf, "SYNC", True)
    verification_code_send(phone="13700137000", client_address="10.0.0.1", now=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = citizen_booking_create(
            matter=matter,
            window=no_rest_window,
            start=START,
            applicant_name="李娜",
            phone="13700137000",
            code=sms_inbox.last_code("+8613700137000"),
            now=NOW,
        )
    message = Message.objects.about(appointment).get()
    assert message.status == Message.Status.DELIVERED
    assert appointment.reference in sms_inbox.messages("+8613700137000")[-1]


def test_staff_read_the_sms_log_of_their_hall_only(client, db, make_user, hall, other_hall, online):
    desk = make_user("desk", "desk", hall)
    other_desk = make_user("other", "desk", other_hall)
    Message.objects.create(
        phone=online.phone, text="x", purpose="booking_received", subject=online, created_at=NOW
    )
    client.force_login(desk)
    assert online.reference in client.get("/admin/sms/message/").content.decode()
    client.force_login(other_desk)
    response = client.get("/admin/sms/message/")
    assert response.status_code == 200 and online.reference not in response.content.decode()
