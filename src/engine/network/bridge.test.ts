// Drives the real kernel: a bridge and namespaces of its own, named from a random suffix.
// Needs root and iproute2.
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { addNetns, deleteLink, listAddresses, listRoutes, netnsPath } from '../../platform/index.js';
import {
  ensureBridge,
  plumbEndpoint,
  releaseEndpoint,
  removeBridge,
  settleEndpointRemovals,
  unplumbEndpoint,
} from './bridge.js';

const suffix = randomBytes(3).toString('hex');
const prefix = `10.214.${randomInt(0, 256)}`;
const bridgeName = `bbt${suffix}`;

function endpoint(n: number) {
  return {
    bridgeName,
    netns: `bbt${suffix}-${n}`,
    hostVeth: `vbt${suffix}${n}`,
    macAddress: `02:42:0a:d6:00:0${n}`,
    address: { address: `${prefix}.${n + 1}`, prefixLength: 24 },
    gateway: `${prefix}.1`,
  };
}

describe('bridge endpoints', () => {
  before(async () => {
    await ensureBridge(bridgeName, { address: `${prefix}.1`, prefixLength: 24 });
  });
  after(async () => {
    for (const n of [1, 2, 3, 4]) await unplumbEndpoint(endpoint(n).netns, endpoint(n).hostVeth);
    await settleEndpointRemovals();
    await removeBridge(bridgeName);
  });

  const cases = [
    { name: 'a fresh namespace', n: 1, leftover: false },
    { name: 'a namespace a crash left behind', n: 2, leftover: true },
  ];
  for (const { name, n, leftover } of cases) {
    it(`plumbs ${name}: eth0 with its address and the default route`, async () => {
      const p = endpoint(n);
      if (leftover) await addNetns(p.netns);
      assert.equal(await plumbEndpoint(p), netnsPath(p.netns));
      const eth0 = (await listAddresses({ netns: p.netns })).find((l) => l.ifname === 'eth0');
      assert.ok(eth0, 'eth0 exists in the namespace');
      assert.ok(eth0.addr_info.some((a) => a.local === p.address.address && a.prefixlen === 24));
      assert.equal(eth0.address, p.macAddress);
      const routes = await listRoutes({ netns: p.netns });
      assert.ok(routes.some((r) => r.dst === 'default' && r.gateway === p.gateway));
      const hostEnd = (await listAddresses()).find((l) => l.ifname === p.hostVeth);
      assert.equal(hostEnd?.master, bridgeName);
    });
  }

  it('release removes the namespace now and the host veth soon after', async () => {
    const p = endpoint(3);
    await plumbEndpoint(p);
    await releaseEndpoint(p.netns, p.hostVeth);
    assert.equal(existsSync(netnsPath(p.netns)), false);
    await settleEndpointRemovals();
    assert.equal(existsSync(`/sys/class/net/${p.hostVeth}`), false);
  });

  it('release of an endpoint that is gone, or half gone, succeeds', async () => {
    const p = endpoint(4);
    await releaseEndpoint(p.netns, undefined);
    await releaseEndpoint(p.netns, p.hostVeth);
    await plumbEndpoint(p);
    await deleteLink(p.hostVeth);
    await releaseEndpoint(p.netns, p.hostVeth);
    await settleEndpointRemovals();
    assert.equal(existsSync(netnsPath(p.netns)), false);
  });
});
