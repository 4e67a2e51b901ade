"""Sending text messages and proving that a citizen holds a mobile number.

Codes follow common practice for government service SMS: 6 digits, valid
VERIFICATION_CODE_MINUTES (5), single use, dead after VERIFICATION_CODE_MAX_TRIES (5) wrong tries,
and a limited number of sends per number and per client address per hour.
"""

import datetime as dt
import logging
import secrets
import time
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, Subquery
from django.utils import formats, timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from yuyue.locks import locking_transaction
from yuyue.stored_texts import shown_text
from yuyue.worker import task_enqueue_on_commit

from .backends import DeliveryError, get_backend
from .billing import text_segments
from .models import Message, VerificationCode
from .phones import phone_clean
from .providers import NUMBER_LIMIT_CODES, templated_sms
from .receipts import messages_reconcile
from .signals import message_delivered, message_skip_reason_wanted, records_listened
from .templates import message_text, template_values

logger = logging.getLogger(__name__)

CODE_LENGTH = 6


def _code_error(message: str, code: str) -> ValidationError:
    return ValidationError({"code": ValidationError(message, code=code)})


# --- sending ----------------------------------------------------------------------------------


def _deliver_on_commit(message_id: int) -> None:
    # Without the broker the message stays queued; the "deliver sms" schedule sends it.
    task_enqueue_on_commit("sms.tasks.message_deliver_task", message_id)


def sms_send(
    *,
    purpose: str,
    phone,
    context: dict,
    now: dt.datetime,
    subject=None,
    occasion=None,
    dedupe_key: str | None = None,
    subject_is_new: bool = False,
) -> Message | None:
    """Write the message from its template and queue it; the worker delivers it once the
    surrounding transaction commits. With ``dedupe_key``, a second call for the same occasion
    writes nothing and returns None (a task or sweep run twice sends once).

    ``subject`` is the record the message is about (a booking), ``occasion`` the record that
    occasioned it if another (the change request of a change notice): their apps answer
    ``sms.signals.message_skip_reason_wanted`` before it is sent. The subject's reference and
    hall are recorded with the message (``sms.subjects``).

    ``subject_is_new``: the subject was created in the caller's transaction, so no message can
    carry a ``dedupe_key`` of it yet: written in one INSERT, without the look-up and the
    savepoint (a duplicate would still be refused by the key's unique constraint)."""
    if subject_is_new:
        message = Message.objects.create(
            **_message_fields(purpose=purpose, phone=phone, context=context, now=now),
            subject=subject,
            occasion=occasion,
            dedupe_key=dedupe_key,
        )
        _deliver_on_commit(message.pk)
        return message
    if dedupe_key and Message.objects.filter(dedupe_key=dedupe_key).exists():
        return None
    try:
        with transaction.atomic():
            message = Message.objects.create(
                **_message_fields(purpose=purpose, phone=phone, context=context, now=now),
                subject=subject,
                occasion=occasion,
                dedupe_key=dedupe_key,
            )
    except IntegrityError:
        # Race: the same occasion queued by two workers at once; the other one won.
        return None
    _deliver_on_commit(message.pk)
    return message


def _message_fields(*, purpose: str, phone, context: dict, now: dt.datetime) -> dict:
    return {
        "phone": phone,
        "text": message_text(purpose=purpose, context=context),
        "context": template_values(purpose=purpose, context=context),
        "purpose": purpose,
        "created_at": now,
    }


def messages_queue(*, messages: list[Message]) -> int:
    """Write many prepared messages at once (sweeps); those whose ``dedupe_key`` exists are
    left out. One delivery task is queued for all of them. Returns how many were new."""
    if not messages:
        return 0
    keys = [m.dedupe_key for m in messages]
    existing = set(Message.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True))
    fresh = [m for m in messages if m.dedupe_key not in existing]
    Message.objects.bulk_create(fresh, ignore_conflicts=True, batch_size=500)
    if fresh:
        task_enqueue_on_commit("sms.tasks.messages_deliver_due_task")
    return len(fresh)


