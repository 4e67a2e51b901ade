"""What the three 好差评 state machines share (DB1403/T 8.2; 国办发〔2019〕51号): the rating's
level fields and text limit, who serves a window or sees a hall, and how a bad-review case moves
from state to state with its recorded step (rating opens a case, an upheld appeal closes it)."""

import logging

from duty.roles import Role, user_has_role
from duty.scoping import user_hall_id, user_sees_all_halls

from ..models import BadReviewCase, BadReviewStep

# One logger for the package, named as the module was before it was split.
logger = logging.getLogger(__package__)

LEVEL_FIELDS = ("overall", "efficiency", "service_level", "attitude")
TEXT_MAX = 2000
CaseState = BadReviewCase.State
# Where the console forms of the step tables (CASE_STEPS, APPEAL_STEPS) are.
FORMS = "evaluation.admin."


def _serves_window(user, window) -> bool:
    """The window's head, its own staff, or the hall's administrator (谁办理、谁负责)."""
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    if user_hall_id(user) != window.hall_id:
        return False
    profile = getattr(user, "staff_profile", None)
    return (
        window.head_id == user.pk
        or getattr(profile, "window_id", None) == window.pk
        or user_has_role(user, Role.ADMINISTRATOR)
    )


def _in_hall_or_city(user, hall_id: int) -> bool:
    return user_sees_all_halls(user) or user_hall_id(user) == hall_id


def _step(case, from_state, to_state, *, actor, now, note="") -> BadReviewStep:
    return BadReviewStep.objects.create(
        case=case, at=now, actor=actor, from_state=from_state, to_state=to_state, note=note
    )


def _case_move(case, to_state, *, actor, now, note="", **fields) -> BadReviewCase:
    from_state = case.state
    case.state = to_state
    for name, value in fields.items():
        setattr(case, name, value)
    case.save()
    _step(case, from_state, to_state, actor=actor, now=now, note=note)
    logger.info("Bad review %s: %s → %s by %s", case.pk, from_state, to_state, actor)
    return case
