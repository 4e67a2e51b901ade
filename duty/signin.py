"""Staff sign-in: who must take the second step, their devices, and the security log.

Guessing passwords is stopped by django-axes (settings: AXES_*): a login is locked at one client
address after AXES_FAILURE_LIMIT wrong passwords. A stolen password alone is not enough for
those who see identities in full: with STAFF_2FA_REQUIRED, superusers, administrators and
supervisors also enter a code from an authenticator app (TOTP) or a single-use backup code
(django-otp). Anyone else may choose to. The pages are in ``signin_views``; unlocking a login and
resetting a colleague's device are console actions (``admin``). Every lockout, unlock, reset and
turning off is logged here at WARNING.
"""

import logging
import math

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django_otp import verify_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from yuyue.checks import field_error
from yuyue.ratelimit import client_address, rate_limit_allows, rate_limit_reached

from .roles import Role
from .scoping import scope_to_user

log = logging.getLogger(__name__)

# Those who see applicants' and complainants' identities in full (besides superusers).
TWO_STEP_ROLES = (Role.ADMINISTRATOR, Role.SUPERVISOR)
BACKUP_CODE_COUNT = 10
TOTP_DIGITS = 6


def two_step_required(user) -> bool:
    """Must ``user`` take the second step? By role, never a flag anyone can switch off for
    themselves: superusers, administrators and supervisors, while STAFF_2FA_REQUIRED is on."""
    if not settings.STAFF_2FA_REQUIRED or not user.is_authenticated:
        return False
    roles = [role.value for role in TWO_STEP_ROLES]
    return user.is_superuser or user.groups.filter(name__in=roles).exists()


def two_step_enabled(user) -> bool:
    """Has ``user`` a confirmed authenticator? Then every sign-in asks for a code."""
    return user.is_authenticated and TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def two_step_setup_device(user) -> TOTPDevice:
    """The authenticator being set up: made once and kept unconfirmed until a code from it is
    entered, so the QR code stays the same when the page is reloaded."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


def two_step_confirm(*, user, code: str) -> tuple[TOTPDevice, list[str]]:
    """Confirm the authenticator being set up with a code it shows; returns it and a new set of
    backup codes (shown once). Raises ValidationError on ``code``."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None or two_step_enabled(user):
        raise field_error("code", _("Two-step verification is already set up."), "done")
    _code_check(device, code)
    with transaction.atomic():
        if not TOTPDevice.objects.filter(pk=device.pk, confirmed=False).update(confirmed=True):
            raise field_error("code", _("Two-step verification is already set up."), "done")
        codes = backup_codes_issue(user=user)
    device.refresh_from_db()
    log.warning("Two-step verification set up by %s", user.get_username())
    return device, codes


def backup_codes_issue(*, user) -> list[str]:
    """A new set of single-use backup codes for ``user``; the previous set stops working."""
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name="backup", defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _n in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def backup_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def two_step_verify(*, user, code: str):
    """The second step: a code of ``user``'s authenticator (6 digits, each accepted once) or one
    of their backup codes (each accepted once). Returns the device that accepted it; raises
    ValidationError on ``code``. Wrong codes slow further tries (django-otp's throttling)."""
    code = "".join(code.split()).lower()
    model = TOTPDevice if len(code) == TOTP_DIGITS and code.isdigit() else StaticDevice
    device = model.objects.filter(user=user, confirmed=True).first()
    if device is None:
        raise field_error("code", _("This code is not right, or it was already used."), "invalid")
    _code_check(device, code)
    return device


def _code_check(device, code: str) -> None:
    """Raise ValidationError unless ``device`` accepts ``code`` now (outside a transaction, so
    that a wrong code's throttling is kept)."""
    allowed, details = device.verify_is_allowed()
    if not allowed:
        until = (details or {}).get("locked_until")
        wait = max(1, math.ceil((until - timezone.now()).total_seconds())) if until else 1
        raise field_error(
            "code",
            _(
                "A wrong code was entered: wait %(seconds)s seconds before the next try "
                "(each wrong code makes the wait longer)."
            )
            % {"seconds": wait},
            "throttled",
        )
    if verify_token(device.user, device.persistent_id, code) is None:
        raise field_error("code", _("This code is not right, or it was already used."), "invalid")


def _devices_delete(user) -> int:
    totp, _kinds = TOTPDevice.objects.filter(user=user).delete()
    static, _kinds = StaticDevice.objects.filter(user=user).delete()
    return totp + static


