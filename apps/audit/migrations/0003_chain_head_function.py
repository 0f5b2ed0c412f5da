"""``audit_chain_head(lock_key)``: take the chain's advisory lock, then read the head's hash, in
one round trip. The read is a statement of its own inside the function, so under READ
COMMITTED it sees the head committed by the previous holder of the lock (a plain
``SELECT pg_advisory_xact_lock(…), (SELECT hash …)`` would read with the snapshot taken before
the wait). SQLite (the embedded mode) has no such function; appends there take turns anyway.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION audit_chain_head(lock_key bigint) RETURNS varchar LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    RETURN (SELECT hash FROM audit_auditevent ORDER BY id DESC LIMIT 1);
END
$$;
"""

BACKWARD = "DROP FUNCTION IF EXISTS audit_chain_head(bigint);"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]

    operations = [migrations.RunPython(forward, backward)]
