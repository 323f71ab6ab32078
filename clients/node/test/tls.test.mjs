// Every Node client as it ships, over TLS with verification on: the Tea
// SDK with its default protocol (HTTPS), pop-core with an https://
// endpoint, the device SDK with mqtts:// (securemode=2). NODE_EXTRA_CA_CERTS
// (set by run.sh) makes Node trust the emulator's CA; a child process
// without it shows that the chain is really checked.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

import { productKey } from '../lib/clients.mjs';

const require = createRequire(import.meta.url);
const RPCClient = require('@alicloud/pop-core');
const Iot = require('@alicloud/iot20180120');
const { Config } = require('@alicloud/openapi-client');
const iot = require('alibabacloud-iot-device-sdk');

const httpsURL = process.env.IOT_EMULATOR_HTTPS_URL;
const mqtts = process.env.IOT_EMULATOR_MQTTS;
if (!httpsURL || !mqtts || !process.env.NODE_EXTRA_CA_CERTS) {
  throw new Error('IOT_EMULATOR_HTTPS_URL, IOT_EMULATOR_MQTTS and NODE_EXTRA_CA_CERTS are set by clients/node/run.sh');
}
const creds = { accessKeyId: 'devicesdkKeyId', accessKeySecret: 'devicesdkSecret' };
const host = new URL(httpsURL).host;

const pop = () => new RPCClient({ endpoint: httpsURL, apiVersion: '2018-01-20', ...creds });
// No protocol: the Tea SDK's default, HTTPS.
const tea = () => new Iot.default(new Config({ endpoint: host, ...creds }));

/** Runs a snippet in a child node without the emulator's CA; resolves with its stderr. */
async function withoutCA(code) {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  try {
    await promisify(execFile)(process.execPath, ['-e', code], { env, cwd: new URL('..', import.meta.url).pathname, timeout: 30000 });
  } catch (err) {
    return String(err.stderr);
  }
  assert.fail('the call succeeded without trusting the CA');
}

describe('TLS with the emulator CA', () => {
  it('pop-core calls an https:// endpoint', async () => {
    const res = await pop().request('QueryProduct', { ProductKey: productKey }, { method: 'POST' });
    assert.equal(res.Success, true);
  });

  it('the Tea SDK calls with its default protocol, HTTPS', async () => {
    const res = await tea().queryProduct(new Iot.QueryProductRequest({ productKey }));
    assert.equal(res.body.success, true);
  });

  it('the device SDK logs in over mqtts:// (securemode=2)', async () => {
    const reg = await pop().request('RegisterDevice', { ProductKey: productKey }, { method: 'POST' });
    const { DeviceName, DeviceSecret } = reg.Data;
    const device = iot.device({ productKey, deviceName: DeviceName, deviceSecret: DeviceSecret, brokerUrl: mqtts.replace(/^ssl:/, 'mqtts:') + '/' });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no connect within 10s')), 10000);
      device.on('connect', () => { clearTimeout(timer); resolve(); });
      device.on('error', (err) => { clearTimeout(timer); reject(err); });
    });
    const st = await pop().request('GetDeviceStatus', { ProductKey: productKey, DeviceName }, { method: 'POST' });
    assert.equal(st.Data.Status, 'ONLINE');
    await new Promise((resolve) => device.end(false, resolve));
  });

  it('pop-core without the CA is refused by its own TLS check', async () => {
    const stderr = await withoutCA(`
      const RPCClient = require('@alicloud/pop-core');
      new RPCClient({ endpoint: ${JSON.stringify(httpsURL)}, apiVersion: '2018-01-20', accessKeyId: 'a', accessKeySecret: 'b' })
        .request('QueryProduct', { ProductKey: 'x' }).then(() => process.exit(0), (e) => { console.error(e.code || e.message); process.exit(1); });`);
    assert.match(stderr, /SELF_SIGNED|UNABLE_TO_VERIFY|unable to verify|self-signed|certificate/i);
  });

  it('the Tea SDK without the CA is refused by its own TLS check', async () => {
    const stderr = await withoutCA(`
      const Iot = require('@alicloud/iot20180120'); const { Config } = require('@alicloud/openapi-client');
      new Iot.default(new Config({ endpoint: ${JSON.stringify(host)}, accessKeyId: 'a', accessKeySecret: 'b' }))
        .queryProduct(new Iot.QueryProductRequest({ productKey: 'x' })).then(() => process.exit(0), (e) => { console.error(e.code || e.message); process.exit(1); });`);
    assert.match(stderr, /SELF_SIGNED|UNABLE_TO_VERIFY|unable to verify|self-signed|certificate/i);
  });

  it('the device SDK without the CA is refused by its own TLS check', async () => {
    const stderr = await withoutCA(`
      const iot = require('alibabacloud-iot-device-sdk');
      const d = iot.device({ productKey: 'a1TestProd1', deviceName: 'nobody00', deviceSecret: 'x', brokerUrl: ${JSON.stringify(mqtts.replace(/^ssl:/, 'mqtts:') + '/')}, reconnectPeriod: 0 });
      d.on('connect', () => process.exit(0));
      d.on('error', (e) => { console.error(require('util').inspect(e)); process.exit(1); });
      setTimeout(() => { console.error('timeout'); process.exit(1); }, 10000);`);
    assert.match(stderr, /SELF_SIGNED|UNABLE_TO_VERIFY|unable to verify|self-signed|certificate/i);
  });
});
