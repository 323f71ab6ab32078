// Registers a batch of devices on the IoT emulator through @alicloud/pop-core:
// waits for the emulator's health check, checks device names, waits for
// CHECK_SUCCESS, registers them, waits for CREATE_SUCCESS and pages through
// the new devices. Exits 0 once the whole flow has succeeded.
//
//   npm ci && IOT_ENDPOINT=http://127.0.0.1:8080 node index.js
'use strict';

const { endpoint } = require('./endpoint'); // IOT_ENDPOINT: host:port or URL

// quick-start:begin
const RPCClient = require('@alicloud/pop-core');

const client = new RPCClient({
  endpoint, // 'http://127.0.0.1:8080'
  apiVersion: '2018-01-20',
  accessKeyId: 'testAccessKeyId',
  accessKeySecret: 'testAccessKeySecret',
});

async function checkNames(names) {
  // Business errors (Success: false, an iot.* Code) reject the promise.
  const res = await client.request('BatchCheckDeviceNames',
    { ProductKey: 'a1TestProd1', DeviceName: names }, { method: 'POST' });
  return res.Data.ApplyId; // poll QueryBatchRegisterDeviceStatus with it
}
// quick-start:end

const crypto = require('node:crypto');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitHealthy(deadline) {
  for (;;) {
    try {
      const res = await fetch(`${client.endpoint}/_emulator/health`);
      if (res.ok) return;
    } catch (err) {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`emulator at ${client.endpoint} not healthy`);
    await sleep(250);
  }
}

async function waitStatus(applyId, want) {
  for (;;) {
    const res = await client.request('QueryBatchRegisterDeviceStatus', { ProductKey: 'a1TestProd1', ApplyId: applyId });
    const status = res.Data.Status;
    if (status === want) return;
    if (status !== 'CHECK' && status !== 'CREATE') {
      throw new Error(`batch ${applyId} ended in ${status}, want ${want}`);
    }
    await sleep(200); // well under the action's 30 QPS limit
  }
}

async function main() {
  await waitHealthy(Date.now() + 120000);
  console.log(`emulator at ${client.endpoint} is healthy`);
  // Names unique to this run, so it can run again against a kept --db.
  const tag = crypto.randomBytes(4).toString('hex');
  const names = [1, 2, 3].map((i) => `node-${tag}-${i}`);

  const applyId = await checkNames(names);
  console.log('ApplyId:', applyId);
  await waitStatus(applyId, 'CHECK_SUCCESS');
  console.log('names checked:', names.join(' '));
  await client.request('BatchRegisterDeviceWithApplyId', { ProductKey: 'a1TestProd1', ApplyId: applyId });
  await waitStatus(applyId, 'CREATE_SUCCESS');

  let registered = 0;
  for (let page = 1; ; page++) {
    const pr = await client.request('QueryPageByApplyId', { ApplyId: applyId, PageSize: 50, CurrentPage: page });
    for (const d of pr.ApplyDeviceList.ApplyDeviceInfo) {
      console.log(`device ${d.DeviceName} IotId=${d.IotId} DeviceSecret=${d.DeviceSecret}`);
      registered++;
    }
    if (page >= pr.PageCount) break;
  }
  if (registered !== names.length) {
    throw new Error(`batch ${applyId} lists ${registered} devices, want ${names.length}`);
  }
  console.log(`registered ${registered} devices in batch ${applyId}`);
}

main().catch((err) => {
  console.error('example:', err.message || err);
  process.exit(1);
});