def two_step_turn_off(*, user) -> None:
    """Someone not required to take the second step removes their authenticator and codes."""
    if two_step_required(user):
        raise PermissionDenied(
            _(
                "Your role requires two-step verification: it cannot be turned off. If you "
                "lost your phone, an administrator can reset it."
            )
        )
    _devices_delete(user)
    log.warning("Two-step verification turned off by %s", user.get_username())


def two_step_may_reset(actor) -> bool:
    """Superusers and administrators (who manage their hall's staff) reset colleagues' devices."""
    if not actor.is_active:
        return False
    if actor.is_superuser:
        return True
    return (
        actor.has_perm("auth.change_user")
        and actor.groups.filter(name=Role.ADMINISTRATOR.value).exists()
    )


def two_step_reset(*, user, actor) -> None:
    """An administrator removes a colleague's authenticator and backup codes (a lost or
    replaced phone): the colleague sets up a new one at their next sign-in. Never one's own —
    that would let a stolen session drop the second step — and only of staff ``actor``
    manages (their hall; superusers only by superusers)."""
    if not two_step_may_reset(actor):
        raise PermissionDenied(_("You are not allowed to do this."))
    if user.pk == actor.pk:
        raise PermissionDenied(
            _("Nobody resets their own two-step verification: ask another administrator.")
        )
    if not staff_managed_by(actor).filter(pk=user.pk).exists():
        raise PermissionDenied(_("You are not allowed to do this."))
    removed = _devices_delete(user)
    log.warning(
        "Two-step verification of %s reset by %s (%d devices removed)",
        user.get_username(),
        actor.get_username(),
        removed,
    )


def staff_managed_by(actor):
    """The users ``actor`` sees in the console's user list: their hall's, superusers only to
    superusers (as ``ScopedUserAdmin``)."""
    users = scope_to_user(get_user_model().objects.all(), actor)
    return users if actor.is_superuser else users.filter(is_superuser=False)


def lockout_active(attempt, *, now) -> bool:
    """Is this login locked at this address now? django-axes' rule: AXES_FAILURE_LIMIT wrong
    passwords, the last less than AXES_COOLOFF_TIME ago."""
    recent = attempt.attempt_time > now - settings.AXES_COOLOFF_TIME
    return recent and attempt.failures_since_start >= settings.AXES_FAILURE_LIMIT


def lockouts_release(*, attempts, actor) -> int:
    """An administrator unlocks logins: their failure counts go (the failures stay in the log)."""
    released = 0
    for attempt in attempts:
        log.warning(
            "Sign-in lock of login %r at address %s released by %s",
            attempt.username,
            attempt.ip_address,
            actor.get_username(),
        )
        attempt.delete()
        released += 1
    return released


@receiver(user_locked_out)
def lockout_log(sender, request, username, ip_address, **kwargs):
    """Every refused sign-in of a locked login, with the login and the address (django-axes'
    own log lines hide both)."""
    log.warning(
        "Sign-in locked out: login %r at address %s after %s failed sign-ins",
        username,
        ip_address,
        getattr(request, "axes_failures_since_start", None),
    )


# Failed staff sign-ins per client address, whatever the login (RATE_LIMIT_STAFF_SIGNIN_FAILURES).
SIGNIN_FAILURES_SCOPE = "staff_signin_failures"


def signin_failures_exhausted(*, address: str, now) -> bool:
    """Password spraying: has ``address`` used up its failed sign-ins for now? django-axes locks
    one login at one address after AXES_FAILURE_LIMIT wrong passwords; a guesser who tries a
    few passwords at each of many logins stays under that, and is stopped here instead."""
    return rate_limit_reached(
        scope=SIGNIN_FAILURES_SCOPE,
        key=address,
        limit=settings.RATE_LIMIT_STAFF_SIGNIN_FAILURES,
        now=now,
    )


def signin_failure_record(*, address: str, now) -> None:
    rate_limit_allows(
        scope=SIGNIN_FAILURES_SCOPE,
        key=address,
        limit=settings.RATE_LIMIT_STAFF_SIGNIN_FAILURES,
        now=now,
    )


@receiver(user_login_failed)
def signin_failure_counted(sender, credentials, request=None, **kwargs):
    """Every failed password sign-in counts against its client address."""
    if request is not None:
        signin_failure_record(address=client_address(request), now=timezone.now())


# django-axes has no Chinese catalogue: the names its records show in the console are listed
# here so `make messages` keeps their translations in ours (gettext looks in every catalogue).
AXES_NAMES = [
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("Username"),
    gettext_noop("IP Address"),
    gettext_noop("User Agent"),
    gettext_noop("Path"),
    gettext_noop("Attempt Time"),
    gettext_noop("Failed Logins"),
    gettext_noop("Logout Time"),
    gettext_noop("Access lock out"),
]
