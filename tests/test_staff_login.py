"""Staff sign-in against password guessing and stolen passwords: a login is locked at one client
address after AXES_FAILURE_LIMIT wrong passwords (django-axes), and those who see identities in
full take a second step with an authenticator app or a backup code (django-otp). Everything goes
through the real login form."""

import datetime as dt
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import time_machine
from axes.models import AccessAttempt, AccessFailureLog
from django.contrib.admin.models import LogEntry
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from duty.signin import backup_codes_issue, lockout_active

from .conftest import at

LOGIN = "/admin/login/"
SETUP = "/admin/two-step/setup/"
VERIFY = "/admin/two-step/verify/"
MANAGE = "/admin/two-step/"
HOME = "/admin/"
DESK_PC = "10.1.1.10"
OTHER_PC = "10.1.1.20"


def sign_in(client, username, password="pw", address=DESK_PC):
    """The admin login form, posted from ``address``."""
    return client.post(
        LOGIN, {"username": username, "password": password, "next": HOME}, REMOTE_ADDR=address
    )


def current_code(device) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():06d}"


def enrol(user):
    """``user`` with a confirmed authenticator and backup codes, as after setting them up."""
    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    return device, backup_codes_issue(user=user)


def sign_in_with_code(client, user, code):
    assert sign_in(client, user.username).status_code == 302
    return client.post(VERIFY, {"code": code, "next": HOME})


def lock(client, username, address=DESK_PC):
    responses = [sign_in(client, username, "wrong", address) for _ in range(_limit())]
    return responses[-1]


def _limit():
    from django.conf import settings

    return settings.AXES_FAILURE_LIMIT


@pytest.fixture
def frozen():
    with time_machine.travel(at(2026, 9, 16, 10, 0), tick=False) as traveller:
        yield traveller


@pytest.fixture
def administrator(make_user, hall):
    return make_user("admin", "administrator", hall)


@pytest.fixture
def required(settings):
    settings.STAFF_2FA_REQUIRED = True


# --- password guessing: lockout per login and address ------------------------------------------


def test_wrong_passwords_below_the_limit_then_the_right_one_signs_in(client, desk):
    for _ in range(_limit() - 1):
        response = sign_in(client, "desk", "wrong")
        assert response.status_code == 200
        assert not response.wsgi_request.user.is_authenticated
    assert sign_in(client, "desk").status_code == 302
    assert client.get(HOME).status_code == 200


def test_guessing_up_to_the_limit_locks_the_login_even_for_the_right_password(client, desk):
    assert lock(client, "desk").status_code == 429
    response = sign_in(client, "desk")
    assert response.status_code == 429
    text = response.content.decode()
    assert "密码错误次数过多" in text and "“desk”" in text and "30 分钟" in text
    assert 'id="login-form"' in text  # the login page, saying why
    assert client.get(HOME).status_code == 302  # not signed in


def test_a_lock_holds_one_login_at_one_address_only(client, desk, window_staff):
    lock(client, "desk", DESK_PC)
    assert sign_in(client, "desk", address=OTHER_PC).status_code == 302
    client.logout()
    assert sign_in(client, "window", address=DESK_PC).status_code == 302
    client.logout()
    assert sign_in(client, "desk", address=DESK_PC).status_code == 429


def test_a_lock_lifts_after_the_cool_off(client, desk, settings, frozen):
    lock(client, "desk")
    frozen.shift(settings.AXES_COOLOFF_TIME.total_seconds() - 60)
    assert sign_in(client, "desk").status_code == 429  # a try while locked restarts the wait
    frozen.shift(settings.AXES_COOLOFF_TIME.total_seconds() + 1)
    assert sign_in(client, "desk").status_code == 302


