-- What the device side records of a device: when it was first activated
-- (NULL: never), when it last logged in, from where, and when its status
-- last changed (0: never since it was created).
ALTER TABLE devices ADD COLUMN active_ms INTEGER;
ALTER TABLE devices ADD COLUMN online_ms INTEGER;
ALTER TABLE devices ADD COLUMN ip_address TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN status_ms INTEGER NOT NULL DEFAULT 0;
-- A device logs in by ProductKey and DeviceName alone, whatever its account.
CREATE INDEX devices_login ON devices(product_key, device_name);
-- Products whose devices may fetch their DeviceSecret by dynamic
-- registration (one secret per product, 一型一密).
ALTER TABLE products ADD COLUMN dynamic_register INTEGER NOT NULL DEFAULT 0;
