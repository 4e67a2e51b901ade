"""A basic, hall-scoped admin. Bookings are created and moved only through the services.

The package, by what the console shows: ``matters`` (matters and slots), ``bookings`` (the
booking list, registration, lifecycle steps and the register's export), ``inlines`` (a booking's
records on its page), ``booking_messages`` (the SMS list) and ``records`` (the lifecycle
records, read-only). Importing them here registers their admins when Django autodiscovers
``appointments.admin``.
"""

from django.contrib import admin

from . import booking_messages, bookings, inlines, matters, records  # noqa: F401 (registers)

admin.site.index_template = "admin/console_index.html"
