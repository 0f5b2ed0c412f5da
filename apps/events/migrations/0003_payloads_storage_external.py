"""``events_event.payloads`` stored out of line without compression (``STORAGE EXTERNAL``).

The column holds Fernet tokens: ciphertext, which does not compress. With the default
(``EXTENDED``) PostgreSQL tries to compress every payload over ~2 KB before moving it out of
line, and fails: a third of the time of a matching run's COPY of its events (4,115 rows of
3.7 KB: 0.28 s → 0.19 s, bench/README.md). Only new rows are affected; nothing is rewritten.
SQLite (the embedded mode) has no such setting.
"""

from django.db import migrations


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE events_event ALTER COLUMN payloads SET STORAGE EXTERNAL")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE events_event ALTER COLUMN payloads SET STORAGE EXTENDED")


class Migration(migrations.Migration):
    dependencies = [("events", "0002_event_audiences")]

    operations = [migrations.RunPython(forward, backward)]
