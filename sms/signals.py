from django.dispatch import Signal

# Sent after a message went out: sender=Message, message=<Message>. Receivers act on what the
# message announced (an approved change is applied once its notice is sent, DB1403/T 6.2.2).
message_sent = Signal()
