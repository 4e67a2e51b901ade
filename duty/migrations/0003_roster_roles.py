"""Grant the roster, leave, check-in and inspection permissions to the roles (DB1403/T 5.2,
6.2.1, 6.2.4, 6.2.5, 7.2): window heads plan rosters and approve leave, window staff check in and
request leave, supervisors record inspections and read everything, administrators manage."""

from django.db import migrations

MODELS = ["duty", "dutyassignment", "leaverequest", "inspection", "inspectionfinding"]
VIEW_ALL = [f"view_{m}" for m in MODELS]
WINDOW_STAFF = ["view_duty", "view_dutyassignment", "view_leaverequest",
                "check_in_dutyassignment", "add_leaverequest"]
ROLES = {
    "desk": ["view_duty", "view_dutyassignment"],
    "agency_approver": ["view_duty", "view_dutyassignment"],
    "window_staff": WINDOW_STAFF,
    "window_head": WINDOW_STAFF + ["add_duty", "change_duty", "delete_duty",
                                   "approve_leaverequest"],
    "supervisor": VIEW_ALL + ["add_inspection", "change_inspection", "add_inspectionfinding",
                              "change_inspectionfinding", "delete_inspectionfinding"],
    "administrator": [f"{verb}_{m}" for m in MODELS for verb in ("add", "change", "delete", "view")]
    + ["check_in_dutyassignment", "approve_leaverequest"],
}


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="duty", codename__in=codenames)
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.filter(
        content_type__app_label="duty", content_type__model__in=MODELS
    )
    for group in Group.objects.filter(name__in=ROLES):
        group.permissions.remove(*perms)


class Migration(migrations.Migration):
    dependencies = [
        ("duty", "0002_rosters"),
        ("appointments", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
