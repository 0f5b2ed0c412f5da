"""Idempotency records keep the first response to replay it; such a response may hold
confidential fields (an organization's contacts and principals), so it is stored encrypted like
every confidential field. Existing records are re-written encrypted, not dropped (a retry within
their 48 hours must still replay rather than act twice)."""

from django.db import migrations

import apps.core.fields


def seal(apps, schema_editor):
    Record = apps.get_model("core", "IdempotencyRecord")
    for record in Record.objects.exclude(response_body=None).iterator(chunk_size=500):
        record.response_body_sealed = record.response_body
        record.save(update_fields=["response_body_sealed"])


def unseal(apps, schema_editor):
    Record = apps.get_model("core", "IdempotencyRecord")
    for record in Record.objects.exclude(response_body_sealed=None).iterator(chunk_size=500):
        record.response_body = record.response_body_sealed
        record.save(update_fields=["response_body"])


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="idempotencyrecord",
            name="response_body_sealed",
            field=apps.core.fields.EncryptedJSONField(null=True),
        ),
        migrations.RunPython(seal, unseal),
        migrations.RemoveField(model_name="idempotencyrecord", name="response_body"),
        migrations.RenameField(
            model_name="idempotencyrecord",
            old_name="response_body_sealed",
            new_name="response_body",
        ),
    ]