def test_the_console_shows_a_login_locked_at_the_limit_until_the_cool_off(settings):
    """lockout_active (the 已锁定 column): N-1 vs N failures; within the cool-off vs at its end."""
    now = at(2026, 9, 16, 10, 0)
    last_try = now - settings.AXES_COOLOFF_TIME + dt.timedelta(minutes=1)
    below = AccessAttempt(failures_since_start=_limit() - 1, attempt_time=last_try)
    at_limit = AccessAttempt(failures_since_start=_limit(), attempt_time=last_try)
    assert not lockout_active(below, now=now)
    assert lockout_active(at_limit, now=now)
    assert not lockout_active(at_limit, now=now + dt.timedelta(minutes=1))


def test_a_lockout_is_logged_with_login_and_address(client, desk, caplog):
    with caplog.at_level(logging.WARNING, logger="duty.signin"):
        lock(client, "desk")
        sign_in(client, "desk")
    lockouts = [r for r in caplog.records if r.name == "duty.signin" and "locked out" in r.msg]
    assert len(lockouts) == 2 and all(r.levelno == logging.WARNING for r in lockouts)
    assert "'desk'" in lockouts[0].getMessage() and DESK_PC in lockouts[0].getMessage()
    failures = AccessFailureLog.objects.filter(username="desk", ip_address=DESK_PC)
    assert failures.count() == _limit() + 1 and failures.filter(locked_out=True).count() == 2


def test_guessing_at_many_logins_from_one_address_is_stopped_at_its_limit(
    client, desk, window_staff, settings, frozen, caplog
):
    """Password spraying: a few wrong passwords at each of several logins stays under the
    per-login lockout, and the address's failed sign-ins stop it (N-1 allowed, N refused)."""
    settings.RATE_LIMIT_STAFF_SIGNIN_FAILURES = (6, 600)
    for username in ("desk", "window", "desk", "window", "desk"):
        assert sign_in(client, username, "wrong").status_code == 200  # 5 failures: under 6
    assert sign_in(client, "desk").status_code == 302  # the right password still signs in
    client.logout()
    assert sign_in(client, "window", "wrong").status_code == 200  # the 6th failure
    with caplog.at_level(logging.WARNING, logger="duty.signin"):
        refused = sign_in(client, "window")  # right password, but the address is used up
    assert refused.status_code == 429
    assert "此地址登录失败次数过多" in refused.content.decode()
    assert DESK_PC in caplog.text
    assert not AccessAttempt.objects.filter(failures_since_start__gte=_limit()).exists()
    assert sign_in(client, "window", address=OTHER_PC).status_code == 302  # elsewhere: fine
    client.logout()
    frozen.shift(600)  # the next window
    assert sign_in(client, "window").status_code == 302


def test_an_administrator_unlocks_a_login_in_the_console(
    client, desk, administrator, other_hall, make_user, caplog
):
    lock(client, "desk")
    admin_client = client.__class__()
    assert sign_in(admin_client, "admin", address=OTHER_PC).status_code == 302
    page = admin_client.get("/admin/axes/accessattempt/")
    assert page.status_code == 200
    assert "登录失败计数" in page.content.decode() and "desk" in page.content.decode()
    # Another hall's administrator does not see this hall's logins.
    other = client.__class__()
    other.force_login(make_user("admin2", "administrator", other_hall))
    assert "desk" not in other.get("/admin/axes/accessattempt/").content.decode()

    attempt = AccessAttempt.objects.get(username="desk")
    with caplog.at_level(logging.WARNING, logger="duty.signin"):
        response = admin_client.post(
            "/admin/axes/accessattempt/",
            {"action": "unlock", "_selected_action": [attempt.pk]},
            follow=True,
        )
    assert "已解除 1 个登录的锁定" in response.content.decode()
    assert not AccessAttempt.objects.exists()
    assert any("released by admin" in r.getMessage() for r in caplog.records)
    assert sign_in(client, "desk").status_code == 302
    # The failures stay on record, read-only.
    assert AccessFailureLog.objects.filter(username="desk").count() == _limit()
    assert admin_client.get("/admin/axes/accessfailurelog/").status_code == 200


# --- the second step ---------------------------------------------------------------------------


