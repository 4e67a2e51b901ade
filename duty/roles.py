"""Staff roles. Each role is a Django group created by a migration (appointments 0002)."""

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
