import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group

from appointments.models import Matter
from duty.models import Department, Hall, StaffProfile, Window
from duty.services import hall_calendar_set_defaults, holiday_year_import

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(year, month, day, hour=0, minute=0, second=0) -> dt.datetime:
    """An aware datetime in the hall's time zone."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _fast_tests_in_chinese(settings):
    settings.LANGUAGE_CODE = "zh-hans"
    # Real hashing costs ~0.3 s per user; tests do not need it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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


@pytest.fixture
def no_rest_window(hall, department, head):
    window = Window.objects.create(
        hall=hall,
        number="A01",
        name="市场主体登记",
        is_no_rest=True,
        capacity_per_slot=2,
        head=head,
    )
    window.departments.add(department)
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
