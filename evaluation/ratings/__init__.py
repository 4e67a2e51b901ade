"""好差评: rating a served booking, handling a bad review, and appealing a rating.

DB1403/T 8.1–8.2 and 国办发〔2019〕51号 (with GB/T 39734/39735 as practised):

- 一次一评: a served booking is rated once, by the applicant, through a signed link (SMS or the QR
  code at the window) or "My booking"; staff only type in a paper form, recorded as such.
- Rating is voluntary: there is no default level, and an unrated booking stays unrated.
- A bad review (不满意, 非常不满意) opens a case: contact and verify within
  BAD_REVIEW_CONTACT_WORKING_DAYS, rectify within BAD_REVIEW_RECTIFY_WORKING_DAYS (working days,
  holiday calendar), reply to the rater, close; a substantiated one can become a complaint.
- 申诉复核: the window appeals a mistaken or malicious rating; a supervisor other than the
  appellant decides; an upheld appeal marks the rating (excluded), it is never deleted.

Every function is keyword-only, takes ``now`` and refuses bad input with a ``ValidationError``
keyed by the field concerned (or ``PermissionDenied``), leaving nothing half-saved.

One module per state machine (callers import the public names from here):

- ``rate``: the signed link, the SMS invitation, the rating (opening a case for a bad one);
- ``bad_reviews``: the bad-review case, its steps and CASE_STEPS;
- ``appeals``: the appeal, its review and APPEAL_STEPS;
- ``_common``: the level fields, who serves a window, a case's move from state to state.
"""

from ._common import FORMS, LEVEL_FIELDS, TEXT_MAX, CaseState
from .appeals import APPEAL_STEPS, not_the_appellant, rating_appeal_file, rating_appeal_review
from .bad_reviews import (
    CASE_STEPS,
    HANDLE_CASE,
    bad_review_close,
    bad_review_contact,
    bad_review_late_steps,
    bad_review_rectify,
    bad_review_reply,
    bad_review_to_complaint,
    bad_reviews_overdue,
    may_become_complaint,
    rater_shown,
    reply_due,
    review_verified,
)
from .rate import (
    CITIZEN_SOURCES,
    COMMENT_MAX,
    LINK_SALT,
    LINK_SOURCES,
    bad_review_due_dates,
    rating_invitation_send,
    rating_link_make,
    rating_link_source,
    rating_link_url,
    rating_may_be_given,
    rating_open_until,
    rating_submit,
    rating_token_check,
)

__all__ = [
    "APPEAL_STEPS",
    "CASE_STEPS",
    "CITIZEN_SOURCES",
    "COMMENT_MAX",
    "FORMS",
    "HANDLE_CASE",
    "LEVEL_FIELDS",
    "LINK_SALT",
    "LINK_SOURCES",
    "TEXT_MAX",
    "CaseState",
    "bad_review_close",
    "bad_review_contact",
    "bad_review_due_dates",
    "bad_review_late_steps",
    "bad_review_rectify",
    "bad_review_reply",
    "bad_review_to_complaint",
    "bad_reviews_overdue",
    "may_become_complaint",
    "not_the_appellant",
    "rater_shown",
    "rating_appeal_file",
    "rating_appeal_review",
    "rating_invitation_send",
    "rating_link_make",
    "rating_link_source",
    "rating_link_url",
    "rating_may_be_given",
    "rating_open_until",
    "rating_submit",
    "rating_token_check",
    "reply_due",
    "review_verified",
]
