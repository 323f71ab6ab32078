// The cloud ↔ device loop with the official clients on both sides: the
// application calls the RPC API through @alicloud/pop-core, the device is
// the official Node device SDK (alibabacloud-iot-device-sdk 1.2.8) logged
// in with a DeviceSecret from BatchRegisterDevice. The product carries the
// default fixture's thing model (fixtures.json, account thingsKeyId).

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';

import { endpoint, poll, productKey } from '../lib/clients.mjs';
import { connect, register } from '../lib/devices.mjs';

const require = createRequire(import.meta.url);
const RPCClient = require('@alicloud/pop-core');

const rpc = new RPCClient({ endpoint, apiVersion: '2018-01-20', accessKeyId: 'thingsKeyId', accessKeySecret: 'thingsSecret' });
const call = (action, params) => rpc.request(action, params, { method: 'POST' });

/** Resolves with the first message whose topic starts with prefix. */
function nextMessage(device, prefix) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nothing on ${prefix} within 10s`)), 10000);
    const on = (topic, payload) => {
      if (topic.startsWith(prefix)) {
        clearTimeout(timer);
        device.removeListener('message', on);
        resolve({ topic, payload });
      }
    };
    device.on('message', on);
  });
}

const props = async (dn) => {
  const r = await call('QueryDevicePropertyStatus', { ProductKey: productKey, DeviceName: dn });
  return Object.fromEntries(r.Data.List.PropertyStatusInfo.map((p) => [p.Identifier, p]));
};

describe('the device SDK and pop-core around one thing model', () => {
  let d;
  let device;
  let sys;
  before(async () => {
    [d] = await register(call, 1);
    device = await connect(d);
    sys = `/sys/${productKey}/${d.DeviceName}/`;
  });
  after(async () => {
    if (device) await new Promise((resolve) => device.end(false, resolve));
  });

  it('postProps gets a 200 reply with its id, and QueryDevicePropertyStatus and QueryDevicePropertyData read it back', async () => {
    const reply = await new Promise((resolve) => device.postProps({ temperature: 22.5, humidity: 55 }, resolve));
    assert.equal(reply.code, 200);
    assert.match(reply.id, /\|exp-topic\|/, 'the SDK matches the reply by the id it sent');
    const p = await props(d.DeviceName);
    assert.equal(p.temperature.Value, '22.5');
    assert.equal(p.humidity.Value, '55');
    const hist = await call('QueryDevicePropertyData', {
      ProductKey: productKey, DeviceName: d.DeviceName, Identifier: 'humidity',
      StartTime: Date.now() - 3600000, EndTime: Date.now() + 60000, Asc: 1, PageSize: 10,
    });
    assert.deepEqual(hist.Data.List.PropertyInfo.map((i) => i.Value), ['55']);
  });

  it('a value that breaks the model is answered with an Alink error code', async () => {
    const reply = await new Promise((resolve) => device.postProps({ humidity: 'wet' }, resolve));
    assert.notEqual(reply.code, 200);
    assert.equal((await props(d.DeviceName)).humidity.Value, '55');
  });

  it('postEvent is stored and QueryDeviceEventData lists it', async () => {
    const reply = await new Promise((resolve) => device.postEvent('overheat', { temperature: 95.5 }, resolve));
    assert.equal(reply.code, 200);
    const ev = await call('QueryDeviceEventData', {
      ProductKey: productKey, DeviceName: d.DeviceName, StartTime: Date.now() - 3600000, EndTime: Date.now() + 60000,
    });
    assert.equal(ev.Data.List.EventInfo[0].Identifier, 'overheat');
    assert.deepEqual(JSON.parse(ev.Data.List.EventInfo[0].OutputData), { temperature: 95.5 });
  });

  it('SetDeviceProperty reaches onProps, and the device posting the value updates the status', async () => {
    const got = new Promise((resolve) => device.onProps(resolve));
    const res = await call('SetDeviceProperty', { ProductKey: productKey, DeviceName: d.DeviceName, Items: JSON.stringify({ LightSwitch: 1 }) });
    const cmd = await got;
    assert.equal(cmd.id, res.Data.MessageId);
    assert.deepEqual(cmd.params, { LightSwitch: 1 });
    device.publish(`${sys}thing/service/property/set_reply`, JSON.stringify({ id: cmd.id, code: 200, data: {} }));
    await new Promise((resolve) => device.postProps(cmd.params, resolve));
    assert.equal((await props(d.DeviceName)).LightSwitch.Value, '1');
  });

  it('a sync InvokeThingService reaches onService over RRPC and answers the reply data as Result', async () => {
    device.onService('reboot', (res, reply) => {
      assert.deepEqual(res.params, { delay: 3 });
      reply({ id: res.id, code: 200, data: { ok: true } }, 'sync');
    });
    const res = await call('InvokeThingService', { ProductKey: productKey, DeviceName: d.DeviceName, Identifier: 'reboot', Args: JSON.stringify({ delay: 3 }) });
    assert.deepEqual(JSON.parse(res.Data.Result), { ok: true });
  });

  it('an async InvokeThingService reaches onService and the reply is stored', async () => {
    const seen = new Promise((resolve) => {
      device.onService('setTimer', (res, reply) => {
        reply({ id: res.id, code: 200, data: {} });
        resolve(res);
      });
    });
    const res = await call('InvokeThingService', { ProductKey: productKey, DeviceName: d.DeviceName, Identifier: 'setTimer', Args: JSON.stringify({ seconds: 9 }) });
    const cmd = await seen;
    assert.equal(cmd.id, res.Data.MessageId);
    await poll(async () => {
      const s = await call('QueryDeviceServiceData', {
        ProductKey: productKey, DeviceName: d.DeviceName, Identifier: 'setTimer', StartTime: Date.now() - 3600000, EndTime: Date.now() + 60000,
      });
      const info = s.Data.List.ServiceInfo[0];
      return info && info.OutputData ? true : undefined;
    });
  });

  it('Pub delivers the decoded bytes to a subscribed custom topic', async () => {
    const topic = `/${productKey}/${d.DeviceName}/user/get`;
    await new Promise((resolve, reject) => device.subscribe(topic, (err) => (err ? reject(err) : resolve())));
    const got = nextMessage(device, topic);
    const bytes = Buffer.from([0x00, 0xfe, 0x41, 0x0a]);
    await call('Pub', { ProductKey: productKey, TopicFullName: topic, MessageContent: bytes.toString('base64'), Qos: 1 });
    const m = await got;
    assert.deepEqual(Buffer.from(m.payload), bytes);
  });

  it('RRpc answers SUCCESS with the bytes the device sent back', async () => {
    const req = nextMessage(device, `${sys}rrpc/request/`);
    const pending = call('RRpc', { ProductKey: productKey, DeviceName: d.DeviceName, RequestBase64Byte: Buffer.from('ping').toString('base64'), Timeout: 5000 });
    const m = await req;
    device.publish(m.topic.replace('/rrpc/request/', '/rrpc/response/'), 'pong');
    const res = await pending;
    assert.equal(res.RrpcCode, 'SUCCESS');
    assert.equal(Buffer.from(res.PayloadBase64Byte, 'base64').toString(), 'pong');
  });

  it('the shadow: UpdateDeviceShadow reaches onShadow, postShadow is read back with GetDeviceShadow', async () => {
    const control = new Promise((resolve) => device.onShadow((res) => { if (res.method === 'control') resolve(res); }));
    await call('UpdateDeviceShadow', {
      ProductKey: productKey, DeviceName: d.DeviceName,
      ShadowMessage: JSON.stringify({ method: 'update', state: { desired: { color: 'blue' } }, version: 1 }),
    });
    const res = await control;
    assert.deepEqual(res.payload.state.desired, { color: 'blue' });
    device.postShadow({ color: 'blue' });
    await poll(async () => {
      const s = await call('GetDeviceShadow', { ProductKey: productKey, DeviceName: d.DeviceName });
      const doc = JSON.parse(s.ShadowMessage);
      return doc.state.reported && doc.state.reported.color === 'blue' ? true : undefined;
    });
  });
});
