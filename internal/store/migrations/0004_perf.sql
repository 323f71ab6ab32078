-- How many devices of each batch exist now, so a page of QueryPageByApplyId
-- neither counts the batch's devices (O(batch) per page, O(batch²) to read
-- them all) nor skips over OFFSET rows: a batch whose devices' seqs are
-- contiguous (MAX-MIN+1 = live) is paged by seq.
ALTER TABLE batches ADD COLUMN live INTEGER NOT NULL DEFAULT 0;
UPDATE batches SET live = (SELECT COUNT(*) FROM devices d WHERE d.apply_id = batches.apply_id);
CREATE TRIGGER devices_batch_uncounted AFTER DELETE ON devices WHEN OLD.apply_id IS NOT NULL BEGIN
    UPDATE batches SET live = live - 1 WHERE apply_id = OLD.apply_id;
END;

-- A device is counted in its product (and its batch) by the statement
-- that inserts it (store.insertDevice, store.insertDevices), not by a
-- trigger: a trigger runs a sub-program per row, and for a 10,000-device
-- batch that was 30 % of the settlement; one UPDATE per settlement does
-- the same. Deletions, rare and one by one, keep their triggers.
DROP TRIGGER devices_counted;

-- Start-up marks every ONLINE device OFFLINE (store.OfflineAll); without an
-- index that reads the whole table, a second at a million devices. Only
-- online devices are in this one, so it costs nothing to keep for the rest.
CREATE INDEX devices_online ON devices(status) WHERE status = 'ONLINE';
