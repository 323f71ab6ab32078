// A device on the official Node device SDK (alibabacloud-iot-device-sdk),
// logging in to the emulator's broker with the DeviceSecret of a device the
// RPC API registers, then posting a property. Run it against a running
// emulator: IOT_ENDPOINT=http://127.0.0.1:8080 IOT_MQTT=mqtt://127.0.0.1:1883 node device.js
const RPCClient = require('@alicloud/pop-core');
const { endpoint, mqttUrl } = require('./endpoint'); // host:port or URLs
const iot = require('alibabacloud-iot-device-sdk');

const rpc = new RPCClient({
  endpoint,
  apiVersion: '2018-01-20',
  accessKeyId: 'testAccessKeyId',
  accessKeySecret: 'testAccessKeySecret',
});

async function main() {
  const reg = await rpc.request('RegisterDevice', { ProductKey: 'a1TestProd1' }, { method: 'POST' });
  const { ProductKey, DeviceName, DeviceSecret } = reg.Data;
  // quick-start:begin
  const device = iot.device({
    productKey: ProductKey, // e.g. 'a1TestProd1'
    deviceName: DeviceName,
    deviceSecret: DeviceSecret, // from RegisterDevice, QueryPageByApplyId or the fixtures
    brokerUrl: mqttUrl + '/', // 'mqtt://127.0.0.1:1883/' instead of ${ProductKey}.iot-as-mqtt.${region}.aliyuncs.com
  });
  device.on('connect', () => {
    device.publish(`/sys/${ProductKey}/${DeviceName}/thing/event/property/post`,
      JSON.stringify({ id: '1', version: '1.0', params: { temperature: 21.5 }, method: 'thing.event.property.post' }));
  });
  // quick-start:end
  await new Promise((resolve, reject) => {
    device.on('connect', resolve);
    device.on('error', reject);
  });
  const st = await rpc.request('GetDeviceStatus', { ProductKey, DeviceName }, { method: 'POST' });
  console.log(`device ${DeviceName} is ${st.Data.Status}`);
  device.end();
  if (st.Data.Status !== 'ONLINE') throw new Error(`want ONLINE, got ${st.Data.Status}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
