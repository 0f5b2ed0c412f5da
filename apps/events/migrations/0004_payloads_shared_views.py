"""``Event.payloads`` becomes ``EventPayloadsField``: the same encrypted text column, a view shown
to several audiences stored once (older rows, each view written out, read as before). State
only: nothing changes in the database (SQLite would otherwise rebuild the table)."""

from django.db import migrations

import apps.events.models


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0003_payloads_storage_external"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="event",
                    name="payloads",
                    field=apps.events.models.EventPayloadsField(default=dict),
                ),
            ]
        )
    ]
