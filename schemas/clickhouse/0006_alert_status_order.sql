-- Case status changes made within one second must keep their order. On 18.16 `changed_at` has
-- whole seconds only, so two changes in the same second tied and the "current" status could be
-- either. `change_seq` (microseconds since the epoch, from the writer) breaks the tie; the view
-- orders by (changed_at, change_seq), so rows written before this column existed still order by time.
ALTER TABLE {{db}}.alert_status ADD COLUMN change_seq UInt64 DEFAULT 0;

DROP TABLE IF EXISTS {{db}}.alert_status_current;

CREATE VIEW IF NOT EXISTS {{db}}.alert_status_current AS
SELECT
    alert_id,
    argMax(status, (changed_at, change_seq)) AS status,
    argMax(owner, (changed_at, change_seq)) AS owner,
    argMax(note, (changed_at, change_seq)) AS note,
    argMax(who, (changed_at, change_seq)) AS who,
    max(changed_at) AS updated_at
FROM {{db}}.alert_status
GROUP BY alert_id;
