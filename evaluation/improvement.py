"""Improvement actions (DB1403/T 8.3: 根据服务评价结果，做好持续改进工作).

An action has an owner, a due date and a state (open → in progress → done, or cancelled), and
is linked to what caused it: bad reviews, complaints, inspection findings, a self-evaluation —
all of the action's hall. An action still open or in progress after its due date (Asia/Shanghai)
is overdue; the daily sweep alerts its owner and the hall's supervisors, once per action.

Supervisors and administrators set actions for any window of their hall; a window head for the
window they head. The owner starts and completes their action; completing needs the outcome;
cancelling needs a reason and is for those who set actions.
"""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from duty.calendar import local
from duty.models import Hall, Window
from duty.roles import Role, user_has_role
from duty.scoping import user_hall_id, user_sees_all_halls
from yuyue.checks import field_error as _error
from yuyue.checks import text_clean as _text
from yuyue.transitions import Transition, TransitionTable

from .models import ImprovementAction

S = ImprovementAction.State
OPEN_STATES = (S.OPEN, S.IN_PROGRESS)
TITLE_MAX = 200
TEXT_MAX = 5000


def user_sets_actions(user, *, hall_id: int, window: Window | None) -> bool:
    """DB1403/T 8.3: supervisors and administrators set actions for their hall (a city hall
    supervisor for any hall); a window head for the window they head."""
    if user is None or not user.is_active:
        return False
    if not user.has_perm("evaluation.add_improvementaction"):
        return False
    if user.is_superuser or user_sees_all_halls(user):
        return True
    if user_hall_id(user) != hall_id:
        return False
    if user_has_role(user, Role.SUPERVISOR) or user_has_role(user, Role.ADMINISTRATOR):
        return True
    return window is not None and window.head_id == user.pk


def user_manages_action(user, action: ImprovementAction) -> bool:
    """Who may change an action: those who may set it (cancel, and anything the owner may)."""
    return bool(
        user is not None
        and user.has_perm("evaluation.change_improvementaction")
        and user_sets_actions(user, hall_id=action.hall_id, window=action.window)
    )


def _same_hall(objects, hall_id: int, field: str, hall_of) -> list:
    objects = list(objects or ())
    for obj in objects:
        if hall_of(obj) != hall_id:
            raise _error(
                field,
                _("%(item)s belongs to another hall.") % {"item": obj},
                "other_hall",
            )
    return objects


def improvement_action_clean(
    *,
    hall: Hall,
    window: Window | None,
    title: str,
    description: str = "",
    owner,
    due,
    actor,
    now: dt.datetime,
    bad_reviews=(),
    complaints=(),
    findings=(),
    self_evaluation=None,
) -> dict:
    """DB1403/T 8.3: what a new action needs (also the console's add form): a title, an owner
    who is active staff of ``hall``, a due date not in the past, links of ``hall`` only."""
    if not user_sets_actions(actor, hall_id=hall.pk, window=window):
        raise PermissionDenied(_("You are not allowed to set improvement actions here."))
    if window is not None and window.hall_id != hall.pk:
        raise _error("window", _("The window belongs to another hall."), "other_hall")
    title = _text(title, "title", required=True, limit=TITLE_MAX)
    description = _text(description, "description", required=False, limit=TEXT_MAX)
    if owner is None:
        raise _error("owner", _("Name who is responsible for the action."), "required")
    profile = getattr(owner, "staff_profile", None)
    if not owner.is_active or profile is None or profile.hall_id != hall.pk:
        raise _error("owner", _("The owner must be active staff of this hall."), "other_hall")
    if not isinstance(due, dt.date) or isinstance(due, dt.datetime):
        raise _error("due", _("Enter a date."), "required")
    today = local(now).date()
    if due < today:
        raise _error(
            "due",
            _("The due date cannot be in the past (today is %(today)s).")
            % {"today": today.isoformat()},
            "past",
        )
    cleaned = {
        "hall": hall,
        "window": window,
        "title": title,
        "description": description,
        "owner": owner,
        "due": due,
        "bad_reviews": _same_hall(bad_reviews, hall.pk, "bad_reviews", lambda c: c.rating.hall_id),
        "complaints": _same_hall(complaints, hall.pk, "complaints", lambda c: c.hall_id),
        "findings": _same_hall(
            findings, hall.pk, "findings", lambda f: f.inspection.window.hall_id
        ),
        "self_evaluation": self_evaluation,
    }
    if self_evaluation is not None:
        _same_hall([self_evaluation], hall.pk, "self_evaluation", lambda e: e.window.hall_id)
    return cleaned