def _skip_reason(message: Message) -> str:
    """Why a queued message no longer applies, as the apps that own its subject and occasion
    answer ``message_skip_reason_wanted`` (a booking gone or cancelled, a change no longer
    approved)."""
    for model, record in records_listened(message, message_skip_reason_wanted):
        for _receiver, reason in message_skip_reason_wanted.send(
            sender=model, message=message, record=record
        ):
            if reason:
                return reason
    return ""


def _delivered_notify(message: Message) -> None:
    """Send ``message_delivered`` for the message's subject and occasion."""
    for model, record in records_listened(message, message_delivered):
        message_delivered.send(sender=model, message=message, record=record)


def _retry_delay(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=settings.SMS_RETRY_BASE_SECONDS * 2 ** (attempts - 1))


def _backend_send(backend, message: Message, *, text: str, context: dict) -> tuple[str, int]:
    """Hand the message to ``backend``: the text, or for a provider its template and
    parameters. Returns the backend's id for it and the parts billed."""
    if getattr(backend, "templated", False):
        accepted = backend.send_template(
            templated_sms(backend=backend, message=message, context=context)
        )
        segments = accepted.segments or text_segments(text, signature=settings.SMS_SIGN_NAME)
        return accepted.gateway_id, segments
    gateway_id = backend.send(message_id=message.pk, phone=message.phone.as_e164, text=text)
    return gateway_id, text_segments(text)


def _failure_record(message: Message, error: DeliveryError, *, now: dt.datetime) -> None:
    message.error, message.error_code = str(error), error.code
    # A verification code is not retried (the citizen asks for a new one). A number the
    # provider limits is tried again with the backoff: its minute's or hour's limit passes (a
    # registration text and a reminder a minute apart); a day's limit runs out the attempts,
    # and the failed message reaches the desk (failed_sms) to phone instead.
    retry = (error.transient or error.throttled) and message.purpose != Message.Purpose.VERIFICATION
    if retry and message.attempts < settings.SMS_MAX_ATTEMPTS:
        logger.warning(
            "SMS %s attempt %s failed, will retry: %s", message.pk, message.attempts, error
        )
        message.status = Message.Status.QUEUED
        message.next_attempt_at = now + _retry_delay(message.attempts)
    else:
        logger.error("SMS %s failed: %s", message.pk, error)
        message.status, message.next_attempt_at = Message.Status.FAILED, None
        message.failed_at = now


def message_deliver(
    *, message_id: int, now: dt.datetime, text: str | None = None, context: dict | None = None
) -> Message:
    """Send one queued message through the configured backend, at most once.

    The message is claimed by a conditional update (queued and due → sending), so a repeated
    or concurrent task finds it taken and sends nothing. A message that no longer applies is
    skipped with a log line. A gateway timeout or 5xx is retried with exponential backoff
    (SMS_MAX_ATTEMPTS, SMS_RETRY_BASE_SECONDS), then marked failed; a 4xx fails at once, and so
    does a verification code (the citizen asks for a new one).

    Accepted is not delivered: ``console`` and ``file`` deliver at once, a provider's receipt
    says so later (``sms.receipts``); ``sms.signals.message_delivered`` tells the subject's app
    then (a change applied, DB1403/T 6.2.2). ``text`` and ``context`` replace the stored text
    and template values when sending (verification codes are stored masked).
    """
    claimed = (
        Message.objects.filter(pk=message_id, status=Message.Status.QUEUED)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(status=Message.Status.SENDING, claimed_at=now)
    )
    message = Message.objects.filter(pk=message_id).first()
    if message is None or not claimed:
        logger.info("SMS %s not sent: missing, not queued or not due.", message_id)
        return message
    reason = _skip_reason(message)
    if reason:
        logger.info("SMS %s skipped: %s.", message.pk, shown_text(reason))
        message.status, message.error = Message.Status.SKIPPED, reason
        message.save(update_fields=["status", "error"])
        return message
    backend = get_backend()
    message.backend = backend.name
    message.attempts += 1
    try:
        message.gateway_id, message.segments = _backend_send(
            backend,
            message,
            text=message.text if text is None else text,
            context=message.context if context is None else context,
        )
    except DeliveryError as error:
        _failure_record(message, error, now=now)
    else:
        message.status, message.sent_at = Message.Status.SENT, now
        message.error, message.error_code, message.next_attempt_at = "", "", None
        if getattr(backend, "delivers_at_once", False):
            message.status, message.delivered_at = Message.Status.DELIVERED, now
    message.save(
        update_fields=[
            "status",
            "backend",
            "gateway_id",
            "error",
            "error_code",
            "sent_at",
            "delivered_at",
            "failed_at",
            "segments",
            "attempts",
            "next_attempt_at",
        ]
    )
    if message.status == Message.Status.DELIVERED:
        _delivered_notify(message)
    return message


