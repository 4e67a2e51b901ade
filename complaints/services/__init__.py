"""The handling of a complaint, step by step (GB/T 36113; DB1403/T 7.3).

registered → accepted | not accepted (with a reason) → settled on the spot | referred →
investigated → decided → replied → followed up → archived. Every step takes ``now``, checks the
state, locks the complaint's row, and records a ``ComplaintStep`` with who and when. Errors are
``ValidationError`` keyed by field; nothing is half-saved.

The package, by sub-area: ``registering`` (by staff and online), ``handling`` (the steps),
``deadlines``, ``confidentiality``, ``attachments`` (investigation documents), ``figures``
(DB1403/T 7.4), and ``steps``, the transition table COMPLAINT_STEPS that the steps check the
state through (``steps._lock``; the table names the services by dotted path, so it imports none).
What several share is in ``_common``. The public names are imported here: callers import from
``complaints.services``; the submodules import from each other, never from this package.
"""

from ._common import ATTACHABLE, ATTACHMENT_NAME_MAX, NOTE_MAX, TEXT_MAX
from .attachments import (
    attachment_clean,
    attachment_may_see,
    complaint_attachment_add,
)
from .confidentiality import complainant_shown, mask_name, mask_phone, user_sees_identity
from .deadlines import (
    accept_due_date,
    complaint_running_deadline,
    complaints_overdue,
    overdue_condition,
    reply_due_date,
)
from .figures import complaint_figures, substantiated_complaints
from .handling import (
    complaint_accept,
    complaint_archive,
    complaint_decide,
    complaint_follow_up,
    complaint_investigate,
    complaint_refer,
    complaint_refuse,
    complaint_reply,
    complaint_settle_on_spot,
)
from .registering import (
    complainant_text,
    complaint_register,
    complaint_register_clean,
    complaint_submit_online,
)
from .steps import COMPLAINT_STEPS, HANDLE

__all__ = [
    "NOTE_MAX",
    "TEXT_MAX",
    "accept_due_date",
    "complaint_running_deadline",
    "complaints_overdue",
    "overdue_condition",
    "reply_due_date",
    "complainant_text",
    "complaint_register",
    "complaint_register_clean",
    "complaint_submit_online",
    "complaint_accept",
    "complaint_archive",
    "complaint_decide",
    "complaint_follow_up",
    "complaint_investigate",
    "complaint_refer",
    "complaint_refuse",
    "complaint_reply",
    "complaint_settle_on_spot",
    "complainant_shown",
    "mask_name",
    "mask_phone",
    "user_sees_identity",
    "ATTACHABLE",
    "ATTACHMENT_NAME_MAX",
    "attachment_clean",
    "attachment_may_see",
    "complaint_attachment_add",
    "complaint_figures",
    "substantiated_complaints",
    "COMPLAINT_STEPS",
    "HANDLE",
]
