// The official Node device SDK (alibabacloud-iot-device-sdk 1.2.8) logs in
// to the emulator's broker with a DeviceSecret that BatchRegisterDevice
// issued, and the RPC API (pop-core) sees it ONLINE, then OFFLINE.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';

import { endpoint, poll, productKey } from '../lib/clients.mjs';
import { connect, register as registerWith } from '../lib/devices.mjs';

const require = createRequire(import.meta.url);
const RPCClient = require('@alicloud/pop-core');

const rpc = new RPCClient({ endpoint, apiVersion: '2018-01-20', accessKeyId: 'devicesdkKeyId', accessKeySecret: 'devicesdkSecret' });
const call = (action, params) => rpc.request(action, params, { method: 'POST' });
const register = (n) => registerWith(call, n);

const status = async (name) => (await call('GetDeviceStatus', { ProductKey: productKey, DeviceName: name })).Data.Status;


describe('alibabacloud-iot-device-sdk', () => {
  it('logs in with a DeviceSecret from BatchRegisterDevice, and the device is ONLINE, then OFFLINE after end()', async () => {
    const [d] = await register(1);
    assert.equal(await status(d.DeviceName), 'UNACTIVE');
    const device = await connect(d);
    assert.equal(await status(d.DeviceName), 'ONLINE');
    const detail = await call('QueryDeviceDetail', { ProductKey: productKey, DeviceName: d.DeviceName });
    assert.equal(detail.Data.Status, 'ONLINE');
    assert.equal(detail.Data.IpAddress, '127.0.0.1');
    await new Promise((resolve) => device.end(false, resolve));
    await poll(async () => ((await status(d.DeviceName)) === 'OFFLINE' ? true : undefined));
  });

  it('is refused with a wrong secret, and the device stays UNACTIVE', async () => {
    const [d] = await register(1);
    await assert.rejects(connect(d, 'wrongSecretwrongSecretwrongSecret'), (err) => {
      assert.match(String(err.message || err), /Not authorized|closed before connecting|Connection refused/i);
      return true;
    });
    assert.equal(await status(d.DeviceName), 'UNACTIVE');
  });
});
