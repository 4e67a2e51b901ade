"""What the booking lifecycle tells the apps above it.

appointments stands below complaints and evaluation in the layers (pyproject.toml,
[tool.importlinter]) and never imports them. Where a step of a booking must reach them, the
service sends one of these signals and the app above listens; each signal says who sends it, who
listens and why.
"""

from django.dispatch import Signal

# Sent by appointment_serve (appointments/services/arrival.py) inside its transaction, once
# the booking is served and its history written: sender=Appointment, appointment, now.
# evaluation listens (evaluation/receivers.py) to invite the applicant by SMS to rate the
# service (国办发〔2019〕51号, DB1403/T 8.2); the message goes out after the commit, and a
# rollback takes it away.
appointment_served = Signal()