def messages_deliver_due(*, now: dt.datetime, limit: int = 1000) -> int:
    """Deliver every queued message that is due (new ones and retries); return how many were
    tried. Messages stuck in "sending" for SMS_STUCK_MINUTES (a worker died mid-send) are
    reconciled first by asking the backend whether it has them (``sms.receipts``): sending
    again blindly could duplicate, marking them failed blindly would have staff phone people
    who got the text."""
    messages_reconcile(now=now)
    due = list(
        Message.objects.filter(status=Message.Status.QUEUED, created_at__lte=now)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        # A code is sent by the request that made it, with the code in it; the log holds it
        # masked, so a sweep must never send that text.
        .exclude(purpose=Message.Purpose.VERIFICATION)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    started = time.monotonic()
    tried = 0
    for message_id in due:
        # Stay well inside the worker's task timeout; the rest goes at the next run.
        if time.monotonic() - started > settings.SMS_BATCH_SECONDS:
            break
        message_deliver(message_id=message_id, now=now)
        tried += 1
    return tried


# --- verification codes -----------------------------------------------------------------------


def _code_hash(phone, code: str) -> str:
    return salted_hmac("sms.verification", f"{phone}:{code}", algorithm="sha256").hexdigest()


def _limit_error(until: dt.datetime) -> ValidationError:
    return ValidationError(
        {
            "phone": ValidationError(
                _("Too many codes were requested; try again after %(time)s.")
                % {"time": formats.time_format(timezone.localtime(until), "H:i")},
                code="too_many_codes",
            )
        }
    )


def _send_limits_check(*, phone, client_address: str | None, now: dt.datetime) -> None:
    hour_ago = now - dt.timedelta(hours=1)
    by_number = list(
        VerificationCode.objects.filter(phone=phone, created_at__gt=hour_ago)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
    )
    if by_number:
        wait_until = by_number[0] + dt.timedelta(seconds=settings.VERIFICATION_CODE_RESEND_SECONDS)
        if now < wait_until:
            raise ValidationError(
                {
                    "phone": ValidationError(
                        _("A code was just sent; wait %(seconds)s seconds before asking again.")
                        % {"seconds": int((wait_until - now).total_seconds()) + 1},
                        code="resend_too_soon",
                    )
                }
            )
    if len(by_number) >= settings.VERIFICATION_CODES_PER_NUMBER_PER_HOUR:
        raise _limit_error(by_number[-1] + dt.timedelta(hours=1))
    # The providers' daily limit per number (Aliyun's and Tencent's default: 10 a day).
    by_day = list(
        VerificationCode.objects.filter(phone=phone, created_at__gt=now - dt.timedelta(days=1))
        .order_by("created_at")
        .values_list("created_at", flat=True)[: settings.VERIFICATION_CODES_PER_NUMBER_PER_DAY]
    )
    if len(by_day) >= settings.VERIFICATION_CODES_PER_NUMBER_PER_DAY:
        raise _limit_error(by_day[0] + dt.timedelta(days=1))
    if client_address:
        by_address = list(
            VerificationCode.objects.filter(
                client_address=client_address, created_at__gt=hour_ago
            ).values_list("created_at", flat=True)
        )
        if len(by_address) >= settings.VERIFICATION_CODES_PER_ADDRESS_PER_HOUR:
            raise _limit_error(min(by_address) + dt.timedelta(hours=1))


def verification_code_send(*, phone, client_address: str | None, now: dt.datetime) -> Message:
    """Send a fresh 6-digit code to a mobile number; older codes of the number stop counting.

    Limits: one send per VERIFICATION_CODE_RESEND_SECONDS, VERIFICATION_CODES_PER_NUMBER_PER_HOUR
    per number and VERIFICATION_CODES_PER_ADDRESS_PER_HOUR per client address. The message is
    sent at once (the citizen is waiting for it); a failed send is reported, not hidden.
    """
    number = phone_clean(phone, mobile_only=True)
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_LENGTH))
    minutes = settings.VERIFICATION_CODE_MINUTES
    with transaction.atomic():
        # Race: sends for one number at once must be counted one after the other (the
        # number's newest code row is the lock; SQLite serialises writers anyway).
        _latest_code(number, lock=True)
        _send_limits_check(phone=number, client_address=client_address, now=now)
        VerificationCode.objects.create(
            phone=number,
            code_hash=_code_hash(number, code),
            client_address=client_address or None,
            created_at=now,
            expires_at=now + dt.timedelta(minutes=minutes),
        )
        purpose = Message.Purpose.VERIFICATION
        masked = {"code": "******", "minutes": minutes}
        message = Message.objects.create(
            phone=number,
            text=message_text(purpose=purpose, context=masked),
            context=template_values(purpose=purpose, context=masked),
            purpose=purpose,
            created_at=now,
        )
    real = {"code": code, "minutes": minutes}
    message = message_deliver(
        message_id=message.pk,
        now=now,
        text=message_text(purpose=purpose, context=real),
        context=template_values(purpose=purpose, context=real),
    )
    if message.error_code in NUMBER_LIMIT_CODES:
        # The provider's own per-number limit, met despite ours (another system sending to
        # the number, or limits set lower there): the citizen hears it plainly.
        raise ValidationError(
            {
                "phone": ValidationError(
                    _("This number has had too many codes for now; try again later."),
                    code="too_many_codes",
                )
            }
        )
    if message.status not in (Message.Status.SENT, Message.Status.DELIVERED):
        raise ValidationError(
            {
                "phone": ValidationError(
                    _("The code could not be sent just now; try again in a minute."),
                    code="sms_failed",
                )
            }
        )
    return message


