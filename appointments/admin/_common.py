"""What the booking admin's modules share: a column that names a user (王敏), not a login."""

from django.contrib import admin

from duty.names import staff_name


def _name_column(field: str, label):
    """A list/detail column showing a user by name (王敏), not by login."""

    @admin.display(description=label, ordering=f"{field}__first_name")
    def column(self, obj):
        return staff_name(getattr(obj, field)) or "—"

    column.__name__ = f"{field}_name"
    return column
