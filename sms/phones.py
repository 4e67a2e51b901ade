"""Phone numbers as citizens type them: 138 0013 8000, +86 13800138000, 13800138000."""

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from phonenumber_field.phonenumber import PhoneNumber, to_python


def phone_clean(value, *, mobile_only: bool, field: str = "phone") -> PhoneNumber:
    """A phone number in any common format (Chinese unless it has a country code); SMS needs a
    mainland Chinese mobile number."""
    number = None
    if isinstance(value, str | PhoneNumber) and str(value).strip() and len(str(value)) <= 40:
        number = to_python(value, region="CN")
    if not isinstance(number, PhoneNumber) or not number.is_valid():
        raise ValidationError(
            {
                field: ValidationError(
                    _("Enter a valid phone number, e.g. 138 0013 8000."), code="invalid_phone"
                )
            }
        )
    if mobile_only and (
        number.country_code != 86
        or phonenumbers.number_type(number)
        not in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        )
    ):
        raise ValidationError(
            {
                field: ValidationError(
                    _("Enter a mobile number: the confirmation is sent by SMS."),
                    code="not_mobile",
                )
            }
        )
    return number


def phone_is_mobile(number) -> bool:
    """Can this stored number take an SMS (a mainland Chinese mobile number)?"""
    return (
        isinstance(number, PhoneNumber)
        and number.country_code == 86
        and phonenumbers.number_type(number)
        in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    )
