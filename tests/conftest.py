import datetime as dt
import os
import re
from pathlib import Path
from typing import NoReturn
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connections
from django.utils import timezone

from appointments.models import Matter
from appointments.services import (
    appointment_book_online,
    appointment_hand_over,
    appointment_register,
    change_request_create,
)
from duty.models import Department, Duty, DutyAssignment, Hall, StaffProfile, Window
from duty.rosters import off_hours_periods
from duty.services import hall_calendar_set_defaults, holiday_year_import

SHANGHAI = ZoneInfo("Asia/Shanghai")

# The SMS providers pointed at their local stand-ins (provider, aliyun, tencent).
pytest_plugins = ["tests.sms_providers_setup"]


def at(year, month, day, hour=0, minute=0, second=0) -> dt.datetime:
    """An aware datetime in the hall's time zone."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


def field_code(excinfo, field: str) -> str:
    """The code of the first error a ValidationError carries for ``field``."""
    return excinfo.value.error_dict[field][0].code


class SmsInbox:
    """The `file` SMS backend's folder, read as a phone would."""

    def __init__(self, folder):
        self.folder = folder

    def messages(self, phone: str = "") -> list[str]:
        files = sorted(self.folder.glob("*.txt")) if self.folder.exists() else []
        texts = [f.read_text(encoding="utf-8") for f in files]
        return [t for t in texts if not phone or t.startswith(f"To: {phone}\n")]

    def last_code(self, phone: str) -> str:
        """The code in the newest message to ``phone`` (E.164, e.g. +8613800138000)."""
        for text in reversed(self.messages(phone)):
            found = re.search(r"(?<!\d)(\d{6})(?!\d)", text)
            if found:
                return found.group(1)
        raise AssertionError(f"no code was sent to {phone}")


@pytest.fixture(autouse=True)
def sms_inbox(settings, tmp_path) -> SmsInbox:
    settings.SMS_BACKEND = "file"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    return SmsInbox(tmp_path / "sms")


@pytest.fixture(autouse=True)
def _fast_tests_in_chinese(settings):
    settings.LANGUAGE_CODE = "zh-hans"
    # Real hashing costs ~0.3 s per user; tests do not need it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _two_step_not_required(settings):
    """Staff sign in with their password alone unless a test requires the second step
    (tests/test_staff_login.py): the default follows DEBUG, which tests should not depend on.
    django-axes stays on in every test; it needs the request, so tests log in with
    ``client.force_login`` or through the login form (``client.login`` passes no request)."""
    settings.STAFF_2FA_REQUIRED = False


@pytest.fixture
def holidays_2026(db):
    holiday_year_import(year=2026)


@pytest.fixture
def hall(db, holidays_2026):
    hall = Hall.objects.create(name="阳泉市政务服务中心", code="city", is_city_hall=True)
    hall_calendar_set_defaults(hall=hall)
    return hall


@pytest.fixture
def other_hall(db):
    hall = Hall.objects.create(name="郊区政务服务中心", code="jiaoqu")
    hall_calendar_set_defaults(hall=hall)
    return hall


@pytest.fixture
def department(hall):
    return Department.objects.create(hall=hall, name="市场监督管理局")


@pytest.fixture
def tax(hall):
    return Department.objects.create(hall=hall, name="税务局")


@pytest.fixture
def make_user(db, django_user_model):
    def make(username, role, hall, window=None):
        user = django_user_model.objects.create_user(
            username=username, password="pw", is_staff=True, first_name=username
        )
        user.groups.add(Group.objects.get(name=role))
        StaffProfile.objects.create(user=user, hall=hall, window=window)
        return django_user_model.objects.get(pk=user.pk)

    return make


@pytest.fixture
def head(make_user, hall):
    return make_user("head", "window_head", hall)


def roster_standing(window: Window, staff, start_date: dt.date, end_date: dt.date) -> int:
    """Put ``staff`` on duty at ``window`` in every off-hours period of working days and
    weekends from ``start_date`` to ``end_date`` (holidays are by appointment), written
    directly: also in years whose holidays are not loaded. Returns the number of duties."""
    periods = off_hours_periods(hall_ids=[window.hall_id], start_date=start_date, end_date=end_date)
    duties = Duty.objects.bulk_create(
        Duty(window=window, date=p.date, start=p.start, end=p.end, head=window.head)
        for p in periods[window.hall_id]
        if not p.is_holiday
    )
    duties = Duty.objects.filter(window=window, start__in=[d.start for d in duties])
    DutyAssignment.objects.bulk_create(
        DutyAssignment(duty=d, staff=staff, is_receiving=True) for d in duties
    )
    return len(duties)


