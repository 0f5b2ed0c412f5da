"""PostgreSQL holds the ledger's two rules whoever writes to it (the ORM, raw SQL, a console):

- append-only: UPDATE and DELETE of transactions and legs raise (a correction is a reversal);
- balanced: at commit, every transaction has two legs or more, its legs sum to zero per
  currency, and each leg is in its account's currency (DEFERRABLE INITIALLY DEFERRED constraint
  triggers, so the legs of a transaction may be inserted one by one within it).

SQLite has no constraint triggers: there the posting service's own check holds alone.
TRUNCATE (the test runner's flush) is left alone on purpose.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % refused (post a reversal instead)',
        TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER ledger_transaction_append_only
    BEFORE UPDATE OR DELETE ON ledger_transaction
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE TRIGGER ledger_leg_append_only
    BEFORE UPDATE OR DELETE ON ledger_leg
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE FUNCTION ledger_check_transaction(txn bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    legs integer;
    bad record;
BEGIN
    SELECT count(*) INTO legs FROM ledger_leg WHERE transaction_id = txn;
    IF legs < 2 THEN
        RAISE EXCEPTION 'ledger transaction % has % leg(s); a posting has at least two', txn, legs
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT currency_id, sum(amount) AS total INTO bad
        FROM ledger_leg WHERE transaction_id = txn
        GROUP BY currency_id HAVING sum(amount) <> 0
        ORDER BY currency_id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance: its % legs sum to %',
            txn, bad.currency_id, bad.total
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT l.id, l.currency_id, a.key INTO bad
        FROM ledger_leg l JOIN ledger_account a ON a.id = l.account_id
        WHERE l.transaction_id = txn AND l.currency_id <> a.currency_id
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger leg % is in %, but account % holds another currency',
            bad.id, bad.currency_id, bad.key
            USING ERRCODE = 'check_violation';
    END IF;
END
$$;

CREATE FUNCTION ledger_leg_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_check_transaction(NEW.transaction_id);
    RETURN NULL;
END
$$;

CREATE FUNCTION ledger_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_check_transaction(NEW.id);
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER ledger_leg_balanced
    AFTER INSERT ON ledger_leg
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_leg_balanced();

CREATE CONSTRAINT TRIGGER ledger_transaction_balanced
    AFTER INSERT ON ledger_transaction
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_transaction_balanced();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS ledger_transaction_balanced ON ledger_transaction;
DROP TRIGGER IF EXISTS ledger_leg_balanced ON ledger_leg;
DROP TRIGGER IF EXISTS ledger_leg_append_only ON ledger_leg;
DROP TRIGGER IF EXISTS ledger_transaction_append_only ON ledger_transaction;
DROP FUNCTION IF EXISTS ledger_transaction_balanced();
DROP FUNCTION IF EXISTS ledger_leg_balanced();
DROP FUNCTION IF EXISTS ledger_check_transaction(bigint);
DROP FUNCTION IF EXISTS ledger_refuse_change();
"""


class PostgresOnlyRunSQL(migrations.RunSQL):
    """RunSQL that does nothing on other databases (SQLite in the embedded mode)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [PostgresOnlyRunSQL(FORWARD, BACKWARD)]
