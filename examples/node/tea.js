// Registers random-name devices on the IoT emulator through the Tea SDK
// @alicloud/iot20180120 (ACS3-HMAC-SHA256 signatures by default), waits for
// CREATE_SUCCESS and reads the devices back. Exits 0 once that succeeded.
//
//   npm ci && IOT_ENDPOINT=http://127.0.0.1:8080 node tea.js
'use strict';

const { endpoint } = require('./endpoint'); // IOT_ENDPOINT: host:port or URL

// quick-start:begin
const Iot = require('@alicloud/iot20180120');
const { Config } = require('@alicloud/openapi-client');

const client = new Iot.default(new Config({
  endpoint: new URL(endpoint).host, // '127.0.0.1:8080'
  protocol: 'http',
  accessKeyId: 'testAccessKeyId',
  accessKeySecret: 'testAccessKeySecret',
}));

async function registerRandom(count) {
  const res = await client.batchRegisterDevice(
    new Iot.BatchRegisterDeviceRequest({ productKey: 'a1TestProd1', count }));
  if (!res.body.success) throw new Error(`${res.body.code}: ${res.body.errorMessage}`);
  return res.body.data.applyId; // poll queryBatchRegisterDeviceStatus with it
}
// quick-start:end

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const applyId = await registerRandom(3);
  for (let i = 0; ; i++) {
    const st = await client.queryBatchRegisterDeviceStatus(
      new Iot.QueryBatchRegisterDeviceStatusRequest({ productKey: 'a1TestProd1', applyId }));
    const status = st.body.data.status;
    if (status === 'CREATE_SUCCESS') break;
    if (status !== 'CREATE' || i > 200) throw new Error(`batch ${applyId} is ${status}`);
    await sleep(100);
  }
  const page = await client.queryPageByApplyId(
    new Iot.QueryPageByApplyIdRequest({ applyId, pageSize: 50, currentPage: 1 }));
  const devices = page.body.applyDeviceList.applyDeviceInfo;
  if (page.body.total !== 3 || devices.length !== 3) throw new Error(`want 3 devices, got ${JSON.stringify(page.body)}`);
  console.log(`Tea: batch ${applyId} created ${devices.map((d) => d.deviceName).join(', ')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
