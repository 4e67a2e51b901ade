"""Investigation documents of a complaint (GB/T 36113): checked by their first bytes, added while
the complaint is under way, shown only to handlers."""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from duty.scoping import user_hall_id
from yuyue.checks import field_error as _error

from ..models import (
    ATTACHMENT_TYPES,
    Complaint,
    ComplaintAttachment,
)
from ._common import _attachment_save, _handle_check
from .steps import _lock


def attachment_clean(*, file) -> tuple:
    """GB/T 36113 调查核实: an investigation document must be a JPEG, PNG or PDF — told by its
    first bytes, not only by its name — and at most COMPLAINT_ATTACHMENT_MAX_BYTES. Returns the
    file and its content type."""
    name = str(getattr(file, "name", "") or "")
    size = getattr(file, "size", None)
    if size is None or size <= 0:
        raise _error("attachment", _("The file is empty."), "empty")
    limit = settings.COMPLAINT_ATTACHMENT_MAX_BYTES
    if size > limit:
        raise _error(
            "attachment",
            _("The file is too large: at most %(mb)s MB.") % {"mb": round(limit / 1024 / 1024, 1)},
            "too_large",
        )
    file.seek(0)
    head = file.read(16)
    file.seek(0)
    lower = name.lower()
    for content_type, (endings, magics) in ATTACHMENT_TYPES.items():
        if head.startswith(magics) and lower.endswith(endings):
            return file, content_type
    raise _error(
        "attachment",
        _("Only JPEG or PNG images and PDF documents can be attached."),
        "file_type",
    )


def complaint_attachment_add(
    *, complaint: Complaint, file, actor, now: dt.datetime
) -> ComplaintAttachment:
    """GB/T 36113 调查核实, DB1403/T 7.3: add a document to the investigation of a complaint
    that is being handled (accepted to decided); only handlers of its hall."""
    _handle_check(complaint, actor, now)
    file, content_type = attachment_clean(file=file)
    with transaction.atomic():
        locked = _lock(complaint, "attach")
        return _attachment_save(locked, file, content_type, actor=actor, now=now)


def attachment_may_see(*, attachment: ComplaintAttachment, user) -> bool:
    """GB/T 36113: investigation documents are for the complaint's handlers (its hall's staff
    with the handle permission), like the complainant's identity."""
    if not user.is_authenticated or not user.is_active:
        return False
    if not user.has_perm("complaints.handle_complaint"):
        return False
    return user.is_superuser or user_hall_id(user) == attachment.complaint.hall_id