def improvement_action_create(
    *,
    hall: Hall,
    window: Window | None,
    title: str,
    description: str = "",
    owner,
    due: dt.date,
    actor,
    now: dt.datetime,
    bad_reviews=(),
    complaints=(),
    findings=(),
    self_evaluation=None,
) -> ImprovementAction:
    """DB1403/T 8.3: set an improvement action with an owner and a due date, linked to the bad
    reviews, complaints, inspection findings or self-evaluation that caused it (all of ``hall``).
    The due date may be today, not earlier."""
    cleaned = improvement_action_clean(
        hall=hall,
        window=window,
        title=title,
        description=description,
        owner=owner,
        due=due,
        actor=actor,
        now=now,
        bad_reviews=bad_reviews,
        complaints=complaints,
        findings=findings,
        self_evaluation=self_evaluation,
    )
    links = {key: cleaned.pop(key) for key in ("bad_reviews", "complaints", "findings")}
    with transaction.atomic():
        action = ImprovementAction.objects.create(created_by=actor, created_at=now, **cleaned)
        action.bad_reviews.set(links["bad_reviews"])
        action.complaints.set(links["complaints"])
        action.findings.set(links["findings"])
    return action


def _state_refusal(action: ImprovementAction, transition: Transition) -> ValidationError:
    """Why ACTION_STEPS refuses a step in the action's state (at the end of this module)."""
    return _error(
        "state",
        _("The action is %(state)s: it cannot be %(move)s.")
        % {"state": action.get_state_display(), "move": transition.refused},
        "state",
    )


def _lock(action: ImprovementAction, step: str) -> ImprovementAction:
    # Race: the owner completes while a supervisor cancels; the second waits for the first and
    # then finds the action no longer open.
    action = ImprovementAction.objects.select_for_update().get(pk=action.pk)
    ACTION_STEPS.check(step, action)
    return action


def user_owns_or_manages(user, action: ImprovementAction) -> bool:
    """DB1403/T 8.3: the owner works on their action; those who set actions may too."""
    if user is not None and user.is_active and user.pk == action.owner_id:
        return True
    return user_manages_action(user, action)


def _require_owner_or_manager(actor, action: ImprovementAction) -> None:
    if not user_owns_or_manages(actor, action):
        raise PermissionDenied(_("Only the action's owner or who set it may do this."))


def improvement_action_start(
    *, action: ImprovementAction, actor, now: dt.datetime
) -> ImprovementAction:
    """DB1403/T 8.3: the owner starts work on the action."""
    _require_owner_or_manager(actor, action)
    with transaction.atomic():
        action = _lock(action, "start")
        action.state = S.IN_PROGRESS
        action.save(update_fields=["state"])
    return action


def improvement_action_complete(
    *, action: ImprovementAction, outcome: str, actor, now: dt.datetime
) -> ImprovementAction:
    """DB1403/T 8.3: the action is done; what was done and what it changed is recorded."""
    _require_owner_or_manager(actor, action)
    outcome = _text(outcome, "outcome", required=True, limit=TEXT_MAX)
    with transaction.atomic():
        action = _lock(action, "complete")
        action.state, action.outcome, action.completed_at = S.DONE, outcome, now
        action.save(update_fields=["state", "outcome", "completed_at"])
    return action


def improvement_action_cancel(
    *, action: ImprovementAction, reason: str, actor, now: dt.datetime
) -> ImprovementAction:
    """DB1403/T 8.3: an action no longer needed is cancelled with the reason, never deleted;
    only those who set actions may cancel one."""
    if not user_manages_action(actor, action):
        raise PermissionDenied(_("Only who sets improvement actions may cancel one."))
    reason = _text(reason, "outcome", required=True, limit=TEXT_MAX)
    with transaction.atomic():
        action = _lock(action, "cancel")
        action.state = S.CANCELLED
        action.outcome = _("Cancelled: %(reason)s") % {"reason": reason}
        action.save(update_fields=["state", "outcome"])
    return action


def improvement_actions_overdue(now: dt.datetime):
    """DB1403/T 8.3: actions open or in progress whose due date (Asia/Shanghai) has passed:
    due yesterday is overdue today; due today is not yet."""
    return ImprovementAction.objects.filter(state__in=OPEN_STATES, due__lt=local(now).date())


def is_overdue(action: ImprovementAction, *, now: dt.datetime) -> bool:
    return action.state in OPEN_STATES and action.due < local(now).date()


# --- the state machine ------------------------------------------------------------------------
# The steps above check the action's state through this table; the console's buttons
# (evaluation.admin_improvement) are the steps it permits, to whom ``actor_may`` allows.

FORMS = "evaluation.admin_improvement."

ACTION_STEPS = TransitionTable(
    Transition(
        "start",
        gettext_lazy("Start work"),
        "evaluation.improvement.improvement_action_start",
        (S.OPEN,),
        refused=gettext_lazy("started"),
        actor_may=user_owns_or_manages,
        clause="8.3",
    ),
    Transition(
        "complete",
        gettext_lazy("Mark done"),
        "evaluation.improvement.improvement_action_complete",
        OPEN_STATES,
        form=FORMS + "CompleteForm",
        refused=gettext_lazy("completed"),
        actor_may=user_owns_or_manages,
        clause="8.3",
        error_fields=(("outcome", "text"),),
    ),
    Transition(
        "cancel",
        gettext_lazy("Cancel the action"),
        "evaluation.improvement.improvement_action_cancel",
        OPEN_STATES,
        form=FORMS + "CancelForm",
        refused=gettext_lazy("cancelled"),
        actor_may=user_manages_action,
        clause="8.3",
        error_fields=(("outcome", "text"),),
    ),
    state="state",
    subject="action",
    refusal=_state_refusal,
)
