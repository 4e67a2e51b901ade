"""Every staff role reads the SMS log of its hall's bookings and its own alerts; administrators
edit the message templates."""

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
    def perms(*codenames):
        return Permission.objects.filter(content_type__app_label="sms", codename__in=codenames)

    for group in Group.objects.filter(name__in=ROLES):
        group.permissions.add(*perms("view_message", "view_alert"))
    for group in Group.objects.filter(name="administrator"):
        group.permissions.add(*perms("view_messagetemplate", "change_messagetemplate",
                                     "add_messagetemplate", "delete_messagetemplate"))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name__in=ROLES):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="sms"))


class Migration(migrations.Migration):
    dependencies = [
        ("sms", "0001_initial"),
        ("appointments", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
