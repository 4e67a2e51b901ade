"""Staff roles. Each role is a Django group created by a migration (appointments 0002)."""

from django.contrib.auth import get_user_model
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    DESK = "desk", _("consultation desk")
    WINDOW_STAFF = "window_staff", _("window staff")
    WINDOW_HEAD = "window_head", _("window head")
    AGENCY_APPROVER = "agency_approver", _("agency approver")
    SUPERVISOR = "supervisor", _("supervisor")
    ADMINISTRATOR = "administrator", _("administrator")


def user_has_role(user, role: Role) -> bool:
    return user.groups.filter(name=role.value).exists()


def staff_with_role(role: Role, hall_ids):
    """Active staff of ``hall_ids`` who hold ``role``, with their profiles: whom a sweep alerts."""
    return (
        get_user_model()
        .objects.filter(
            is_active=True, groups__name=role.value, staff_profile__hall_id__in=set(hall_ids)
        )
        .select_related("staff_profile")
        .distinct()
    )


def supervisors_by_hall(hall_ids) -> dict[int, list[int]]:
    """hall id → ids of its supervisors (DB1403/T 6.2.1, 7.3: they hear of what is late)."""
    result: dict[int, list[int]] = {}
    for user in staff_with_role(Role.SUPERVISOR, hall_ids):
        result.setdefault(user.staff_profile.hall_id, []).append(user.pk)
    return result
