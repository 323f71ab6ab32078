// The tests every client mode runs: the full custom-name flow, then each
// gateway and business error as that client hands it to its caller
// (protocol.md §12, shared/testdata/README.md "Errors").

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { account, client, modes, nonce, poll, productKey, settled, stsAccount } from './clients.mjs';

// The QPS limit run.sh gives BatchRegisterDevice, which no flow uses.
const throttledAction = 'BatchRegisterDevice';
const throttledQPS = Number(process.env.IOT_EMULATOR_THROTTLED_QPS || 2);

const requestId = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;

/** expectRejection awaits p, which must fail, and returns the error. */
async function rejection(p) {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.fail('the call succeeded');
}

/**
 * expectGatewayError checks how the mode's client surfaces a gateway error
 * with the given code and HTTP status, and returns the error.
 */
function expectGatewayError(mode, err, code, status, message) {
  assert.ok(err instanceof Error, `an Error, got ${err}`);
  assert.equal(err.code, code);
  if (mode.startsWith('pop-')) {
    // pop-core: name <Code>Error, message "<Message>, URL: <url>", the body as data.
    assert.equal(err.name, `${code}Error`);
    assert.ok(err.message.startsWith(`${message}`), err.message);
    assert.match(err.message, /, URL: http:\/\/127\.0\.0\.1:\d+\//);
    assert.equal(err.entry.response.statusCode, status);
  } else {
    // Tea: message "<Code>: code: <status>, <Message> request id: <id>", statusCode, body plus statusCode as data.
    assert.equal(err.statusCode, status);
    assert.ok(err.message.startsWith(`${code}: code: ${status}, ${message}`), err.message);
    assert.match(err.message, / request id: [0-9A-F-]{36}$/);
    assert.equal(err.data.statusCode, status);
  }
  assert.equal(err.data.Code, code);
  assert.match(err.data.RequestId, requestId);
  assert.ok(err.data.HostId, 'HostId');
  assert.ok(err.data.Recommend.startsWith(`https://api.aliyun.com/troubleshoot?q=${code}&product=Iot`), err.data.Recommend);
  return err;
}

const names = [
  { DeviceName: 'node:01@flow', DeviceNickname: '温度传感器_一号' },
  { DeviceName: 'node-02.flow', DeviceNickname: 'lamp_2' },
  { DeviceName: 'node_03' },
  { DeviceName: 'node04', DeviceNickname: 'Sensor4' },
  { DeviceName: 'node05' },
];

/** Registers the tests of one client mode. */
export function clientSuite(mode) {
  assert.ok(modes.includes(mode), mode);
  const creds = account(mode);
  const c = client(mode, creds);

  describe(`${mode}: the custom-name flow`, () => {
    it('checks names with nicknames, registers them and pages through the devices', async () => {
      const check = await c.call('BatchCheckDeviceNames', { ProductKey: productKey, DeviceNameList: names });
      assert.equal(check.Success, true, JSON.stringify(check));
      assert.equal(check.Code, undefined, 'no Code on success');
      assert.match(check.RequestId, requestId);
      const applyId = check.Data.ApplyId;
      assert.equal(typeof applyId, 'number');
      assert.ok(applyId > 0);

      const checked = await settled(c, applyId);
      assert.equal(checked.Status, 'CHECK_SUCCESS');
      assert.deepEqual(checked.InvalidList.Name, []);

      const reg = await c.call('BatchRegisterDeviceWithApplyId', { ProductKey: productKey, ApplyId: applyId });
      assert.equal(reg.Success, true, JSON.stringify(reg));
      assert.equal(reg.Data.ApplyId, applyId);

      const created = await settled(c, applyId);
      assert.equal(created.Status, 'CREATE_SUCCESS');

      const got = [];
      for (let page = 1; page <= 3; page++) {
        const p = await c.call('QueryPageByApplyId', { ApplyId: applyId, PageSize: 2, CurrentPage: page });
        assert.equal(p.Success, true, JSON.stringify(p));
        assert.equal(p.Total, names.length);
        assert.equal(p.PageCount, 3);
        assert.equal(p.Page, page);
        assert.ok(Array.isArray(p.ApplyDeviceList.ApplyDeviceInfo), 'a list is an array, even of one');
        for (const d of p.ApplyDeviceList.ApplyDeviceInfo) {
          assert.match(d.DeviceSecret, /^[0-9a-zA-Z]{32}$/);
          assert.equal(d.IotId, d.DeviceId + '000100');
          got.push(d.DeviceName);
        }
      }
      assert.deepEqual(got, names.map((n) => n.DeviceName));
    });

    it('checks a plain DeviceName list', async () => {
      const check = await c.call('BatchCheckDeviceNames', { ProductKey: productKey, DeviceName: ['plain01', 'plain02'] });
      assert.equal(check.Success, true, JSON.stringify(check));
      const st = await settled(c, check.Data.ApplyId);
      assert.equal(st.Status, 'CHECK_SUCCESS');
    });

    it('is admitted with STS credentials carrying the fixture token', async () => {
      const sts = client(mode, stsAccount);
      const check = await sts.call('BatchCheckDeviceNames', { ProductKey: productKey, DeviceName: ['stsdev01'] });
      assert.equal(check.Success, true, JSON.stringify(check));
    });
  });

  describe(`${mode}: errors as the client surfaces them`, () => {
    it('a wrong secret is SignatureDoesNotMatch', async () => {
      const bad = client(mode, { ...creds, accessKeySecret: 'wrongSecret' });
      const err = expectGatewayError(mode, await rejection(bad.call('QueryBatchRegisterDeviceStatus', { ProductKey: productKey, ApplyId: 1 })),
        'SignatureDoesNotMatch', 400, 'Specified signature is not matched with our calculation.');
      if (mode === 'tea-v3') {
        assert.ok(!err.data.Message.includes('server string to sign is'), 'V3 has no string to sign in the message');
      } else {
        const method = mode === 'pop-get' ? 'GET' : 'POST';
        assert.ok(err.data.Message.includes(` server string to sign is:${method}&%2F&AccessKeyId%3D${creds.accessKeyId}%26`), err.data.Message);
      }
    });

    it('an unknown AccessKeyId is InvalidAccessKeyId.NotFound with HTTP 404', async () => {
      const bad = client(mode, { accessKeyId: 'nobodyKeyId', accessKeySecret: 'x' });
      expectGatewayError(mode, await rejection(bad.call('QueryPageByApplyId', { ApplyId: 1 })),
        'InvalidAccessKeyId.NotFound', 404, 'Specified access key is not found.');
    });

    it('a replayed nonce is SignatureNonceUsed', async () => {
      const n = nonce();
      await c.call('QueryBatchRegisterDeviceStatus', { ProductKey: productKey, ApplyId: 1 }, { nonce: n }).catch((err) => {
        assert.equal(err.code, 'iot.device.DeviceApplyIsNotFound', 'the first use is admitted');
      });
      expectGatewayError(mode, await rejection(c.call('QueryBatchRegisterDeviceStatus', { ProductKey: productKey, ApplyId: 1 }, { nonce: n })),
        'SignatureNonceUsed', 400, 'Specified signature nonce was used already.');
    });

    it('a timestamp an hour old is InvalidTimeStamp.Expired', async () => {
      const stale = new Date(Date.now() - 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      expectGatewayError(mode, await rejection(c.call('QueryPageByApplyId', { ApplyId: 1 }, { timestamp: stale })),
        'InvalidTimeStamp.Expired', 400, 'Specified time stamp or date value is expired.');
    });

    it('an unknown product is the business error iot.prod.NotExistedProduct', async () => {
      const call = c.call('QueryBatchRegisterDeviceStatus', { ProductKey: 'a1NoSuchProd', ApplyId: 1 });
      if (mode.startsWith('pop-')) {
        // pop-core throws on any Code, and builds its message from the
        // missing Message field.
        const err = await rejection(call);
        assert.equal(err.name, 'iot.prod.NotExistedProductError');
        assert.equal(err.code, 'iot.prod.NotExistedProduct');
        assert.ok(err.message.startsWith('undefined, URL: '), err.message);
        assert.equal(err.entry.response.statusCode, 200);
        assert.equal(err.data.Success, false);
        assert.equal(err.data.ErrorMessage, 'The specified product does not exist.');
        assert.match(err.data.RequestId, requestId);
      } else {
        // Tea hands back the body: a business failure is not an error.
        const body = await call;
        assert.equal(body.Success, false);
        assert.equal(body.Code, 'iot.prod.NotExistedProduct');
        assert.equal(body.ErrorMessage, 'The specified product does not exist.');
      }
    });

    it(`a burst over the ${throttledAction} limit is Throttling.User, and nothing else`, async () => {
      const t = client(mode, account(mode, 'throttle'));
      const n = throttledQPS + 18;
      const results = await Promise.allSettled(Array.from({ length: n }, () => t.call(throttledAction, { ProductKey: productKey, Count: 1 })));
      const ok = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter((r) => r.status === 'rejected').map((r) => r.reason);
      for (const r of ok) assert.equal(r.value.Success, true, JSON.stringify(r.value));
      assert.ok(refused.length >= 1, `${n} calls at once against ${throttledQPS} QPS: some must be refused`);
      assert.ok(ok.length <= n - 1);
      for (const err of refused) {
        expectGatewayError(mode, err, 'Throttling.User', 400, 'Request was denied due to user flow control.');
        if (mode.startsWith('pop-')) {
          // The hint the Tea SDKs read (darabonba getThrottlingTimeLeft).
          assert.match(err.entry.response.headers['x-ratelimit-user-api'], /^Limit:\d+,Remain:0,TimeLeft:\d+,Reset:\d+$/);
        }
      }
      // The bucket refills: after the hinted wait a call gets through again.
      await poll(async () => {
        try {
          return await t.call(throttledAction, { ProductKey: productKey, Count: 1 });
        } catch (err) {
          if (err.code !== 'Throttling.User') throw err;
          return undefined;
        }
      }, { ms: 200, attempts: 50 });
    });
  });
}
