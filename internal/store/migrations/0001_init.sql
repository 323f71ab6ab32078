-- Every row belongs to one account (an AccessKeyId) and, for products, one
-- IoT instance ('' is the public instance). Keys are scoped by account so
-- that loose-auth accounts can all own the default ProductKey.
CREATE TABLE accounts (
    access_key_id     TEXT PRIMARY KEY,
    access_key_secret TEXT NOT NULL,
    security_token    TEXT NOT NULL DEFAULT '',
    created_ms        INTEGER NOT NULL
);

CREATE TABLE instances (
    access_key_id TEXT NOT NULL REFERENCES accounts(access_key_id) ON DELETE CASCADE,
    instance_id   TEXT NOT NULL,
    PRIMARY KEY (access_key_id, instance_id)
);

CREATE TABLE products (
    access_key_id  TEXT NOT NULL REFERENCES accounts(access_key_id) ON DELETE CASCADE,
    instance_id    TEXT NOT NULL DEFAULT '',
    product_key    TEXT NOT NULL,
    product_name   TEXT NOT NULL,
    product_secret TEXT NOT NULL,
    node_type      INTEGER NOT NULL DEFAULT 0,
    data_format    INTEGER NOT NULL DEFAULT 1,
    description    TEXT NOT NULL DEFAULT '',
    auth_type      TEXT NOT NULL DEFAULT 'secret',
    id2            INTEGER NOT NULL DEFAULT 0,
    protocol_type  TEXT NOT NULL DEFAULT '',
    net_type       TEXT NOT NULL DEFAULT 'WIFI',
    commodity_code TEXT NOT NULL DEFAULT 'iothub',
    category_key   TEXT NOT NULL DEFAULT '',
    validate_type  INTEGER NOT NULL DEFAULT 1,
    created_ms     INTEGER NOT NULL,
    seq            INTEGER NOT NULL,
    device_count   INTEGER NOT NULL DEFAULT 0, -- kept by the triggers below
    PRIMARY KEY (access_key_id, product_key)
);
CREATE UNIQUE INDEX products_name ON products(access_key_id, instance_id, product_name);

CREATE TABLE devices (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    access_key_id TEXT NOT NULL,
    product_key   TEXT NOT NULL,
    device_name   TEXT NOT NULL,
    device_secret TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    iot_id        TEXT NOT NULL UNIQUE,
    nickname      TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL DEFAULT 'UNACTIVE',
    apply_id      INTEGER,
    created_ms    INTEGER NOT NULL,
    modified_ms   INTEGER NOT NULL,
    FOREIGN KEY (access_key_id, product_key) REFERENCES products(access_key_id, product_key) ON DELETE CASCADE,
    UNIQUE (access_key_id, product_key, device_name)
);
CREATE INDEX devices_apply ON devices(apply_id, seq);
-- QueryDevice pages newest first; without this it sorts the whole product.
CREATE INDEX devices_page ON devices(access_key_id, product_key, created_ms, seq);

-- Product reads and quota checks are on the hot path; counting a product's
-- devices there costs O(devices) per call, so the count is kept instead.
CREATE TRIGGER devices_counted AFTER INSERT ON devices BEGIN
    UPDATE products SET device_count = device_count + 1
    WHERE access_key_id = NEW.access_key_id AND product_key = NEW.product_key;
END;
CREATE TRIGGER devices_uncounted AFTER DELETE ON devices BEGIN
    UPDATE products SET device_count = device_count - 1
    WHERE access_key_id = OLD.access_key_id AND product_key = OLD.product_key;
END;

-- A batch (an "application" in Alibaba's words). Its status and the moment
-- its transient state ends live here, so a restarted process resumes it.
CREATE TABLE batches (
    apply_id      INTEGER PRIMARY KEY AUTOINCREMENT,
    access_key_id TEXT NOT NULL REFERENCES accounts(access_key_id) ON DELETE CASCADE,
    instance_id   TEXT NOT NULL DEFAULT '',
    product_key   TEXT NOT NULL,
    kind          TEXT NOT NULL,          -- 'names' (BatchCheckDeviceNames) or 'random' (BatchRegisterDevice)
    status        TEXT NOT NULL,
    count         INTEGER NOT NULL,
    due_ms        INTEGER,                -- NULL: waits for an explicit advance
    polls_left    INTEGER,                -- NULL: not advanced by polling
    failed        INTEGER NOT NULL DEFAULT 0, -- names that failed check or creation
    created       INTEGER NOT NULL DEFAULT 0, -- devices the batch created
    created_ms    INTEGER NOT NULL,
    updated_ms    INTEGER NOT NULL
);
CREATE INDEX batches_pending ON batches(status, due_ms);

CREATE TABLE batch_names (
    apply_id    INTEGER NOT NULL REFERENCES batches(apply_id) ON DELETE CASCADE,
    idx         INTEGER NOT NULL,
    device_name TEXT NOT NULL,
    nickname    TEXT NOT NULL DEFAULT '',
    error_msg   TEXT NOT NULL DEFAULT '', -- non-empty: the name failed check or creation
    PRIMARY KEY (apply_id, idx)
);

-- Make ApplyIds look like the real service's 7-digit ones and stay unique
-- across resets (sqlite_sequence survives DELETE).
INSERT INTO sqlite_sequence(name, seq) VALUES ('batches', 1000000);
