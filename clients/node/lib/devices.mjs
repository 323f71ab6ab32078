// Devices for the Node tests: registered through BatchRegisterDevice with
// any RPC call function, and logged in with the official device SDK
// (alibabacloud-iot-device-sdk) at the broker run.sh started.

import { createRequire } from 'node:module';

import { poll, productKey } from './clients.mjs';

const require = createRequire(import.meta.url);
const iot = require('alibabacloud-iot-device-sdk');

const broker = process.env.IOT_EMULATOR_MQTT;
if (!broker) {
  throw new Error('IOT_EMULATOR_MQTT is not set: run the tests through clients/node/run.sh');
}

/** The broker as the device SDK wants it: mqtt://127.0.0.1:PORT/. */
export const brokerUrl = broker.replace(/^tcp:/, 'mqtt:') + '/';

/** Registers n devices with call(action, params) and returns them with their secrets. */
export async function register(call, n) {
  const started = await call('BatchRegisterDevice', { ProductKey: productKey, Count: n });
  const applyId = started.Data.ApplyId;
  await poll(async () => {
    const s = await call('QueryBatchRegisterDeviceStatus', { ProductKey: productKey, ApplyId: applyId });
    return s.Data.Status === 'CREATE_SUCCESS' ? true : undefined;
  });
  const page = await call('QueryPageByApplyId', { ApplyId: applyId, PageSize: 50 });
  return page.ApplyDeviceList.ApplyDeviceInfo;
}

/** Connects a device and resolves once it is connected, or rejects on an error or close first. */
export function connect(d, secret = d.DeviceSecret) {
  const device = iot.device({ productKey, deviceName: d.DeviceName, deviceSecret: secret, brokerUrl, keepalive: 60 });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { device.end(true); reject(new Error('no connect within 10s')); }, 10000);
    device.on('connect', () => { clearTimeout(timer); resolve(device); });
    device.on('error', (err) => { clearTimeout(timer); device.end(true); reject(err); });
    device.on('close', () => { clearTimeout(timer); reject(new Error('closed before connecting')); });
  });
}
