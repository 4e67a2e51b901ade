"""The Chinese catalogue is complete: every msgid of the code and templates has a zh_Hans
translation that is not fuzzy, the committed .mo is the .po compiled, and representative
citizen and console pages rendered in Chinese show no English words beyond an allow-list of
legitimate ones (API, QR, Excel, command names, ...).

The English-words check reads what a person sees or hears (tests/visible_text.py): text outside
scripts and styles, titles, placeholders, labels for screen readers, button values.
"""

import datetime as dt
import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from appointments.models import Appointment
from appointments.public_views import SESSION_REFS
from appointments.services import (
    appointment_cancel_by_citizen,
    appointment_give_notice,
    appointment_reassign,
    no_show_follow_up_open,
    no_show_follow_up_record,
)
from sms.models import Message
from sms.services import message_deliver

from .conftest import START, THREE_DAYS_BEFORE
from .visible_text import pages_text, visible_text

ROOT = Path(settings.BASE_DIR)
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
SOURCES = ["yuyue", "duty", "appointments", "complaints", "evaluation", "sms", "templates"]


def msgattrib(po: Path, *options: str) -> str:
    """The entries of ``po`` that ``msgattrib`` selects, without the header."""
    if shutil.which("msgattrib") is None:
        pytest.fail("GNU gettext (msgattrib) is needed: apt-get install gettext")
    out = subprocess.run(
        ["msgattrib", "--no-obsolete", *options, str(po)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    entries = [e for e in out.split("\n\n") if e.strip()]
    return "\n\n".join(e for e in entries if 'msgid ""\nmsgstr ""\n"' not in e)


def test_every_msgid_of_the_code_is_translated_and_none_is_fuzzy(tmp_path):
    """makemessages over a copy of the sources: nothing it finds is untranslated or fuzzy
    (a string added to the code without its translation fails here, before anyone runs
    ``make messages``)."""
    for name in SOURCES:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "locale", tmp_path / "locale")
    shutil.copy(ROOT / "manage.py", tmp_path / "manage.py")
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete"],
        cwd=tmp_path,
        capture_output=True,
        check=True,
    )
    po = tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    assert msgattrib(po, "--untranslated") == "", "untranslated: run `make messages`"
    assert msgattrib(po, "--only-fuzzy") == "", "fuzzy: check and clear the flag"


def test_committed_catalogue_has_no_untranslated_or_fuzzy_entry():
    assert msgattrib(PO, "--untranslated") == ""
    assert msgattrib(PO, "--only-fuzzy") == ""


def test_committed_mo_is_the_po_compiled(tmp_path):
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "-o", str(compiled), str(PO)], check=True)
    with compiled.open("rb") as fresh, MO.open("rb") as committed:
        assert gettext.GNUTranslations(fresh)._catalog == (
            gettext.GNUTranslations(committed)._catalog
        ), "the .mo is stale: run `make messages` and commit it"


# --- no English in pages rendered in Chinese --------------------------------------------------

# Words that are English but belong in a Chinese page: names of standards, formats, programs
# and commands the pages tell staff to run.
ALLOWED = {
    "API",
    "QR",
    "Excel",
    "SMS",
    "DB",
    "GB",
    "ics",
    "xlsx",
    "manage",
    "py",
    "qcluster",
    "setup_schedules",
    "import_holidays",
    "OpenAPI",
    "PDF",
    "Tab",  # the key
    "English",  # the language switch names English in English
    # Django's admin writes a boolean's icon with alt="True"/"False", untranslated.
    "True",
    "False",
}
# Booking references (8 of A–Z and 2–9) are codes, not words.
# (\b would not part one from a Chinese character beside it.)
REFERENCE = re.compile(r"(?<![A-Za-z0-9])[A-Z2-9]{8}(?![A-Za-z0-9])")
ENGLISH_WORD = re.compile(r"[A-Za-z][A-Za-z_]+")
# A link (in a text message's wording, say) is an address, not words.
LINK = re.compile(r"https?://\S+")


def english_words(text: str) -> set[str]:
    """The English words in a page's visible text, beyond the allowed ones."""
    text = REFERENCE.sub(" ", LINK.sub(" ", text))
    return {w for w in ENGLISH_WORD.findall(text) if w not in ALLOWED}


def english_on_pages(client, urls) -> dict[str, list[str]]:
    texts = pages_text(client, urls, machine_values=False)
    found = {url: english_words(text) for url, text in texts.items()}
    return {url: sorted(words) for url, words in found.items() if words}


