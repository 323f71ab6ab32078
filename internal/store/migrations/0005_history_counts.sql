-- How many rows each device holds in each history table, so keeping a
-- device's newest N (store.trim) deletes just the rows past N. Without it
-- every write looked up the N-th newest row, walking N index entries: a
-- property post of a device with 10,000 points cost 0.7 ms instead of
-- 0.05 ms. Rows leave history tables only by that trim and by the
-- device's deletion, which takes its counts with it.
CREATE TABLE history_counts (
    iot_id TEXT NOT NULL REFERENCES devices(iot_id) ON DELETE CASCADE,
    tbl    TEXT NOT NULL,  -- property_history, event_history or service_history
    n      INTEGER NOT NULL,
    PRIMARY KEY (iot_id, tbl)
) WITHOUT ROWID;
INSERT INTO history_counts SELECT iot_id, 'property_history', COUNT(*) FROM property_history GROUP BY iot_id;
INSERT INTO history_counts SELECT iot_id, 'event_history', COUNT(*) FROM event_history GROUP BY iot_id;
INSERT INTO history_counts SELECT iot_id, 'service_history', COUNT(*) FROM service_history GROUP BY iot_id;

-- The trim deletes a device's oldest rows by seq.
CREATE INDEX event_history_device ON event_history(iot_id, seq);
CREATE INDEX service_history_device ON service_history(iot_id, seq);
