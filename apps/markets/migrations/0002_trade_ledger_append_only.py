"""A market's trade ledger and its payouts are append-only in the database itself."""
from django.db import migrations

FORBID = """
CREATE OR REPLACE FUNCTION markets_forbid_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER markets_trade_append_only
    BEFORE UPDATE OR DELETE ON markets_markettrade
    FOR EACH ROW EXECUTE FUNCTION markets_forbid_change();
CREATE TRIGGER markets_payout_append_only
    BEFORE UPDATE OR DELETE ON markets_marketpayout
    FOR EACH ROW EXECUTE FUNCTION markets_forbid_change();
"""
UNDO = """
DROP TRIGGER IF EXISTS markets_trade_append_only ON markets_markettrade;
DROP TRIGGER IF EXISTS markets_payout_append_only ON markets_marketpayout;
DROP FUNCTION IF EXISTS markets_forbid_change();
"""


class Migration(migrations.Migration):
    dependencies = [("markets", "0001_initial")]
    operations = [migrations.RunSQL(FORBID, UNDO)]
