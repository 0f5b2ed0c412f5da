"""A matching run's batches of proposals (``pending``, about 250 KB of JSON per 500) are
compressed with lz4 rather than PostgreSQL's default pglz: about twice as fast to write, which
the run's transaction waits on (bench/README.md, "A run's events in batches"). A server built
without lz4 keeps pglz; elsewhere than PostgreSQL nothing changes."""

from django.db import migrations

LZ4 = """
DO $$
BEGIN
    ALTER TABLE events_event ALTER COLUMN pending SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not supported by this server: pending stays compressed with pglz';
END $$;
"""


def compress_with_lz4(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(LZ4)


def compress_as_before(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE events_event ALTER COLUMN pending SET COMPRESSION default"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0007_indexes_only_where_needed"),
    ]

    operations = [migrations.RunPython(compress_with_lz4, compress_as_before, elidable=True)]
