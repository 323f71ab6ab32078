// A device on plain MQTT.js: the three CONNECT fields of Alibaba's
// device-secret login computed by hand, which is what any MQTT client
// sends. IOT_ENDPOINT=http://127.0.0.1:8080 IOT_MQTT=mqtt://127.0.0.1:1883 node mqttjs.js
const crypto = require('node:crypto');
const mqtt = require('mqtt');
const RPCClient = require('@alicloud/pop-core');
const { endpoint, mqttUrl } = require('./endpoint'); // host:port or URLs

const rpc = new RPCClient({
  endpoint,
  apiVersion: '2018-01-20',
  accessKeyId: 'testAccessKeyId',
  accessKeySecret: 'testAccessKeySecret',
});

async function main() {
  const reg = await rpc.request('RegisterDevice', { ProductKey: 'a1TestProd1' }, { method: 'POST' });
  const { ProductKey: pk, DeviceName: dn, DeviceSecret: secret } = reg.Data;
  // quick-start:begin
  const clientId = `${pk}.${dn}`;
  const timestamp = String(Date.now());
  const content = `clientId${clientId}deviceName${dn}productKey${pk}timestamp${timestamp}`;
  const client = mqtt.connect(mqttUrl, {
    clientId: `${clientId}|securemode=3,signmethod=hmacsha256,timestamp=${timestamp}|`,
    username: `${dn}&${pk}`,
    password: crypto.createHmac('sha256', secret).update(content).digest('hex'),
    keepalive: 60,
  });
  // quick-start:end
  await new Promise((resolve, reject) => {
    client.on('connect', resolve);
    client.on('error', reject);
  });
  const st = await rpc.request('GetDeviceStatus', { ProductKey: pk, DeviceName: dn }, { method: 'POST' });
  console.log(`device ${dn} is ${st.Data.Status}`);
  await client.endAsync();
  if (st.Data.Status !== 'ONLINE') throw new Error(`want ONLINE, got ${st.Data.Status}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