def roster_test_dates(window: Window, staff) -> None:
    """The dates tests book: autumn 2026 and the booking horizon from the real today."""
    roster_standing(window, staff, dt.date(2026, 9, 1), dt.date(2026, 12, 31))
    today = timezone.localdate()
    if today + dt.timedelta(days=settings.BOOKING_HORIZON_DAYS + 7) > dt.date(2026, 12, 31):
        roster_standing(
            window,
            staff,
            max(today - dt.timedelta(days=1), dt.date(2027, 1, 1)),
            today + dt.timedelta(days=settings.BOOKING_HORIZON_DAYS + 7),
        )


@pytest.fixture
def no_rest_window(request, hall, department, head):
    """A no-rest window whose head is on duty in every off-hours period the tests book
    (DB1403/T 5.2), unless the test is marked ``no_standing_roster``."""
    window = Window.objects.create(
        hall=hall,
        number="A01",
        name="市场主体登记",
        is_no_rest=True,
        capacity_per_slot=2,
        head=head,
    )
    window.departments.add(department)
    if not request.node.get_closest_marker("no_standing_roster"):
        roster_test_dates(window, head)
    return window


@pytest.fixture
def regular_window(hall, department):
    window = Window.objects.create(hall=hall, number="A02", name="食品经营许可", is_no_rest=False)
    window.departments.add(department)
    return window


@pytest.fixture
def matter(hall, department, no_rest_window, regular_window):
    matter = Matter.objects.create(
        hall=hall,
        name="个体工商户设立登记",
        materials="经营者身份证原件\n经营场所使用证明",
        notes="委托办理的须提交委托书。",
    )
    matter.departments.add(department)
    matter.windows.add(no_rest_window, regular_window)
    return matter


@pytest.fixture
def desk(make_user, hall):
    return make_user("desk", "desk", hall)


@pytest.fixture
def window_staff(make_user, hall, no_rest_window):
    return make_user("window", "window_staff", hall, no_rest_window)


@pytest.fixture
def approver(make_user, hall):
    return make_user("approver", "agency_approver", hall)


@pytest.fixture
def supervisor(make_user, hall):
    return make_user("supervisor", "supervisor", hall)


# A Wednesday lunch break: no-rest service at a working day's rest period.
START = at(2026, 9, 16, 12, 0)
THREE_DAYS_BEFORE = START - dt.timedelta(hours=72)
NEW_START = START + dt.timedelta(days=1)


@pytest.fixture
def online(matter, no_rest_window):
    """An online booking waiting for the window to confirm (5.1.3 c)."""
    return appointment_book_online(
        matter=matter,
        window=no_rest_window,
        start=START,
        applicant_name="王芳",
        phone="13900139000",
        now=THREE_DAYS_BEFORE,
    )


@pytest.fixture
def accepted(matter, no_rest_window, desk):
    """An on-site booking registered by the desk (5.1.3 a)."""
    return appointment_register(
        matter=matter,
        window=no_rest_window,
        start=START,
        applicant_name="张伟",
        phone="13800138000",
        channel="onsite",
        actor=desk,
        now=THREE_DAYS_BEFORE,
    )


@pytest.fixture
def handed_over(accepted, desk, window_staff):
    """The accepted booking handed to its window, window_staff as the contact (6.1.3)."""
    return appointment_hand_over(
        appointment=accepted,
        contact_person=window_staff,
        actor=desk,
        now=THREE_DAYS_BEFORE + dt.timedelta(hours=1),
    )


@pytest.fixture
def change(accepted, window_staff):
    """A change of the accepted booking to the next day, waiting for approval (6.2.2)."""
    return change_request_create(
        appointment=accepted,
        new_start=NEW_START,
        reason="系统升级",
        actor=window_staff,
        now=START - dt.timedelta(hours=30),
    )


# --- browser tests -------------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


def missing_part(reason: str) -> NoReturn:
    """A real part the test needs (a browser, Redis) is missing: skip on a developer's machine,
    fail in CI (.ci/run sets CI=1), which has every part."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: cannot be skipped in CI")
    pytest.skip(f"{reason}: test skipped")


def browser_requires(path, what: str) -> None:
    if not Path(path).exists():
        missing_part(f"{what} not found at {path} (`make suite` installs it)")


@pytest.fixture
def browser_page_factory():
    """Open pages in Debian's Chromium through Playwright: ``browser_page_factory(**context)``."""
    browser_requires(CHROMIUM, "Debian's chromium")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # around it are synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"],
        )
        yield lambda **context: browser.new_context(locale="zh-CN", **context).new_page()
        browser.close()
        # Playwright runs the test in a greenlet with its own database connection: close it,
        # or PostgreSQL cannot drop the test database.
        connections.close_all()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
