"""Staff sign-in pages: the lockout page, the second step, setting it up and one's own settings;
the middleware that keeps the console closed until the second step is taken, and the one that
refuses sign-ins from an address with too many failed ones."""

import logging
from base64 import b32encode
from urllib.parse import urlencode

import django_otp
import segno
from axes.helpers import get_client_username
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yuyue.ratelimit import client_address

from .signin import (
    backup_codes_issue,
    backup_codes_left,
    signin_failures_exhausted,
    two_step_confirm,
    two_step_enabled,
    two_step_required,
    two_step_setup_device,
    two_step_turn_off,
    two_step_verify,
)

log = logging.getLogger("duty.signin")


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' answer to a locked login (AXES_LOCKOUT_CALLABLE): the login page again,
    saying why in the user's language, with 429 Too Many Requests."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return _login_refused(
        request,
        _(
            "Too many wrong passwords: the login “%(login)s” is locked at this address. Try "
            "again %(minutes)s minutes after the last try, or ask an administrator to unlock it."
        )
        % {"login": get_client_username(request, credentials) or "", "minutes": minutes},
    )


def _login_refused(request, message: str):
    """The login page again with ``message``, answered 429 Too Many Requests."""
    context = {
        **admin.site.each_context(request),
        "title": _("Log in"),
        "app_path": request.get_full_path(),
        "form": AdminAuthenticationForm(request),
        "next": request.POST.get("next", ""),
        "lockout_message": message,
    }
    return render(request, "admin/signin/locked_out.html", context, status=429)


class SignInFailuresMiddleware:
    """Refuses password sign-ins from a client address that has used up its failed sign-ins
    (RATE_LIMIT_STAFF_SIGNIN_FAILURES, counted by ``duty.signin``), before any password is
    compared. Right after AuthenticationMiddleware; the citizen site is not touched."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method != "POST" or request.resolver_match.view_name != "admin:login":
            return None
        address = client_address(request)
        if not signin_failures_exhausted(address=address, now=timezone.now()):
            return None
        log.warning("Sign-in refused: too many failed sign-ins from address %s", address)
        minutes = settings.RATE_LIMIT_STAFF_SIGNIN_FAILURES[1] // 60
        return _login_refused(
            request,
            _(
                "Too many failed sign-ins from this address: try again in %(minutes)s minutes, "
                "or ask an administrator."
            )
            % {"minutes": minutes},
        )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "size": 12}
        ),
    )


def _next_url(request) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return reverse("admin:index")


def _page(request, template: str, title: str, **context):
    context = {**admin.site.each_context(request), "title": title, **context}
    return render(request, f"admin/signin/{template}", context)


def _checked(request, form: CodeForm, service, **kwargs):
    """Run ``service`` with the form's code; its error goes beside the field."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        return service(user=request.user, code=form.cleaned_data["code"], **kwargs)
    except ValidationError as error:
        for message in error.message_dict.get("code", error.messages):
            form.add_error("code", message)
        return None


def _signed_in_with(request, device) -> None:
    # A new session key for the raised privilege, then the device recorded in the session.
    request.session.cycle_key()
    django_otp.login(request, device)


def verify_view(request):
    """The second step after the password: a code of the authenticator, or a backup code."""
    next_url = _next_url(request)
    if not two_step_enabled(request.user) or request.user.is_verified():
        return redirect(next_url)
    form = CodeForm(request.POST or None)
    device = _checked(request, form, two_step_verify)
    if device is not None:
        _signed_in_with(request, device)
        return redirect(next_url)
    return _page(request, "verify.html", _("Two-step verification"), form=form, next=next_url)


def setup_view(request):
    """Set up an authenticator: scan the QR code (or type the key), enter a code to confirm,
    then keep the backup codes, shown once."""
    user, next_url = request.user, _next_url(request)
    if two_step_enabled(user):
        return redirect("two_step:verify" if not user.is_verified() else "two_step:manage")
    device = two_step_setup_device(user)
    form = CodeForm(request.POST or None)
    confirmed = _checked(request, form, two_step_confirm)
    if confirmed is not None:
        device, codes = confirmed
        _signed_in_with(request, device)
        return _page(request, "backup_codes.html", _("Backup codes"), codes=codes, next=next_url)
    key = b32encode(device.bin_key).decode()
    return _page(
        request,
        "setup.html",
        _("Set up two-step verification"),
        form=form,
        next=next_url,
        required=two_step_required(user),
        qr_svg=segno.make(device.config_url, error="m").svg_inline(
            omitsize=True, title=_("QR code for the authenticator app")
        ),
        key=" ".join(key[i : i + 4] for i in range(0, len(key), 4)),
    )


def manage_view(request):
    """One's own two-step verification: whether it is on, new backup codes, turning it off
    (only when the role does not require it). A console page: reached after the second step."""
    user = request.user
    enabled = two_step_enabled(user)
    if request.method == "POST" and "backup_codes" in request.POST and enabled:
        codes = backup_codes_issue(user=user)
        return _page(
            request, "backup_codes.html", _("Backup codes"), codes=codes, next=request.path
        )
    if request.method == "POST" and "turn_off" in request.POST:
        try:
            two_step_turn_off(user=user)
        except PermissionDenied as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Two-step verification is turned off."))
        return redirect("two_step:manage")
    return _page(
        request,
        "manage.html",
        _("Two-step verification"),
        enabled=enabled,
        required=two_step_required(user),
        codes_left=backup_codes_left(user) if enabled else 0,
    )


app_name = "two_step"
urlpatterns = [
    path("", admin.site.admin_view(manage_view), name="manage"),
    path("verify/", admin.site.admin_view(verify_view), name="verify"),
    path("setup/", admin.site.admin_view(setup_view), name="setup"),
]

# Pages a signed-in user reaches before the second step.
BEFORE_SECOND_STEP = {"admin:login", "admin:logout", "two_step:verify", "two_step:setup"}


class TwoStepMiddleware:
    """After the password, a console page (anything under /admin/, the dashboard included) is
    served only once the session took the second step — for those who set up an authenticator,
    and for those whose role requires it (sent to set one up first). The citizen site and the
    API are not touched."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return None
        if request.resolver_match.view_name in BEFORE_SECOND_STEP:
            return None
        if not request.path_info.startswith(reverse("admin:index")) or user.is_verified():
            return None
        if two_step_enabled(user):
            step = "two_step:verify"
        elif two_step_required(user):
            step = "two_step:setup"
        else:
            return None
        return redirect(f"{reverse(step)}?{urlencode({'next': request.get_full_path()})}")
