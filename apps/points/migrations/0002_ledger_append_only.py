"""The ledger is append-only in the database itself: UPDATE and DELETE raise."""
from django.db import migrations

FORBID = """
CREATE OR REPLACE FUNCTION points_ledger_forbid_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'points ledger is append-only: % is not allowed', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER points_ledger_append_only
    BEFORE UPDATE OR DELETE ON points_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION points_ledger_forbid_change();
"""
UNDO = """
DROP TRIGGER IF EXISTS points_ledger_append_only ON points_ledgerentry;
DROP FUNCTION IF EXISTS points_ledger_forbid_change();
"""


class Migration(migrations.Migration):
    dependencies = [("points", "0001_initial")]
    operations = [migrations.RunSQL(FORBID, UNDO)]