def _latest_code(number, *, lock: bool) -> VerificationCode | None:
    codes = VerificationCode.objects.filter(phone=number).order_by("-created_at", "-pk")
    if lock:
        codes = codes.select_for_update()
    return codes.first()


class _WrongCode(Exception):
    def __init__(self, code_id: int):
        self.code_id = code_id


def _entered_matches(latest: VerificationCode, number, code) -> bool:
    entered = str(code).strip() if isinstance(code, str | int) else ""
    return (
        entered.isdigit()
        and len(entered) == CODE_LENGTH
        and constant_time_compare(latest.code_hash, _code_hash(number, entered))
    )


def _wrong_try_record(code_id: int) -> ValidationError:
    """Count a wrong try (committed on its own, whatever happens to the request)."""
    with transaction.atomic():
        # Race: two wrong tries at once must both be counted, not both read the old count.
        latest = VerificationCode.objects.select_for_update().get(pk=code_id)
        latest.failed_attempts += 1
        latest.save(update_fields=["failed_attempts"])
    left = settings.VERIFICATION_CODE_MAX_TRIES - latest.failed_attempts
    if left > 0:
        return _code_error(
            _("The code is wrong; %(left)s tries left.") % {"left": left}, "wrong_code"
        )
    return _code_error(_("The code is wrong and has now expired; request a new code."), "code_dead")


