"""Personal data over time (《个人信息保护法》 art. 19: kept no longer than its purpose needs).

Each kind of record that holds an applicant's or a complainant's name, number or words has a
retention period (``RETENTION_*_DAYS``, the README says why each default): once it has run, the
daily ``anonymise`` sweep masks the name (张伟 → 张*), replaces the number with
``ANONYMOUS_PHONE`` and empties the free text that may name them. The rows themselves stay, with
their dates, statuses, windows, staff and outcomes, so every count, rate, register row and
figure is what it was; only who it was is gone.

- **bookings** (``RETENTION_BOOKING_DAYS`` after the booking's time): name, number and remarks;
  their contact log's texts and outcomes, the no-show follow-ups' notes, the history's record of
  a changed name, number or remarks;
- **complaints** (``RETENTION_COMPLAINT_DAYS`` after received and closed — archived or not
  accepted): the complainant's name, number, the complaint's text and the reply;
- **ratings** (``RETENTION_RATING_DAYS`` after rated): the comment, and the bad-review case's
  record of what the rater said and the reply;
- **text messages** (``RETENTION_SMS_DAYS`` after written): the number, and the text replaced by
  a mask of the same length and alphabet (billing counts the segments it took); the `db`
  backend's outbox copy too;
- **verification codes** (``RETENTION_VERIFICATION_CODE_DAYS``): the number and client address;
- **staff sign-in logs** (django-axes' access and failure logs, ``RETENTION_SIGNIN_LOG_DAYS``):
  deleted (current lockouts, ``AccessAttempt``, are left to django-axes).

A booking under an open complaint, or whose rating is under a pending appeal or an open
bad-review case, is held — with its rating and their messages — until that closes; an open
complaint is not due at all. The sweep is idempotent (a record anonymised is marked, or carries
the replaced number) and bounded (``BATCH`` records of each kind per run, oldest first).

This module sits on top of the apps (it reads and writes all of them); the administrators' page
``/admin/retention/`` (``yuyue.retention_views``) shows what is due next and when.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import pgettext_lazy

from appointments.models import Appointment, AppointmentEvent, ContactLog, NoShowFollowUp
from complaints.models import Complaint, ComplaintState
from complaints.services.confidentiality import mask_name
from evaluation.models import BadReviewCase, Rating, RatingAppeal
from sms.models import Message, OutboxMessage, VerificationCode
from sms.subjects import subject_label
from yuyue.sweeps import SweepResult, register_sweep

# "100 0000 0000": no Chinese mobile or landline number begins with 100, so nothing is ever sent
# to it, and it reads as a number on every page and in the register.
ANONYMOUS_PHONE = "+8610000000000"
# Records of each kind anonymised per run of the sweep (a backlog takes a few days' runs).
BATCH = 2000
CLOSED_COMPLAINT_STATES = (ComplaintState.ARCHIVED, ComplaintState.NOT_ACCEPTED)
# A booking's history records a change of these fields with their old and new values.
PERSONAL_BOOKING_FIELDS = ("applicant_name", "phone", "remarks")


def retention_cutoff(*, days_setting: str, now: dt.datetime) -> dt.datetime:
    """Records from before this moment have been kept ``days_setting`` days."""
    return now - dt.timedelta(days=getattr(settings, days_setting))


def text_masked(text: str) -> str:
    """A text of the same length and alphabet, nothing of it left: ASCII-only texts take "*",
    others "＊", so that a text message still counts the segments it was billed for."""
    return ("*" if text.isascii() else "＊") * len(text)


# --- what is held --------------------------------------------------------------------------------


def open_complaints() -> QuerySet:
    return Complaint.objects.exclude(state__in=CLOSED_COMPLAINT_STATES)


def held_bookings_q() -> Q:
    """DB1403/T 7.3, 8.2: bookings under an open complaint, or whose rating is under a pending
    appeal or an open bad-review case: kept as they are until that closes."""
    complaint = open_complaints().filter(appointment=OuterRef("pk"))
    appeal = RatingAppeal.objects.filter(
        rating__appointment=OuterRef("pk"), state=RatingAppeal.State.PENDING
    )
    case = BadReviewCase.objects.filter(rating__appointment=OuterRef("pk")).exclude(
        state=BadReviewCase.State.CLOSED
    )
    return Q(Exists(complaint)) | Q(Exists(appeal)) | Q(Exists(case))


# --- the kinds -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionKind:
    key: str
    label: str
    days_setting: str
    # The records not yet anonymised.
    pending: Callable[[], QuerySet]
    # When a record's period starts (also the order, oldest first).
    field: str
    anonymise: Callable[[list, dt.datetime], int]
    # The records kept as they are for now, past their period or not.
    held: Q = field(default_factory=Q)
    # A later moment the period runs from instead, when the record has it (a complaint closed).
    or_later: str = ""

    def past(self, now: dt.datetime) -> QuerySet:
        """Not yet anonymised and past the period, held or not."""
        cutoff = retention_cutoff(days_setting=self.days_setting, now=now)
        records = self.pending().filter(**{f"{self.field}__lte": cutoff})
        return records.exclude(**{f"{self.or_later}__gt": cutoff}) if self.or_later else records

    def due(self, now: dt.datetime) -> QuerySet:
        return self.past(now).exclude(self.held) if self.held else self.past(now)

    def due_at(self, record) -> dt.datetime:
        since = max(
            moment
            for moment in (getattr(record, self.field), getattr(record, self.or_later, None))
            if moment is not None
        )
        return since + dt.timedelta(days=getattr(settings, self.days_setting))


def _bookings_anonymise(records: list, now: dt.datetime) -> int:
    ids = [r.pk for r in records]
    for booking in records:
        booking.applicant_name = mask_name(booking.applicant_name)
        booking.phone = ANONYMOUS_PHONE
        booking.remarks = ""
        booking.anonymised_at = now
    Appointment.objects.bulk_update(
        records, ["applicant_name", "phone", "remarks", "anonymised_at"], batch_size=500
    )
    ContactLog.objects.filter(appointment_id__in=ids).update(text="", outcome="")
    NoShowFollowUp.objects.filter(appointment_id__in=ids).exclude(note="").update(note="")
    has_personal = Q()
    for name in PERSONAL_BOOKING_FIELDS:
        has_personal |= Q(changes__has_key=name)
    events = list(AppointmentEvent.objects.filter(has_personal, appointment_id__in=ids))
    for event in events:
        for name in PERSONAL_BOOKING_FIELDS:
            if name in event.changes:
                event.changes[name] = ["—", "—"]
    AppointmentEvent.objects.bulk_update(events, ["changes"], batch_size=500)
    return len(records)


def _complaints_anonymise(records: list, now: dt.datetime) -> int:
    for complaint in records:
        complaint.complainant_name = mask_name(complaint.complainant_name)
        complaint.complainant_phone = ""
        complaint.text = "—"
        complaint.reply_text = ""
        complaint.anonymised_at = now
    Complaint.objects.bulk_update(
        records,
        ["complainant_name", "complainant_phone", "text", "reply_text", "anonymised_at"],
        batch_size=500,
    )
    return len(records)


def _ratings_anonymise(records: list, now: dt.datetime) -> int:
    ids = [r.pk for r in records]
    Rating.objects.filter(pk__in=ids).update(comment="", anonymised_at=now)
    BadReviewCase.objects.filter(rating_id__in=ids).update(contact_note="", reply_text="")
    return len(records)


def _messages_anonymise(records: list, now: dt.datetime) -> int:
    for message in records:
        message.phone = ANONYMOUS_PHONE
        message.text = text_masked(message.text)
    Message.objects.bulk_update(records, ["phone", "text"], batch_size=500)
    # The `db` backend's copy, if its gateway has not taken it yet.
    OutboxMessage.objects.filter(message__in=records).update(phone=ANONYMOUS_PHONE, text="")
    return len(records)


def _codes_anonymise(records: list, now: dt.datetime) -> int:
    return VerificationCode.objects.filter(pk__in=[r.pk for r in records]).update(
        phone=ANONYMOUS_PHONE, client_address=None
    )


def _held_messages_q() -> Q:
    """Messages about a held booking or an open complaint are held with it."""
    return Q(
        subject_type=subject_label(Appointment),
        subject_id__in=Appointment.objects.filter(held_bookings_q()).values("pk"),
    ) | Q(subject_type=subject_label(Complaint), subject_id__in=open_complaints().values("pk"))


def _rating_held_q() -> Q:
    return Q(appointment__in=Appointment.objects.filter(held_bookings_q()).values("pk"))


def kinds() -> list[RetentionKind]:
    """The kinds of record with personal data, in the order the page shows them."""
    return [
        RetentionKind(
            key="bookings",
            label=pgettext_lazy("kind of record", "bookings"),
            days_setting="RETENTION_BOOKING_DAYS",
            pending=lambda: Appointment.objects.filter(anonymised_at__isnull=True),
            field="start",
            anonymise=_bookings_anonymise,
            held=held_bookings_q(),
        ),
        RetentionKind(
            key="complaints",
            label=pgettext_lazy("kind of record", "complaints"),
            days_setting="RETENTION_COMPLAINT_DAYS",
            # An open complaint is never due: only closed ones are waiting.
            pending=lambda: Complaint.objects.filter(
                anonymised_at__isnull=True, state__in=CLOSED_COMPLAINT_STATES
            ),
            field="received_at",
            or_later="archived_at",
            anonymise=_complaints_anonymise,
        ),
        RetentionKind(
            key="ratings",
            label=pgettext_lazy("kind of record", "ratings"),
            days_setting="RETENTION_RATING_DAYS",
            pending=lambda: Rating.objects.filter(anonymised_at__isnull=True).select_related(
                "appointment"
            ),
            field="rated_at",
            anonymise=_ratings_anonymise,
            held=_rating_held_q(),
        ),
        RetentionKind(
            key="messages",
            label=pgettext_lazy("kind of record", "text messages"),
            days_setting="RETENTION_SMS_DAYS",
            pending=lambda: Message.objects.exclude(phone=ANONYMOUS_PHONE),
            field="created_at",
            anonymise=_messages_anonymise,
            held=_held_messages_q(),
        ),
        RetentionKind(
            key="codes",
            label=pgettext_lazy("kind of record", "verification codes"),
            days_setting="RETENTION_VERIFICATION_CODE_DAYS",
            pending=lambda: VerificationCode.objects.exclude(phone=ANONYMOUS_PHONE),
            field="created_at",
            anonymise=_codes_anonymise,
        ),
    ]


def signin_logs_delete(*, now: dt.datetime) -> int:
    """Staff sign-in logs older than RETENTION_SIGNIN_LOG_DAYS are deleted (网络安全法 art. 21
    asks for network logs to be kept six months; nothing counts them after that)."""
    from axes.models import AccessFailureLog, AccessLog

    cutoff = retention_cutoff(days_setting="RETENTION_SIGNIN_LOG_DAYS", now=now)
    deleted = AccessLog.objects.filter(attempt_time__lte=cutoff).delete()[0]
    return deleted + AccessFailureLog.objects.filter(attempt_time__lte=cutoff).delete()[0]


# --- the sweep -----------------------------------------------------------------------------------


def personal_data_anonymise(*, now: dt.datetime) -> dict[str, int]:
    """PIPL art. 19, 47: anonymise each kind's records whose retention period has run and that
    nothing holds, oldest first, at most BATCH of each kind; delete old sign-in logs. Returns how
    many of each. Running it again anonymises nothing twice."""
    done = {}
    for kind in kinds():
        with transaction.atomic():
            # Race: staff correcting a name or number while the sweep masks it; the rows are
            # locked, so one of the two writes whole rows after the other.
            due = kind.due(now).order_by(kind.field, "pk").select_for_update(of=("self",))
            records = list(due[:BATCH])
            done[kind.key] = kind.anonymise(records, now) if records else 0
    done["signin_logs"] = signin_logs_delete(now=now)
    return done


def anonymise_sweep(*, now: dt.datetime) -> SweepResult:
    """The daily sweep of personal data past its retention period (``personal_data_anonymise``)."""
    return SweepResult(anonymised=sum(personal_data_anonymise(now=now).values()))


register_sweep("anonymise", anonymise_sweep, minutes=24 * 60)


# --- what comes next (the administrators' page) -------------------------------------------------


@dataclass
class KindPreview:
    kind: RetentionKind
    days: int
    due_now: int
    held: int
    # (record, the moment its period runs out), soonest first.
    upcoming: list


def retention_preview(*, now: dt.datetime, scope: Callable[[QuerySet], QuerySet], limit: int = 10):
    """For each kind: its period, how many records the next run anonymises, how many past their
    period are held, and the next ``limit`` records to come due with when. ``scope`` narrows a
    queryset to what the viewer may see (their hall)."""
    previews = []
    for kind in kinds():
        past = scope(kind.past(now))
        due_now = scope(kind.due(now)).count()
        upcoming_qs = scope(kind.pending()).exclude(pk__in=past.values("pk"))
        upcoming = [
            (record, kind.due_at(record))
            for record in upcoming_qs.order_by(kind.field, "pk")[:limit]
        ]
        previews.append(
            KindPreview(
                kind=kind,
                days=getattr(settings, kind.days_setting),
                due_now=due_now,
                held=past.count() - due_now,
                upcoming=upcoming,
            )
        )
    return previews
