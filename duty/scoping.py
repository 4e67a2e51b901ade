"""Hall scoping, written once: staff see and change only their own hall's data.

Every model that belongs to a hall names the lookup from itself to its hall in a class attribute
``hall_lookup``; ``scope_to_user`` filters any such queryset for a user. Views, the admin, exports
and autocompletes all go through it. A city hall's supervisors (and superusers) see every hall.
"""

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from .models import Hall
from .roles import Role, user_has_role

# Models we do not own name their hall lookup here.
EXTERNAL_HALL_LOOKUPS = {"auth.user": "staff_profile__hall"}


def user_hall_id(user) -> int | None:
    profile = getattr(user, "staff_profile", None) if user.is_authenticated else None
    return profile.hall_id if profile is not None else None


def _city_hall_role(user, role: Role) -> bool:
    """A superuser, or a member of the city hall holding ``role``."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    profile = getattr(user, "staff_profile", None)
    return bool(profile is not None and profile.hall.is_city_hall and user_has_role(user, role))


def user_sees_all_halls(user) -> bool:
    """The city hall's supervisors (and superusers) see every hall."""
    return _city_hall_role(user, Role.SUPERVISOR)


def user_keeps_shared_data(user) -> bool:
    """The city hall's administrators (and superusers) keep what all halls share: holidays."""
    return _city_hall_role(user, Role.ADMINISTRATOR)


def visible_halls(user) -> QuerySet[Hall]:
    if user_sees_all_halls(user):
        return Hall.objects.all()
    hall_id = user_hall_id(user)
    if hall_id is None:
        return Hall.objects.none()
    return Hall.objects.filter(pk=hall_id)


def hall_lookup_for(model) -> str | None:
    if model is Hall:
        return "pk"
    lookup = getattr(model, "hall_lookup", None)
    if lookup is None and model is get_user_model():
        lookup = EXTERNAL_HALL_LOOKUPS.get(model._meta.label_lower)
    return lookup


def scope_to_user(queryset: QuerySet, user) -> QuerySet:
    """Restrict a queryset of a hall-bound model to the halls ``user`` may see."""
    lookup = hall_lookup_for(queryset.model)
    if lookup is None:
        raise TypeError(f"{queryset.model.__name__} does not declare hall_lookup")
    if user_sees_all_halls(user):
        return queryset
    hall_id = user_hall_id(user)
    if hall_id is None:
        return queryset.none()
    return queryset.filter(**{lookup: hall_id})
