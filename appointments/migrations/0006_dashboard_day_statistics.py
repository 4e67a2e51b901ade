"""PostgreSQL only: statistics on the bookings' local day, so that the planner knows how many
(window, day) groups the supervisors' dashboard makes of a year of bookings.

Without them PostgreSQL guesses one group per ten bookings (25 000 for a year of 250 000 instead
of ~2 000), sorts every booking on disk rather than hashing the groups in memory, and the
dashboard's main query takes ~20 % longer. The expression is the one
``evaluation.reporting.periods.LocalDatePart`` writes for the hall's fixed UTC offset
(Asia/Shanghai: +480 minutes); if the offset or the expression changes the statistics merely stop
applying.
Needs PostgreSQL 14 or later (statistics on expressions); elsewhere this migration does nothing.
"""

import datetime as dt
import zoneinfo

from django.conf import settings
from django.db import migrations

NAME = "appointment_local_day_stats"


def _minutes() -> int:
    offset = dt.datetime.now(zoneinfo.ZoneInfo(settings.TIME_ZONE)).utcoffset()
    return int(offset.total_seconds() // 60)


def _applies(schema_editor) -> bool:
    connection = schema_editor.connection
    return connection.vendor == "postgresql" and connection.pg_version >= 140000


def create(apps, schema_editor):
    if _applies(schema_editor):
        schema_editor.execute(
            f"CREATE STATISTICS IF NOT EXISTS {NAME} (ndistinct) ON window_id, "
            f"((start AT TIME ZONE INTERVAL '{_minutes():+d} minutes')::date) "
            "FROM appointments_appointment"
        )
        schema_editor.execute("ANALYZE appointments_appointment")


def drop(apps, schema_editor):
    if _applies(schema_editor):
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [("appointments", "0005_dashboard_indexes")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
