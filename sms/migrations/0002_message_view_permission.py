"""Every staff role may read the SMS log of its hall's bookings (delivery status per booking)."""

from django.db import migrations

ROLES = ["desk", "window_staff", "window_head", "agency_approver", "supervisor", "administrator"]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("sms")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.get(content_type__app_label="sms", codename="view_message")
    for group in Group.objects.filter(name__in=ROLES):
        group.permissions.add(view)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(content_type__app_label="sms", codename="view_message").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sms", "0001_initial"),
        ("appointments", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