@contextmanager
def verified_number(*, phone, code, now: dt.datetime):
    """Run the block in one transaction in which the number's newest code is used up.

    The code is single use: if the block fails (the slot filled meanwhile) the transaction rolls
    back and the code stays usable; if it succeeds, the code is spent with it. A wrong code is
    counted in a transaction of its own and raised. The code row's lock also serialises
    everything done at once with one number (the per-number booking limits rely on it); a lock
    wait that runs out (BOOKING_LOCK_TIMEOUT_SECONDS) raises ``yuyue.locks.BusyError``.
    Yields the number, cleaned.
    """
    number = phone_clean(phone, mobile_only=True)
    try:
        # The code row is the first lock of the citizen's booking: bounded like the slot's.
        with locking_transaction():
            if not _code_spent(number, code, now=now):
                # Not spent at once: find out why (and count a wrong try) under the row's lock.
                latest = _latest_code(number, lock=True)
                error = _usable_error(latest, now)
                if error is not None:
                    raise error
                if not _entered_matches(latest, number, code):
                    raise _WrongCode(latest.pk)
                latest.used_at = now
                latest.save(update_fields=["used_at"])
            yield number
    except _WrongCode as wrong:
        raise _wrong_try_record(wrong.code_id) from None


def _code_spent(number, code, *, now: dt.datetime) -> bool:
    """Spend the number's newest code in one UPDATE if ``code`` is it and it is usable (unused,
    unexpired, not dead); False otherwise, having changed nothing.

    Race: two requests with one number at once. The UPDATE takes the code row's lock (held to
    the end of the transaction) like ``select_for_update`` did, so everything the first does with
    the number (its per-number booking limits) comes before the second; the second, once the
    first commits, finds the code used (PostgreSQL re-checks ``used_at IS NULL`` on the row as
    the first left it) and is refused as before. The hashes are compared in SQL: they are keyed
    HMACs, so their timing tells nothing about a code."""
    entered = str(code).strip() if isinstance(code, str | int) else ""
    if not (entered.isdigit() and len(entered) == CODE_LENGTH):
        return False
    newest = VerificationCode.objects.filter(phone=number).order_by("-created_at", "-pk")
    return (
        VerificationCode.objects.filter(
            pk=Subquery(newest.values("pk")[:1]),
            code_hash=_code_hash(number, entered),
            used_at__isnull=True,
            expires_at__gt=now,
            failed_attempts__lt=settings.VERIFICATION_CODE_MAX_TRIES,
        ).update(used_at=now)
        == 1
    )


def code_used_at(*, phone, code) -> dt.datetime | None:
    """When the number's newest code was used, if ``code`` is that code: a request repeated
    after its answer was lost (a web instance died after the commit) proves the same number
    again, and may be answered with what the first one made. None otherwise."""
    try:
        number = phone_clean(phone, mobile_only=True)
    except ValidationError:
        return None
    latest = _latest_code(number, lock=False)
    if latest is None or latest.used_at is None or not _entered_matches(latest, number, code):
        return None
    return latest.used_at


def _usable_error(latest: VerificationCode | None, now: dt.datetime) -> ValidationError | None:
    if latest is None:
        return _code_error(_("Request a code first."), "no_code")
    if latest.used_at is not None:
        return _code_error(_("This code has been used; request a new code."), "code_used")
    if latest.failed_attempts >= settings.VERIFICATION_CODE_MAX_TRIES:
        return _code_error(_("Too many wrong tries; request a new code."), "code_dead")
    if now >= latest.expires_at:
        return _code_error(_("The code has expired; request a new code."), "code_expired")
    return None
