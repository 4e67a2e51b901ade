"""The booking's and its change's state machines (DB1403/T 5.1.3, 6.1, 6.2): BOOKING_STEPS and
CHANGE_STEPS, read by the services' state checks and by the console's buttons."""

import datetime as dt

from django.utils.translation import gettext_lazy

from yuyue.transitions import Transition, TransitionTable

from ..models import Appointment, ChangeRequest, Status
from ._common import AWAITING_ARRIVAL, OPEN_STATUSES, _change_refusal, _status_refusal
from .rules import check_in_day, no_change_open, no_show_follow_up_due_at

# The services of this package check a booking's status and a change's state through these
# tables; the console's buttons (appointments.admin) are the steps they permit. The forms are the
# console's (appointments.console).

FORMS = "appointments.console."
_REQ, _APPROVED = ChangeRequest.State.REQUESTED, ChangeRequest.State.APPROVED


def no_show_follow_up_pending(appointment: Appointment, now: dt.datetime) -> bool:
    """DB1403/T 6.2.3: a follow-up is open, or due (30 min after the start, not arrived) and not
    yet opened by the sweep."""
    if appointment.follow_ups.filter(outcome="").exists():
        return True
    return BOOKING_STEPS.permits("open_follow_up", appointment) and now >= (
        no_show_follow_up_due_at(start=appointment.start)
    )


BOOKING_STEPS = TransitionTable(
    Transition(
        "confirm",
        gettext_lazy("Confirm online booking"),
        "appointments.services.appointment_confirm",
        (Status.PENDING,),
        "appointments.confirm_appointment",
        FORMS + "ConfirmForm",
        gettext_lazy("Only a booking waiting for confirmation can be confirmed."),
        clause="5.1.3 c",
    ),
    Transition(
        "hand_over",
        gettext_lazy("Hand over to the window"),
        "appointments.services.appointment_hand_over",
        (Status.ACCEPTED,),
        "appointments.hand_over_appointment",
        FORMS + "HandOverForm",
        gettext_lazy("Only an accepted booking can be handed over to the window."),
        clause="6.1.3",
    ),
    Transition(
        "notice",
        gettext_lazy("Give the one-time notice"),
        "appointments.services.appointment_give_notice",
        (Status.HANDED_OVER,),
        "appointments.hand_over_appointment",
        FORMS + "NoticeForm",
        gettext_lazy("The one-time notice is given after the hand-over to the window."),
        clause="6.1.3",
    ),
    Transition(
        "reassign",
        gettext_lazy("Reassign"),
        "appointments.services.appointment_reassign",
        OPEN_STATUSES,
        "appointments.reassign_appointment",
        FORMS + "ReassignForm",
        gettext_lazy("Only an open booking can be reassigned."),
        clause="6.1.1 a",
        error_fields=(("start", "window"),),
    ),
    Transition(
        "check_in",
        gettext_lazy("Check in"),
        "appointments.services.appointment_check_in",
        (*AWAITING_ARRIVAL, Status.NO_SHOW),
        "appointments.check_in_appointment",
        refused=gettext_lazy("Only an accepted booking can be checked in; confirm it first."),
        when=check_in_day,
        clause="5.1.2, 6.2.1",
    ),
    Transition(
        "serve",
        gettext_lazy("Served"),
        "appointments.services.appointment_serve",
        (Status.ARRIVED,),
        "appointments.serve_appointment",
        refused=gettext_lazy("Only an applicant who has arrived can be served."),
        clause="5.1.2",
    ),
    Transition(
        "request_change",
        gettext_lazy("Request a change"),
        "appointments.services.change_request_create",
        OPEN_STATUSES,
        "appointments.request_change",
        FORMS + "ChangeRequestForm",
        gettext_lazy("Only an open booking can be changed."),
        when=no_change_open,
        clause="6.2.2",
        error_fields=(("start", "new_start"), ("window", "new_window")),
    ),
    Transition(
        "follow_up",
        gettext_lazy("Record the no-show follow-up"),
        "appointments.services.no_show_follow_up_take",
        None,  # the follow-up's own state decides (no_show_follow_up_pending)
        "appointments.record_no_show",
        FORMS + "FollowUpForm",
        when=no_show_follow_up_pending,
        clause="6.2.3",
    ),
    Transition(
        "open_follow_up",
        gettext_lazy("Open the no-show follow-up"),
        "appointments.services.no_show_follow_up_open",
        AWAITING_ARRIVAL,
        refused=gettext_lazy(
            "A no-show follow-up is only for an accepted booking not yet arrived."
        ),
        clause="6.2.3",
        console=False,  # the sweep's, and the follow-up step's first part
    ),
    Transition(
        "cancel",
        gettext_lazy("Cancel"),
        "appointments.services.appointment_cancel_by_staff",
        OPEN_STATUSES,
        "appointments.cancel_appointment",
        FORMS + "CancelForm",
        gettext_lazy("Only an open booking can be cancelled."),
        clause="6.2.2",
    ),
    Transition(
        "cancel_online",
        gettext_lazy("Cancel"),
        "appointments.services.appointment_cancel_by_citizen",
        OPEN_STATUSES,
        refused=gettext_lazy("Only an open booking can be cancelled."),
        console=False,  # the applicant's, on the citizen pages
    ),
    state="status",
    subject="appointment",
    refusal=_status_refusal,
)

# The change under way of a booking (DB1403/T 6.2.2); the console finds it by
# ``change_request_open``.
CHANGE_STEPS = TransitionTable(
    Transition(
        "approve_change",
        gettext_lazy("Approve the change"),
        "appointments.services.change_request_approve",
        (_REQ,),
        "appointments.approve_change",
        FORMS + "ApproveChangeForm",
        clause="6.2.2",
    ),
    Transition(
        "reject_change",
        gettext_lazy("Refuse the change"),
        "appointments.services.change_request_reject",
        (_REQ,),
        "appointments.approve_change",
        FORMS + "RejectChangeForm",
        clause="6.2.2",
    ),
    Transition(
        "apply_change",
        gettext_lazy("Tell the applicant and apply the change"),
        "appointments.services.change_request_notify_and_apply",
        (_APPROVED,),
        "appointments.request_change",
        FORMS + "ApplyChangeForm",
        clause="6.2.2",
    ),
    Transition(
        "record_emergency",
        gettext_lazy("Record the emergency"),
        "appointments.services.change_request_record_emergency",
        (_APPROVED,),
        "appointments.approve_change",
        clause="6.2.2",
        console=False,
    ),
    Transition(
        "withdraw",
        gettext_lazy("Withdraw the change"),
        "appointments.services.change_request_withdraw",
        (_REQ, _APPROVED),
        "appointments.request_change",
        clause="6.2.2",
        console=False,
    ),
    state="state",
    subject="change",
    refusal=_change_refusal,
)
