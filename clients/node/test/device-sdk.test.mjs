// The official Node device SDK (alibabacloud-iot-device-sdk 1.2.8) logs in
// to the emulator's broker with a DeviceSecret that BatchRegisterDevice
// issued, and the RPC API (pop-core) sees it ONLINE, then OFFLINE.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';

import { endpoint, poll, productKey } from '../lib/clients.mjs';

const require = createRequire(import.meta.url);
const RPCClient = require('@alicloud/pop-core');
const iot = require('alibabacloud-iot-device-sdk');

const broker = process.env.IOT_EMULATOR_MQTT;
if (!broker) {
  throw new Error('IOT_EMULATOR_MQTT is not set: run the tests through clients/node/run.sh');
}
const brokerUrl = broker.replace(/^tcp:/, 'mqtt:') + '/';

const rpc = new RPCClient({ endpoint, apiVersion: '2018-01-20', accessKeyId: 'devicesdkKeyId', accessKeySecret: 'devicesdkSecret' });
const call = (action, params) => rpc.request(action, params, { method: 'POST' });

/** Registers n devices and returns them with their secrets. */
async function register(n) {
  const started = await call('BatchRegisterDevice', { ProductKey: productKey, Count: n });
  const applyId = started.Data.ApplyId;
  await poll(async () => {
    const s = await call('QueryBatchRegisterDeviceStatus', { ProductKey: productKey, ApplyId: applyId });
    return s.Data.Status === 'CREATE_SUCCESS' ? true : undefined;
  });
  const page = await call('QueryPageByApplyId', { ApplyId: applyId, PageSize: 50 });
  return page.ApplyDeviceList.ApplyDeviceInfo;
}

const status = async (name) => (await call('GetDeviceStatus', { ProductKey: productKey, DeviceName: name })).Data.Status;

/** Connects a device and resolves once it is connected, or rejects on an error or close first. */
function connect(d, secret = d.DeviceSecret) {
  const device = iot.device({ productKey, deviceName: d.DeviceName, deviceSecret: secret, brokerUrl, keepalive: 60 });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { device.end(true); reject(new Error('no connect within 10s')); }, 10000);
    device.on('connect', () => { clearTimeout(timer); resolve(device); });
    device.on('error', (err) => { clearTimeout(timer); device.end(true); reject(err); });
    device.on('close', () => { clearTimeout(timer); reject(new Error('closed before connecting')); });
  });
}

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