@pytest.fixture
def chinese_named_staff(desk, window_staff, approver, supervisor, head):
    """The fixtures' staff with Chinese names (their logins are English words)."""
    names = {desk: ("丽", "张"), window_staff: ("强", "李"), approver: ("刚", "赵")}
    names |= {supervisor: ("敏", "王"), head: ("伟", "刘")}
    for user, (first, last) in names.items():
        user.first_name, user.last_name = first, last
        user.save(update_fields=["first_name", "last_name"])
    return names


@pytest.fixture
def records(chinese_named_staff, handed_over, online, matter, desk, window_staff, approver):
    """Bookings whose pages hold the texts that were once frozen in English: a cancellation by
    an applicant using /en/, a reassignment, a no-show outcome, a skipped text message."""
    with translation.override("en"):
        appointment_cancel_by_citizen(
            appointment=online, now=THREE_DAYS_BEFORE + dt.timedelta(hours=2)
        )
    appointment_give_notice(
        appointment=handed_over,
        method="phone",
        time_reconfirmed=True,
        outcome="已告知",
        actor=window_staff,
        now=THREE_DAYS_BEFORE + dt.timedelta(hours=2),
    )
    appointment_reassign(
        appointment=handed_over,
        reason="原窗口人员请假",
        responsible_staff=window_staff,
        reported_to=approver,
        actor=approver,
        now=THREE_DAYS_BEFORE + dt.timedelta(hours=3),
    )
    late = START + dt.timedelta(minutes=31)
    follow_up = no_show_follow_up_open(appointment=handed_over, now=late)
    no_show_follow_up_record(
        follow_up=follow_up,
        outcome="gave_up",
        method="phone",
        note="",
        actor=window_staff,
        now=late + dt.timedelta(minutes=5),
    )
    for message in Message.objects.filter(status=Message.Status.QUEUED):
        message_deliver(message_id=message.pk, now=late)
    return {"served": handed_over, "cancelled": online}


def console_pages(records, matter):
    booking, cancelled = records["served"], records["cancelled"]
    message = Message.objects.filter(status=Message.Status.SKIPPED).first()
    pages = [
        reverse("admin:index"),
        reverse("admin:appointments_appointment_changelist"),
        reverse("admin:appointments_appointment_change", args=[booking.pk]),
        reverse("admin:appointments_appointment_change", args=[cancelled.pk]),
        reverse("admin:appointments_appointment_add") + f"?matter={matter.pk}",
        reverse("admin:appointments_check_in") + f"?reference={booking.reference}",
        reverse("admin:appointments_register"),
        reverse("admin:appointments_contactlog_changelist"),
        reverse("admin:appointments_noshowfollowup_changelist"),
        reverse("admin:appointments_appointmentevent_changelist"),
        reverse("admin:sms_message_changelist"),
    ]
    if message is not None:
        pages.append(reverse("admin:sms_message_change", args=[message.pk]))
    return pages


@pytest.mark.django_db
def test_console_pages_in_chinese_have_no_english(client, records, matter, desk):
    client.force_login(desk)
    found = english_on_pages(client, console_pages(records, matter))
    assert not found, found


@pytest.mark.django_db
def test_citizen_pages_in_chinese_have_no_english(client, records, matter):
    cancelled = records["cancelled"]
    session = client.session
    session[SESSION_REFS] = {cancelled.reference: timezone.now().timestamp() + 3600}
    session.save()
    pages = [
        reverse("public:home"),
        reverse("public:matter", args=[matter.pk]),
        reverse("public:lookup"),
        reverse("public:booking", args=[cancelled.reference]),
        "/complaints/",
        "/complaints/track/",
        "/ratings/",
    ]
    found = english_on_pages(client, pages)
    assert not found, found


@pytest.mark.django_db
def test_cancellation_by_an_applicant_in_english_reads_in_chinese(client, records, desk):
    """The history shows the applicant's online cancellation in the reader's language."""
    cancelled = records["cancelled"]
    client.force_login(desk)
    page = client.get(reverse("admin:appointments_appointment_change", args=[cancelled.pk]))
    text = visible_text(page.content.decode())
    assert "申请人自行取消。" in text and "Cancelled by the applicant." not in text
    english = client.get(
        "/en" + reverse("admin:appointments_appointment_change", args=[cancelled.pk])
    )
    assert "Cancelled by the applicant." in visible_text(english.content.decode())
    with translation.override("zh-hans"):
        assert Appointment.objects.get(pk=cancelled.pk).cancel_reason == "申请人自行取消。"
