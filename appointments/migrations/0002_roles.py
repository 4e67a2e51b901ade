"""Create the staff roles as groups with their permissions (DB1403/T 6.2.5, 7; README, "Roles")."""

from django.db import migrations

VIEW_ORG = ["duty.view_hall", "duty.view_department", "duty.view_window", "duty.view_serviceperiod",
            "duty.view_phonelineperiod", "duty.view_holidayyear", "duty.view_calendarday"]
VIEW_BOOKINGS = ["appointments.view_matter", "appointments.view_appointment",
                 "appointments.view_changerequest", "appointments.view_noshowfollowup",
                 "appointments.view_slot", "appointments.view_contactlog",
                 "appointments.view_paralleltask", "appointments.view_appointmentevent"]
WINDOW_STAFF = VIEW_ORG + VIEW_BOOKINGS + [
    "appointments.confirm_appointment", "appointments.hand_over_appointment",
    "appointments.serve_appointment", "appointments.request_change",
    "appointments.record_no_show", "appointments.cancel_appointment",
    "appointments.accept_short_notice",
]
ADMIN_MODELS = ["duty.hall", "duty.department", "duty.window", "duty.staffprofile",
                "duty.serviceperiod", "duty.phonelineperiod", "duty.holidayyear",
                "duty.calendarday", "appointments.matter"]

ROLES = {
    "desk": VIEW_ORG + VIEW_BOOKINGS + [
        "appointments.register_appointment", "appointments.accept_short_notice",
        "appointments.hand_over_appointment", "appointments.cancel_appointment",
    ],
    "window_staff": WINDOW_STAFF,
    "window_head": WINDOW_STAFF + [
        "appointments.reassign_appointment", "appointments.accept_short_notice",
        "duty.view_staffprofile",
    ],
    "agency_approver": VIEW_ORG + VIEW_BOOKINGS + [
        "appointments.approve_change", "appointments.reassign_appointment",
        "appointments.cancel_appointment", "duty.view_staffprofile",
    ],
    "supervisor": VIEW_ORG + VIEW_BOOKINGS + ["duty.view_staffprofile"],
    "administrator": VIEW_ORG + VIEW_BOOKINGS
    + [f"{m.split('.')[0]}.{verb}_{m.split('.')[1]}" for m in ADMIN_MODELS
       for verb in ("add", "change", "delete", "view")]
    + ["appointments.add_slot", "appointments.change_slot", "auth.add_user", "auth.change_user", "auth.view_user",
       "auth.view_group"],
}


def create_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        for perm in perms:
            app_label, codename = perm.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0001_initial"),
        ("duty", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
