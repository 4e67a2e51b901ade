"""What sms tells the apps above it.

sms is the lowest app (pyproject.toml, [tool.importlinter]) and never imports the apps whose
records its messages are about. Where sending a message must reach them, ``message_deliver``
(sms/services.py) sends one of these signals, with ``sender`` the model of the record the message
is about: its ``subject`` (a booking) and its ``occasion`` (the change request of a change
notice), each that is set. Each signal says who listens and why.
"""

from django.dispatch import Signal

# Sent just before a queued message goes out: sender=the record's model, message, record (None
# when the record was deleted after the message was written). A receiver returns why the message
# no longer applies, or "" when it does; the first reason given skips the message. appointments
# answers (appointments/receivers.py) for a booking (deleted, cancelled, moved since its reminder
# was written) and for a change request (a change notice goes out only while its change is
# approved, DB1403/T 6.2.2).
message_skip_reason_wanted = Signal()

# Sent after a message went out (status sent, ``sent_at`` set): sender=the record's model,
# message, record. appointments listens (appointments/receivers.py) to apply an approved change
# once its notice has reached the gateway, judged at the send time (DB1403/T 6.2.2).
message_sent = Signal()
