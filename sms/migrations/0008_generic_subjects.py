"""Messages and alerts refer to what they are about generically (``sms.subjects``): new columns
next to the old foreign keys, which 0009 copies into them and 0010 drops. Kinds and purposes
take their choices from the apps' registries (``sms.registry``)."""

import sms.registry
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sms", "0007_rate_limit_counter"),
    ]

    operations = [
        migrations.RenameField(
            model_name="message", old_name="booking_reference", new_name="subject_reference"
        ),
        migrations.AlterField(
            model_name="message",
            name="subject_reference",
            field=models.CharField(blank=True, max_length=12, verbose_name="reference"),
        ),
        migrations.AddField(
            model_name="message",
            name="subject_type",
            field=models.CharField(
                blank=True, default="", max_length=100, verbose_name="about (kind)"
            ),
        ),
        migrations.AddField(
            model_name="message",
            name="subject_id",
            field=models.PositiveBigIntegerField(blank=True, null=True, verbose_name="about (id)"),
        ),
        migrations.AddField(
            model_name="message",
            name="occasion_type",
            field=models.CharField(
                blank=True, default="", max_length=100, verbose_name="occasion (kind)"
            ),
        ),
        migrations.AddField(
            model_name="message",
            name="occasion_id",
            field=models.PositiveBigIntegerField(
                blank=True, null=True, verbose_name="occasion (id)"
            ),
        ),
        migrations.AddField(
            model_name="message",
            name="hall_id",
            field=models.BigIntegerField(blank=True, db_index=True, null=True, verbose_name="hall"),
        ),
        migrations.AddField(
            model_name="alert",
            name="subject_type",
            field=models.CharField(
                blank=True, default="", max_length=100, verbose_name="about (kind)"
            ),
        ),
        migrations.AddField(
            model_name="alert",
            name="subject_id",
            field=models.PositiveBigIntegerField(blank=True, null=True, verbose_name="about (id)"),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["subject_type", "subject_id"], name="sms_message_subject"),
        ),
        migrations.AddIndex(
            model_name="alert",
            index=models.Index(fields=["subject_type", "subject_id"], name="sms_alert_subject"),
        ),
        migrations.AlterField(
            model_name="alert",
            name="kind",
            field=models.CharField(
                choices=sms.registry.alert_kind_choices, max_length=30, verbose_name="kind"
            ),
        ),
        migrations.AlterField(
            model_name="message",
            name="purpose",
            field=models.CharField(
                choices=sms.registry.message_purpose_choices, max_length=30, verbose_name="purpose"
            ),
        ),
        migrations.AlterField(
            model_name="messagetemplate",
            name="purpose",
            field=models.CharField(
                choices=sms.registry.message_purpose_choices,
                max_length=30,
                unique=True,
                verbose_name="purpose",
            ),
        ),
    ]
