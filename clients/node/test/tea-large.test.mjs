// The Tea client puts every parameter in the query string: a full batch of
// 10,000 names with nicknames is a request line of about 4 MB.
import assert from 'node:assert/strict';
import { it } from 'node:test';

import { account, client, productKey, settled } from '../lib/clients.mjs';

for (const mode of ['tea-v3', 'tea-v2']) {
  it(`${mode}: a batch of exactly 10,000 names with 64-character nicknames is checked`, async () => {
    const c = client(mode, account(mode, 'large'));
    const list = Array.from({ length: 10000 }, (_, i) => ({
      DeviceName: `big:${String(i + 1).padStart(5, '0')}@batch.name-${String(i + 1).padStart(11, '0')}`,
      DeviceNickname: '温度传感器'.repeat(6) + '温度',
    }));
    assert.equal(list[0].DeviceName.length, 32);
    const check = await c.call('BatchCheckDeviceNames', { ProductKey: productKey, DeviceNameList: list });
    assert.equal(check.Success, true, JSON.stringify(check).slice(0, 500));
    const st = await settled(c, check.Data.ApplyId);
    assert.equal(st.Status, 'CHECK_SUCCESS');
    assert.deepEqual(st.InvalidList.Name, []);
  });
}