def test_a_supervisor_without_a_device_is_sent_to_set_one_up_and_reaches_no_console_page(
    client, supervisor, required
):
    assert sign_in(client, "supervisor").status_code == 302
    for page in [
        HOME,
        "/admin/appointments/appointment/",
        "/admin/complaints/complaint/",
        "/admin/dashboard/",
        MANAGE,
    ]:
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith(SETUP), page
    assert client.get("/en/admin/")["Location"].startswith("/en/admin/two-step/setup/")
    setup = client.get(SETUP)
    assert setup.status_code == 200
    text = setup.content.decode()
    assert "<svg" in text and 'id="two-step-key"' in text and "您的角色要求两步验证" in text
    # The citizen site and the API are not behind the second step; logging out works.
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.post("/admin/logout/").status_code == 200
    assert client.get(SETUP).status_code == 302


def test_setting_up_with_a_correct_code_opens_the_console_and_shows_backup_codes_once(
    client, supervisor, required, frozen
):
    sign_in(client, "supervisor")
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=supervisor, confirmed=False)
    assert TOTPDevice.objects.get(user=supervisor).config_url.startswith("otpauth://totp/")
    response = client.post(SETUP, {"code": current_code(device), "next": HOME})
    assert response.status_code == 200
    codes = list(
        StaticToken.objects.filter(device__user=supervisor).values_list("token", flat=True)
    )
    assert len(codes) == 10 and all(code in response.content.decode() for code in codes)
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(HOME).status_code == 200
    assert client.get("/admin/complaints/complaint/").status_code == 200
    # Shown once: the page now says it is on, without the codes.
    text = client.get(MANAGE).content.decode()
    assert "两步验证已开启" in text and codes[0] not in text


def test_setting_up_refuses_a_wrong_code(client, supervisor, required, frozen):
    sign_in(client, "supervisor")
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=supervisor)
    wrong = f"{(int(current_code(device)) + 1) % 1_000_000:06d}"
    response = client.post(SETUP, {"code": wrong, "next": HOME})
    assert response.status_code == 200
    assert "验证码不正确或已用过" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed and not StaticDevice.objects.filter(user=supervisor).exists()
    assert client.get(HOME)["Location"].startswith(SETUP)


def test_an_authenticator_code_is_accepted_once(client, supervisor, required, frozen):
    device, _codes = enrol(supervisor)
    code = current_code(device)
    assert sign_in(client, "supervisor").status_code == 302
    assert client.get(HOME)["Location"].startswith(VERIFY)
    assert client.post(VERIFY, {"code": code, "next": HOME})["Location"] == HOME
    assert client.get(HOME).status_code == 200
    client.post("/admin/logout/")

    # Replayed in the same 30 seconds (someone who saw it): refused.
    response = sign_in_with_code(client, supervisor, code)
    assert response.status_code == 200
    assert "验证码不正确或已用过" in response.content.decode()
    assert client.get(HOME)["Location"].startswith(VERIFY)
    # The app's next code works.
    frozen.shift(30)
    assert client.post(VERIFY, {"code": current_code(device), "next": HOME}).status_code == 302
    assert client.get(HOME).status_code == 200


def test_a_backup_code_works_once(client, supervisor, required, frozen):
    _device, codes = enrol(supervisor)
    assert sign_in_with_code(client, supervisor, codes[0].upper())["Location"] == HOME
    assert client.get(HOME).status_code == 200
    client.post("/admin/logout/")

    response = sign_in_with_code(client, supervisor, codes[0])
    assert response.status_code == 200
    assert client.get(HOME).status_code == 302
    frozen.shift(5)  # past the pause after a wrong code
    assert client.post(VERIFY, {"code": codes[1], "next": HOME}).status_code == 302
    assert StaticToken.objects.filter(device__user=supervisor).count() == 8


