// The official Node clients, pointed at the emulator and wrapped behind one
// call(action, params, opts) so every test runs against each client mode:
//
//   pop-get   @alicloud/pop-core, default GET (everything in the query, V1)
//   pop-post  @alicloud/pop-core with {method: 'POST'} (everything in a form body, V1)
//   tea-v3    @alicloud/iot20180120 (Tea), default ACS3-HMAC-SHA256
//   tea-v2    @alicloud/iot20180120 with signatureAlgorithm 'v2' (V1 in the query)
//
// call() resolves with the answer body keyed the way the wire spells it
// (PascalCase), and rejects with whatever the client itself throws, so
// tests see exactly what an application using that client would see.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const RPCClient = require('@alicloud/pop-core');
const Iot = require('@alicloud/iot20180120');
const OpenApi = require('@alicloud/openapi-client');

/** The emulator's base URL, e.g. http://127.0.0.1:41234 (set by run.sh). */
export const endpoint = (() => {
  const url = process.env.IOT_EMULATOR_URL;
  if (!url) {
    throw new Error('IOT_EMULATOR_URL is not set: run the tests through clients/node/run.sh, or point it at a running emulator');
  }
  return url.replace(/\/+$/, '');
})();

export const modes = ['pop-get', 'pop-post', 'tea-v3', 'tea-v2'];

/** The product every fixture account of fixtures.json owns. */
export const productKey = 'a1TestProd1';

/**
 * The fixture account (fixtures.json) of a client mode and purpose: each
 * mode gets accounts of its own, so the test files, which node --test runs
 * in parallel, never share a QPS bucket.
 */
export function account(mode, purpose = 'flow') {
  const id = `${mode.replace('-', '')}${purpose === 'flow' ? '' : purpose[0].toUpperCase() + purpose.slice(1)}`;
  return { accessKeyId: `${id}KeyId`, accessKeySecret: `${id}Secret` };
}

/** The STS account of fixtures.json. */
export const stsAccount = { accessKeyId: 'STS.nodeKeyId', accessKeySecret: 'nodeStsSecret', securityToken: 'nodeSecurityToken' };

const timeouts = { readTimeout: 60000, connectTimeout: 5000 };

/**
 * A client of the given mode for the given credentials.
 *
 * opts of call(): nonce and timestamp replace what the client would
 * generate (pop-core takes them as parameters, Tea through the runtime's
 * extendsParameters), for the replay and freshness tests.
 */
export function client(mode, creds) {
  if (mode.startsWith('pop-')) {
    const c = new RPCClient({ endpoint, apiVersion: '2018-01-20', ...creds });
    const method = mode === 'pop-post' ? 'POST' : 'GET';
    return {
      mode,
      async call(action, params = {}, opts = {}) {
        const p = { ...params };
        if (opts.nonce) p.SignatureNonce = opts.nonce;
        if (opts.timestamp) p.Timestamp = opts.timestamp;
        return c.request(action, p, { method, timeout: timeouts.readTimeout });
      },
    };
  }
  const config = new OpenApi.Config({
    ...creds,
    endpoint: new URL(endpoint).host,
    protocol: 'http',
    ...timeouts,
  });
  if (mode === 'tea-v2') config.signatureAlgorithm = 'v2';
  const c = new Iot.default(config);
  return {
    mode,
    async call(action, params = {}, opts = {}) {
      const runtime = { ...timeouts };
      if (opts.nonce || opts.timestamp) {
        runtime.extendsParameters = mode === 'tea-v3'
          ? { headers: dropEmpty({ 'x-acs-signature-nonce': opts.nonce, 'x-acs-date': opts.timestamp }) }
          : { queries: dropEmpty({ SignatureNonce: opts.nonce, Timestamp: opts.timestamp }) };
      }
      const method = action[0].toLowerCase() + action.slice(1) + 'WithOptions';
      const resp = await c[method](teaRequest(action, params), runtime);
      return resp.body.toMap();
    },
  };
}

function dropEmpty(m) {
  return Object.fromEntries(Object.entries(m).filter(([, v]) => v));
}

// teaRequest builds the generated request model from wire-style params,
// with the generated nested models where the API has them.
function teaRequest(action, params) {
  const m = {};
  for (const [k, v] of Object.entries(params)) {
    const key = k[0].toLowerCase() + k.slice(1);
    if (k === 'DeviceNameList') {
      m[key] = v.map((d) => new Iot.BatchCheckDeviceNamesRequestDeviceNameList({ deviceName: d.DeviceName, deviceNickname: d.DeviceNickname }));
    } else {
      m[key] = v;
    }
  }
  return new Iot[`${action}Request`](m);
}

/** Runs fn up to every `ms` until it returns a value other than undefined. */
export async function poll(fn, { ms = 60, attempts = 500 } = {}) {
  for (let i = 0; i < attempts; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, ms));
  }
  throw new Error(`gave up after ${attempts} attempts`);
}

/** Polls QueryBatchRegisterDeviceStatus until the batch leaves CHECK/CREATE. */
export async function settled(c, applyId) {
  return poll(async () => {
    const body = await c.call('QueryBatchRegisterDeviceStatus', { ProductKey: productKey, ApplyId: applyId });
    if (body.Success !== true) throw new Error(`status query failed: ${JSON.stringify(body)}`);
    const st = body.Data.Status;
    return st === 'CHECK' || st === 'CREATE' ? undefined : body.Data;
  });
}

/** A random 32-hex nonce. */
export function nonce() {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
}
