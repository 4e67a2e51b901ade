"""Confidentiality of the complainant (GB/T 36113): masked names and phones, who sees the
identity, and the log of every unmasked view."""

from django.utils import timezone

from ..models import (
    Complaint,
    IdentityView,
)


def mask_name(name: str) -> str:
    """李四 → 李*: the surname only."""
    name = (name or "").strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_phone(phone) -> str:
    """13800138000 → 138****8000."""
    if not phone:
        return ""
    digits = str(getattr(phone, "national_number", "") or phone)
    digits = "".join(c for c in digits if c.isdigit())
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def user_sees_identity(complaint: Complaint, user) -> bool:
    """GB/T 36113: only handlers with the permission see who complained; never the staff
    member complained about when the complainant asked so."""
    if not user.is_authenticated or not user.has_perm("complaints.view_complainant_identity"):
        return False
    return not (complaint.staff_id is not None and complaint.staff_id == user.pk)


def complainant_shown(complaint: Complaint, user, *, where: str = "", now=None) -> dict:
    """GB/T 36113, DB1403/T 7.3: the complainant's name and phone for ``user`` — masked
    unless the user may see them; every unmasked view is logged (``IdentityView``)."""
    if user_sees_identity(complaint, user):
        IdentityView.objects.create(
            complaint=complaint, user=user, at=now or timezone.now(), where=where[:30]
        )
        phone = complaint.complainant_phone
        return {
            "name": complaint.complainant_name,
            "phone": phone.as_national if phone else "",
            "masked": False,
        }
    return {
        "name": mask_name(complaint.complainant_name),
        "phone": mask_phone(complaint.complainant_phone),
        "masked": True,
    }
