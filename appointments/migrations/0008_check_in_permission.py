"""The desk checks applicants in from the QR code of their booking: check-in becomes a
permission of its own, held by the desk and by those who held it with serving (window staff
and window heads)."""

from django.db import migrations

HOLDERS = ["desk", "window_staff", "window_head"]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("appointments")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(
        content_type__app_label="appointments", codename="check_in_appointment"
    )
    for group in Group.objects.filter(name__in=HOLDERS):
        group.permissions.add(permission)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(
        content_type__app_label="appointments", codename="check_in_appointment"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0007_anonymised_at"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="appointment",
            options={
                "ordering": ["start", "pk"],
                "permissions": [
                    ("register_appointment", "Can register on-site and phone bookings"),
                    ("accept_short_notice", "Can accept bookings under 24 h with a reason"),
                    ("confirm_appointment", "Can confirm online bookings"),
                    ("hand_over_appointment", "Can hand bookings over to windows"),
                    ("reassign_appointment", "Can reassign bookings"),
                    ("serve_appointment", "Can check in and serve applicants"),
                    ("check_in_appointment", "Can check applicants in on arrival"),
                    ("request_change", "Can request a change or postponement"),
                    ("approve_change", "Can approve changes and record emergencies"),
                    ("record_no_show", "Can record no-show follow-ups"),
                    ("cancel_appointment", "Can cancel bookings with a reason"),
                ],
                "verbose_name": "appointment",
                "verbose_name_plural": "appointments",
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
