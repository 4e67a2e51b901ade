"""The complaint's state machine (GB/T 36113; DB1403/T 7.3): COMPLAINT_STEPS, read by the
services' state checks and by the console's buttons."""

from django.utils.translation import gettext_lazy

from yuyue.transitions import Transition, TransitionTable

from ..models import AWAITING_ACCEPTANCE, Complaint
from ._common import ATTACHABLE, S, _state_refusal

# The steps of this package check the complaint's state through this table; the console's buttons
# (complaints.admin) are the steps it permits. The forms are the console's (complaints.console).

FORMS = "complaints.console."
HANDLE = "complaints.handle_complaint"

COMPLAINT_STEPS = TransitionTable(
    Transition(
        "accept",
        gettext_lazy("Accept"),
        "complaints.services.complaint_accept",
        AWAITING_ACCEPTANCE,
        HANDLE,
        FORMS + "AcceptForm",
        gettext_lazy("Only a registered complaint can be accepted or refused."),
        clause="GB/T 36113 受理",
    ),
    Transition(
        "refuse",
        gettext_lazy("Do not accept"),
        "complaints.services.complaint_refuse",
        AWAITING_ACCEPTANCE,
        HANDLE,
        FORMS + "RefuseForm",
        gettext_lazy("Only a registered complaint can be accepted or refused."),
        clause="GB/T 36113 不予受理",
    ),
    Transition(
        "settle",
        gettext_lazy("Settle on the spot"),
        "complaints.services.complaint_settle_on_spot",
        (S.ACCEPTED,),
        HANDLE,
        FORMS + "SettleForm",
        gettext_lazy("Only an accepted complaint can be settled on the spot."),
        clause="GB/T 36113 现场协调",
    ),
    Transition(
        "refer",
        gettext_lazy("Refer to the department"),
        "complaints.services.complaint_refer",
        (S.ACCEPTED,),
        HANDLE,
        FORMS + "ReferForm",
        gettext_lazy("Only an accepted complaint can be referred to a department."),
        clause="GB/T 36113 转办",
    ),
    Transition(
        "investigate",
        gettext_lazy("Record the investigation"),
        "complaints.services.complaint_investigate",
        (S.ACCEPTED, S.REFERRED),
        HANDLE,
        FORMS + "InvestigateForm",
        gettext_lazy("Only an accepted or referred complaint can be investigated."),
        clause="GB/T 36113 调查核实",
    ),
    Transition(
        "attach",
        gettext_lazy("Add a document"),
        "complaints.services.complaint_attachment_add",
        ATTACHABLE,
        HANDLE,
        FORMS + "AttachmentForm",
        gettext_lazy("Documents are added while the complaint is investigated."),
        clause="GB/T 36113 调查核实",
    ),
    Transition(
        "decide",
        gettext_lazy("Decide"),
        "complaints.services.complaint_decide",
        (S.INVESTIGATED,),
        HANDLE,
        FORMS + "DecideForm",
        gettext_lazy("A complaint is decided after its investigation."),
        clause="GB/T 36113 处理; DB1403/T 7.4",
    ),
    Transition(
        "reply",
        gettext_lazy("Reply"),
        "complaints.services.complaint_reply",
        (S.DECIDED,),
        HANDLE,
        FORMS + "ReplyForm",
        gettext_lazy("A complaint is replied to after it is decided."),
        clause="GB/T 36113 答复",
    ),
    Transition(
        "follow_up",
        gettext_lazy("Record the follow-up visit"),
        "complaints.services.complaint_follow_up",
        (S.REPLIED, S.SETTLED),
        HANDLE,
        FORMS + "FollowUpForm",
        gettext_lazy("The follow-up visit comes after the reply or the settlement."),
        clause="GB/T 36113 回访",
    ),
    Transition(
        "archive",
        gettext_lazy("Archive"),
        "complaints.services.complaint_archive",
        (S.FOLLOWED_UP, S.NOT_ACCEPTED),
        HANDLE,
        refused=gettext_lazy("Only a followed-up or not accepted complaint can be archived."),
        clause="GB/T 36113 归档",
    ),
    state="state",
    subject="complaint",
    refusal=_state_refusal,
)


def _lock(complaint: Complaint, step: str) -> Complaint:
    # Race: two handlers act on the same complaint at once (two replies, refuse vs accept).
    # Locking the row makes the second wait and then see the state the first one left.
    locked = Complaint.objects.select_for_update().get(pk=complaint.pk)
    COMPLAINT_STEPS.check(step, locked)
    return locked
