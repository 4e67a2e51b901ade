"""The duty app's staff console (Django admin), by sub-area:

- ``hall_scoped``: the hall-scoped base classes every app's console pages use (re-exported here);
- ``halls``: halls, departments, windows, staff profiles;
- ``holidays``: the national holiday table and the page that enters a year's arrangement;
- ``accounts``: staff accounts and roles, two-step verification, sign-in records;
- ``rosters``: duties, check-ins, leave with cover (planned in ``duty.roster_views``);
- ``inspections``: supervisors' inspections and their findings.

Importing this package registers every model's page; it also names the console.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from . import accounts, halls, holidays, inspections, rosters  # noqa: F401 (register pages)
from .hall_scoped import HallScopedAdmin, HallScopedMixin, ScopedRawIdWidget, ScopedTabularInline

__all__ = ["HallScopedAdmin", "HallScopedMixin", "ScopedRawIdWidget", "ScopedTabularInline"]

admin.site.site_header = _("Appointment and no-rest service")
admin.site.site_title = _("Appointment and no-rest service")
admin.site.index_title = _("Service console")
