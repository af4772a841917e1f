"""The audit trail is append-only in the database itself: UPDATE and DELETE of a decision raise."""
from django.db import migrations

FORBID = """
CREATE OR REPLACE FUNCTION botdetect_decision_forbid_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'fair-play decisions are append-only: % is not allowed', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER botdetect_decision_append_only
    BEFORE UPDATE OR DELETE ON botdetect_decision
    FOR EACH ROW EXECUTE FUNCTION botdetect_decision_forbid_change();
"""
UNDO = """
DROP TRIGGER IF EXISTS botdetect_decision_append_only ON botdetect_decision;
DROP FUNCTION IF EXISTS botdetect_decision_forbid_change();
"""


class Migration(migrations.Migration):
    dependencies = [("botdetect", "0001_fairplay_tables")]
    operations = [migrations.RunSQL(FORBID, UNDO)]