def test_desk_staff_are_not_forced_but_may_set_it_up(client, desk, required, frozen):
    assert sign_in(client, "desk").status_code == 302
    assert client.get(HOME).status_code == 200
    manage = client.get(MANAGE).content.decode()
    assert 'id="two-step-link"' in manage and "两步验证未开启" in manage
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=desk)
    assert client.post(SETUP, {"code": current_code(device), "next": HOME}).status_code == 200
    client.post("/admin/logout/")

    # Set up, it is asked for at every sign-in; and desk staff may turn it off again.
    frozen.shift(30)
    sign_in(client, "desk")
    assert client.get(HOME)["Location"].startswith(VERIFY)
    client.post(VERIFY, {"code": current_code(device), "next": HOME})
    assert client.post(MANAGE, {"turn_off": "1"}).status_code == 302
    assert not TOTPDevice.objects.filter(user=desk).exists()


def test_an_administrator_resets_a_colleagues_device_but_not_their_own(
    client, supervisor, administrator, required, frozen, caplog
):
    admin_device, _codes = enrol(administrator)
    enrol(supervisor)
    assert sign_in_with_code(client, administrator, current_code(admin_device)).status_code == 302
    users = client.get("/admin/auth/user/").content.decode()
    assert "重置两步验证" in users

    with caplog.at_level(logging.WARNING, logger="duty.signin"):
        response = client.post(
            "/admin/auth/user/",
            {"action": "reset_two_step", "_selected_action": [supervisor.pk, administrator.pk]},
            follow=True,
        )
    text = response.content.decode()
    assert "不能重置自己的两步验证" in text
    assert not TOTPDevice.objects.filter(user=supervisor).exists()
    assert not StaticDevice.objects.filter(user=supervisor).exists()
    assert TOTPDevice.objects.filter(user=administrator).exists()
    assert any(
        "supervisor reset by admin" in r.getMessage() and r.levelno == logging.WARNING
        for r in caplog.records
    )
    assert LogEntry.objects.filter(object_id=str(supervisor.pk)).exists()

    # The colleague sets up a new authenticator at their next sign-in.
    other = client.__class__()
    sign_in(other, "supervisor", address=OTHER_PC)
    assert other.get(HOME)["Location"].startswith(SETUP)


def test_a_supervisor_cannot_turn_off_their_own_second_step(client, supervisor, required, frozen):
    device, _codes = enrol(supervisor)
    sign_in_with_code(client, supervisor, current_code(device))
    assert "不能关闭" in client.get(MANAGE).content.decode()  # no button, only the reason
    response = client.post(MANAGE, {"turn_off": "1"}, follow=True)
    assert "您的角色要求两步验证" in response.content.decode()
    assert TOTPDevice.objects.filter(user=supervisor, confirmed=True).exists()
    # Nor reset it from the staff list, nor edit their roles.
    reset = client.post(
        "/admin/auth/user/", {"action": "reset_two_step", "_selected_action": [supervisor.pk]}
    )
    assert reset.status_code == 403
    assert TOTPDevice.objects.filter(user=supervisor).exists()
    # Nor set up a second authenticator past the one they have.
    assert client.get(SETUP)["Location"] == MANAGE


def test_with_the_requirement_off_nobody_is_forced(client, supervisor, administrator, settings):
    settings.STAFF_2FA_REQUIRED = False
    for user in ["supervisor", "admin"]:
        assert sign_in(client, user).status_code == 302
        assert client.get(HOME).status_code == 200
        assert client.get("/admin/complaints/complaint/").status_code == 200
        client.post("/admin/logout/")


def test_the_requirement_is_on_in_production_and_off_in_the_demo_unless_set():
    def required(**env):
        clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "STAFF_2FA_REQUIRED")}
        result = subprocess.run(
            [
                sys.executable,
                "manage.py",
                "shell",
                "-v",
                "0",
                "-c",
                "from django.conf import settings; print(settings.STAFF_2FA_REQUIRED)",
            ],
            cwd=Path(__file__).resolve().parent.parent,
            env={**clean, "SECRET_KEY": "x" * 50, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.split()[-1]

    assert required(DEBUG="0") == "True"
    assert required(DEBUG="1") == "False"
    assert required(DEBUG="0", STAFF_2FA_REQUIRED="0") == "False"
