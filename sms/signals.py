"""What sms tells the apps above it.

sms is the lowest app (pyproject.toml, [tool.importlinter]) and never imports the apps whose
records its messages are about. Where sending a message must reach them, ``message_deliver``
(sms/services.py) sends one of these signals, with ``sender`` the model of the record the message
is about: its ``subject`` (a booking) and its ``occasion`` (the change request of a change
notice), each that is set. Each signal says who listens and why.
"""

from django.apps import apps
from django.dispatch import Signal

# Sent just before a queued message goes out: sender=the record's model, message, record (None
# when the record was deleted after the message was written). A receiver returns why the message
# no longer applies, or "" when it does; the first reason given skips the message. appointments
# answers (appointments/receivers.py) for a booking (deleted, cancelled, moved since its reminder
# was written) and for a change request (a change notice goes out only while its change is
# approved, DB1403/T 6.2.2).
message_skip_reason_wanted = Signal()

# Sent when a message is known to have reached the handset (status delivered, ``delivered_at``
# the receipt time the provider reports; console and file deliver at once): sender=the record's
# model, message, record. appointments listens (appointments/receivers.py) to apply an approved
# change once its notice has reached the applicant, judged at ``delivered_at`` (DB1403/T 6.2.2).
message_delivered = Signal()

# Sent when a provider's receipt says a message did not reach the handset (status failed,
# ``error_code`` the provider's): sender=the record's model, message, record. appointments
# listens to have staff phone the applicant of an undelivered change notice (DB1403/T 6.2.2).
message_undelivered = Signal()


def records_listened(message, signal):
    """The message's subject and occasion, each with its model, where ``signal`` has a receiver
    for that model (no query for a record nobody asks about)."""
    for prefix in ("subject", "occasion"):
        label, pk = getattr(message, f"{prefix}_type"), getattr(message, f"{prefix}_id")
        if not label or pk is None:
            continue
        model = apps.get_model(label)
        if signal.has_listeners(model):
            yield model, getattr(message, prefix)
