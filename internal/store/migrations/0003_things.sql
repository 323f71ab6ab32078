-- Thing models: the draft (version '') and the published versions of each
-- product's TSL, kept as the TSL JSON the product was given.
CREATE TABLE thing_models (
    access_key_id TEXT NOT NULL,
    product_key   TEXT NOT NULL,
    version       TEXT NOT NULL,          -- '' is the draft
    tsl           TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    created_ms    INTEGER NOT NULL,
    PRIMARY KEY (access_key_id, product_key, version),
    FOREIGN KEY (access_key_id, product_key) REFERENCES products(access_key_id, product_key) ON DELETE CASCADE
);

-- The latest value of each property a device reported (QueryDevicePropertyStatus).
CREATE TABLE property_latest (
    iot_id     TEXT NOT NULL REFERENCES devices(iot_id) ON DELETE CASCADE,
    identifier TEXT NOT NULL,
    data_type  TEXT NOT NULL,
    value      TEXT NOT NULL,
    time_ms    INTEGER NOT NULL,
    PRIMARY KEY (iot_id, identifier)
) WITHOUT ROWID;

-- Property history (QueryDevicePropertyData), bounded per device.
CREATE TABLE property_history (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    iot_id     TEXT NOT NULL REFERENCES devices(iot_id) ON DELETE CASCADE,
    identifier TEXT NOT NULL,
    value      TEXT NOT NULL,
    time_ms    INTEGER NOT NULL
);
CREATE INDEX property_history_time ON property_history(iot_id, identifier, time_ms);
CREATE INDEX property_history_device ON property_history(iot_id, seq);

-- Events devices posted (QueryDeviceEventData), bounded per device.
CREATE TABLE event_history (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    iot_id      TEXT NOT NULL REFERENCES devices(iot_id) ON DELETE CASCADE,
    identifier  TEXT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    event_type  TEXT NOT NULL,
    output_data TEXT NOT NULL,
    time_ms     INTEGER NOT NULL
);
CREATE INDEX event_history_time ON event_history(iot_id, time_ms);

-- Service calls and the devices' replies (QueryDeviceServiceData).
CREATE TABLE service_history (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    iot_id      TEXT NOT NULL REFERENCES devices(iot_id) ON DELETE CASCADE,
    identifier  TEXT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    message_id  TEXT NOT NULL,
    input_data  TEXT NOT NULL,
    output_data TEXT NOT NULL DEFAULT '',
    time_ms     INTEGER NOT NULL
);
CREATE INDEX service_history_time ON service_history(iot_id, time_ms);
CREATE INDEX service_history_message ON service_history(iot_id, message_id);

-- Device shadows, as their JSON document.
CREATE TABLE shadows (
    iot_id   TEXT PRIMARY KEY REFERENCES devices(iot_id) ON DELETE CASCADE,
    document TEXT NOT NULL,
    version  INTEGER NOT NULL
);

-- Desired property values (SetDeviceDesiredProperty); value NULL: cleared.
CREATE TABLE desired_properties (
    iot_id     TEXT NOT NULL REFERENCES devices(iot_id) ON DELETE CASCADE,
    identifier TEXT NOT NULL,
    data_type  TEXT NOT NULL DEFAULT '',
    value      TEXT,
    version    INTEGER NOT NULL,
    time_ms    INTEGER NOT NULL,
    PRIMARY KEY (iot_id, identifier)
) WITHOUT ROWID;

-- Every message to or from a device, bounded; kept when the device goes,
-- so a test can still see what reached it.
CREATE TABLE messages (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    access_key_id TEXT NOT NULL REFERENCES accounts(access_key_id) ON DELETE CASCADE,
    time_ms       INTEGER NOT NULL,
    direction     TEXT NOT NULL,          -- 'up' (device to cloud) or 'down'
    product_key   TEXT NOT NULL,
    device_name   TEXT NOT NULL,
    topic         TEXT NOT NULL,
    qos           INTEGER NOT NULL,
    payload       BLOB NOT NULL,
    message_id    TEXT NOT NULL DEFAULT '',
    request_id    TEXT NOT NULL DEFAULT '',
    virtual       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX messages_device ON messages(product_key, device_name, seq);
