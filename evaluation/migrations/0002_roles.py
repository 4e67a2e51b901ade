"""Evaluation permissions for the staff roles (DB1403/T 7.4, 8): supervisors review appeals and
see everything; window heads keep their window's self-evaluation and improvement actions and
answer bad reviews; the desk enters paper rating forms. Nobody can add or change a rating through
the admin: ratings come from citizens (一次一评)."""

from django.db import migrations

VIEW_ALL = [
    "view_rating",
    "view_badreviewcase",
    "view_ratingappeal",
    "view_selfevaluation",
    "view_improvementaction",
]
HEAD = VIEW_ALL + [
    "change_badreviewcase",
    "add_ratingappeal",
    "add_selfevaluation",
    "change_selfevaluation",
    "add_improvementaction",
    "change_improvementaction",
]
ROLES = {
    "desk": ["view_rating", "enter_paper_rating"],
    "window_staff": ["view_rating", "view_badreviewcase", "view_improvementaction"],
    "window_head": HEAD,
    "supervisor": VIEW_ALL
    + ["add_improvementaction", "change_improvementaction", "review_rating_appeal"],
    "administrator": HEAD + ["review_rating_appeal", "enter_paper_rating"],
}


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("evaluation")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLES.items():
        for group in Group.objects.filter(name=role):
            group.permissions.add(
                *Permission.objects.filter(
                    content_type__app_label="evaluation", codename__in=codenames
                )
            )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name__in=ROLES):
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="evaluation")
        )


class Migration(migrations.Migration):
    dependencies = [
        ("evaluation", "0001_initial"),
        ("complaints", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
