"""Complaint permissions for the staff roles (GB/T 36113, DB1403/T 7.3): supervisors and
administrators handle complaints and may see who complained; the desk registers them; window staff
and heads get nothing here — the staff complained about never see the complainant."""

from django.db import migrations

HANDLERS = [
    "add_complaint",
    "view_complaint",
    "handle_complaint",
    "view_complainant_identity",
    "view_complaintstep",
    "view_identityview",
]
ROLES = {
    "desk": ["add_complaint", "view_complaint"],
    "supervisor": HANDLERS,
    "administrator": HANDLERS,
}


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("complaints")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLES.items():
        for group in Group.objects.filter(name=role):
            group.permissions.add(
                *Permission.objects.filter(
                    content_type__app_label="complaints", codename__in=codenames
                )
            )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name__in=ROLES):
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="complaints")
        )


class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0001_initial"),
        ("appointments", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
