"""The old foreign keys go: a message's booking and change request, an alert's booking (now
generic references, 0009). An alert's hall becomes a plain indexed ``hall_id`` column: the
column and its values stay, only the foreign key constraint to ``duty.Hall`` is dropped."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sms", "0009_generic_subjects_data"),
    ]

    operations = [
        migrations.RemoveField(model_name="message", name="appointment"),
        migrations.RemoveField(model_name="message", name="change_request"),
        migrations.RemoveField(model_name="alert", name="appointment"),
        # First the constraint goes (the column and its index stay) ...
        migrations.AlterField(
            model_name="alert",
            name="hall",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=models.deletion.DO_NOTHING,
                related_name="+",
                to="duty.hall",
                verbose_name="hall",
            ),
        ),
        # ... then the model reads the same column as a plain integer.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="alert", name="hall"),
                migrations.AddField(
                    model_name="alert",
                    name="hall_id",
                    field=models.BigIntegerField(db_index=True, default=0, verbose_name="hall"),
                    preserve_default=False,
                ),
            ],
        ),
    ]
