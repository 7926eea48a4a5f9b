// Drives the real kernel: a bridge, nft table and namespaces of its own, all named from a
// random suffix, and traffic only between those namespaces and that bridge. Needs root,
// iproute2, nftables and a ping (iputils or busybox).
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../../api/index.js';
import {
  addNetns,
  applyNft,
  deleteLink,
  deleteNetns,
  deleteNftTable,
  IpBatch,
  listAddresses,
  listNetns,
  listNftTable,
  listRoutes,
  type NftCommand,
  run,
  showLink,
} from '../../platform/index.js';
import {
  createNetworkService,
  type NetworkAttachment,
  type NetworkOptions,
  type NetworkService,
} from './index.js';
import { macFromIpv4 } from './ipam.js';

const suffix = randomBytes(3).toString('hex');
const octet = randomInt(0, 256);
// A /29: the gateway and five container addresses, few enough to fill in a test.
const subnetPrefix = `10.213.${octet}`;
const gatewayAddress = `${subnetPrefix}.1`;

function resolvePing(): string[] {
  for (const path of ['/usr/bin/ping', '/bin/ping']) if (existsSync(path)) return [path];
  for (const path of ['/usr/bin/busybox', '/bin/busybox']) if (existsSync(path)) return [path, 'ping'];
  throw new Error('this test needs ping: install iputils-ping or busybox-static');
}

async function ping(netns: string, address: string): Promise<void> {
  await run('ip', ['netns', 'exec', netns, ...resolvePing(), '-c1', '-W1', address], { timeoutMs: 5_000 });
}

function namespaceName(attachment: NetworkAttachment): string {
  const ns = attachment.namespace;
  assert.ok(typeof ns === 'object', `expected a namespace path, got ${JSON.stringify(ns)}`);
  return ns.path.replace('/run/netns/', '');
}

function bridgeEndpoint(attachment: NetworkAttachment) {
  const endpoint = attachment.settings.Networks.bridge;
  assert.ok(endpoint !== undefined, 'attachment has no bridge endpoint');
  return endpoint;
}

async function ignoreNotFound(step: Promise<void>): Promise<void> {
  try {
    await step;
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
}

describe('network service on a real bridge', () => {
  let stateDir = '';
  let opts: NetworkOptions;
  let service: NetworkService;
  const attached = new Map<string, NetworkAttachment>();
  const id = (name: string) => `${name}${suffix}`.padEnd(64, '0');

  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'berth-network-test-'));
    opts = {
      stateDir,
      bridgeName: `bt${suffix}`,
      bridgeCidr: `${gatewayAddress}/29`,
      nftTable: `berth_test_${suffix}`,
      netnsPrefix: `btns${suffix}-`,
    };
    service = createNetworkService(opts);
  });

  after(async () => {
    // Whatever the tests left, by name; each step runs even if another fails.
    const failures: unknown[] = [];
    const steps = [
      ...(await listNetns())
        .filter((n) => n.startsWith(opts.netnsPrefix))
        .map((n) => ignoreNotFound(deleteNetns(n))),
      ignoreNotFound(deleteLink(opts.bridgeName)),
      deleteNftTable({ family: 'inet', name: opts.nftTable }),
      rm(stateDir, { recursive: true, force: true }),
    ];
    for (const result of await Promise.allSettled(steps))
      if (result.status === 'rejected') failures.push(result.reason);
    if (failures.length > 0) throw new AggregateError(failures, 'network test cleanup failed');
  });

  it('init creates the bridge, turns on forwarding and installs NAT in our table', async () => {
    await service.init();
    await service.init(); // idempotent
    const [bridge] = (await listAddresses()).filter((l) => l.ifname === opts.bridgeName);
    assert.ok(bridge, 'bridge missing');
    assert.ok(bridge.flags.includes('UP'));
    assert.deepEqual(
      bridge.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
      [opts.bridgeCidr],
    );
    assert.equal((await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8')).trim(), '1');
    const objects = await listNftTable({ family: 'inet', name: opts.nftTable });
    assert.ok(objects, 'nft table missing');
    const rules = objects.flatMap((o) => ('rule' in o ? [o.rule] : []));
    const masquerade = rules.filter((r) => r.chain === 'postrouting');
    assert.equal(masquerade.length, 1, 'init twice must not duplicate rules');
    const text = JSON.stringify(masquerade[0]?.expr);
    assert.match(text, /"masquerade"/);
    assert.match(text, new RegExp(`"addr":"${subnetPrefix}.0","len":29`));
    assert.match(text, new RegExp(`"op":"!=".*"${opts.bridgeName}"`));
    assert.equal(rules.filter((r) => r.chain === 'forward').length, 2);
  });

  it('applies an nft transaction too long for one argument', async () => {
    const chain = { family: 'inet', table: opts.nftTable, name: 'bulk' } as const;
    const rules: NftCommand[] = Array.from({ length: 1200 }, (_, i) => ({
      add: { rule: { ...chain, chain: 'bulk', comment: `bulk rule ${i}`, expr: [{ counter: null }] } },
    }));
    assert.ok(JSON.stringify(rules).length > 128 * 1024);
    await applyNft([{ add: { chain } }, ...rules]);
    const objects = (await listNftTable({ family: 'inet', name: opts.nftTable })) ?? [];
    assert.equal(objects.filter((o) => 'rule' in o && o.rule.chain === 'bulk').length, rules.length);
    await applyNft([{ delete: { chain } }]);
  });

  it('attaches two containers with distinct addresses and Docker settings', async () => {
    for (const name of ['a', 'b'])
      attached.set(
        name,
        await service.attach({
          containerId: id(name),
          containerName: 'c',
          mode: name === 'a' ? 'bridge' : 'default',
        }),
      );
    const a = attached.get('a')!;
    const b = attached.get('b')!;
    assert.notEqual(a.ipAddress, b.ipAddress);
    for (const attachment of [a, b]) {
      assert.equal(attachment.mode, 'bridge');
      const endpoint = bridgeEndpoint(attachment);
      assert.match(attachment.ipAddress, new RegExp(`^${subnetPrefix}\\.[2-6]$`));
      assert.equal(endpoint.IPAddress, attachment.ipAddress);
      assert.equal(endpoint.Gateway, gatewayAddress);
      assert.equal(endpoint.IPPrefixLen, 29);
      assert.equal(endpoint.MacAddress, macFromIpv4(attachment.ipAddress));
      assert.match(endpoint.NetworkID, /^[0-9a-f]{64}$/);
      assert.match(endpoint.EndpointID, /^[0-9a-f]{64}$/);
      const s = attachment.settings;
      assert.deepEqual(
        [s.IPAddress, s.Gateway, s.MacAddress, s.IPPrefixLen, s.EndpointID, s.Bridge],
        [endpoint.IPAddress, endpoint.Gateway, endpoint.MacAddress, 29, endpoint.EndpointID, ''],
      );
      assert.deepEqual(s.Ports, {});
      assert.equal(
        s.SandboxKey,
        `/run/netns/${opts.netnsPrefix}${id(attachment === a ? 'a' : 'b').slice(0, 12)}`,
      );
      assert.deepEqual(attachment.namespace, { path: s.SandboxKey });
    }
    assert.equal(bridgeEndpoint(a).NetworkID, bridgeEndpoint(b).NetworkID);
  });

  it('gives each namespace eth0 with its address and a default route via the gateway', async () => {
    for (const attachment of attached.values()) {
      const netns = namespaceName(attachment);
      const links = await listAddresses({ netns });
      const eth0 = links.find((l) => l.ifname === 'eth0');
      assert.ok(eth0, 'eth0 missing');
      assert.ok(eth0.flags.includes('UP'), 'eth0 down');
      assert.equal(eth0.address, bridgeEndpoint(attachment).MacAddress);
      assert.ok(eth0.addr_info.some((a) => a.local === attachment.ipAddress && a.prefixlen === 29));
      assert.ok(links.find((l) => l.ifname === 'lo')?.flags.includes('UP'), 'lo down');
      const routes = await listRoutes({ netns });
      assert.ok(routes.some((r) => r.dst === 'default' && r.gateway === gatewayAddress && r.dev === 'eth0'));
    }
  });

  it('reaches the gateway and the other namespace', async () => {
    const a = attached.get('a')!;
    const b = attached.get('b')!;
    await ping(namespaceName(a), gatewayAddress);
    await ping(namespaceName(a), b.ipAddress);
    await ping(namespaceName(b), a.ipAddress);
  });

  it('masquerades traffic that leaves through another interface', async () => {
    // An "outside" namespace on its own veth, with no route back to the bridge subnet:
    // a reply can only arrive if the host rewrote the source to its own address.
    const outside = `${opts.netnsPrefix}outside`;
    const hostEnd = `bo${suffix}`;
    const outsidePrefix = `10.214.${octet}`;
    await addNetns(outside);
    try {
      await new IpBatch()
        .addVeth(hostEnd, { name: 'eth0', netns: outside })
        .addAddress(hostEnd, `${outsidePrefix}.1/30`)
        .setUp(hostEnd)
        .apply();
      await new IpBatch()
        .setUp('lo')
        .addAddress('eth0', `${outsidePrefix}.2/30`)
        .setUp('eth0')
        .apply({ netns: outside });
      assert.deepEqual(
        (await listRoutes({ netns: outside })).map((r) => r.dst),
        [`${outsidePrefix}.0/30`],
      );
      await ping(namespaceName(attached.get('a')!), `${outsidePrefix}.2`);
    } finally {
      await ignoreNotFound(deleteLink(hostEnd));
      await deleteNetns(outside);
    }
  });

  it('returns the same attachment when asked twice', async () => {
    const again = await service.attach({ containerId: id('a'), containerName: 'c', mode: 'bridge' });
    assert.deepEqual(again, attached.get('a'));
  });

  it('has host and none modes and refuses others', async () => {
    const host = await service.attach({ containerId: id('h'), containerName: 'c', mode: 'host' });
    assert.equal(host.namespace, 'host');
    assert.equal(host.ipAddress, '');
    assert.deepEqual(Object.keys(host.settings.Networks), ['host']);
    assert.equal(host.settings.Networks.host?.IPAddress, '');
    assert.match(host.settings.Networks.host?.NetworkID ?? '', /^[0-9a-f]{64}$/);
    const none = await service.attach({ containerId: id('n'), containerName: 'c', mode: 'none' });
    assert.equal(none.namespace, undefined);
    assert.deepEqual(Object.keys(none.settings.Networks), ['none']);
    assert.equal(none.settings.IPAddress, '');
    await assert.rejects(
      service.attach({ containerId: id('x'), containerName: 'c', mode: 'mynet' }),
      (e: unknown) => {
        assert.ok(e instanceof NotFoundError);
        assert.equal(e.message, 'network mynet not found');
        return true;
      },
    );
    await service.release(id('h'));
    await service.release(id('n'));
  });

  it('keeps leases across a restart without teardown', async () => {
    const networkId = bridgeEndpoint(attached.get('a')!).NetworkID;
    await service.close();
    assert.ok(await showLink(opts.bridgeName), 'bridge removed without teardown');
    assert.ok(await listNftTable({ family: 'inet', name: opts.nftTable }), 'table removed without teardown');
    for (const attachment of attached.values())
      assert.ok((await listNetns()).includes(namespaceName(attachment)));
    await assert.rejects(
      service.attach({ containerId: id('c'), containerName: 'c', mode: 'bridge' }),
      /closed/,
    );

    service = createNetworkService(opts);
    await service.init();
    for (const [name, attachment] of attached) service.adopt(id(name), attachment);
    assert.throws(() => service.adopt(id('z'), attached.get('a')!), ConflictError);
    const c = await service.attach({ containerId: id('c'), containerName: 'c', mode: 'bridge' });
    attached.set('c', c);
    assert.ok(![attached.get('a')!.ipAddress, attached.get('b')!.ipAddress].includes(c.ipAddress));
    assert.equal(bridgeEndpoint(c).NetworkID, networkId, 'the default network id must be stable');
    await ping(namespaceName(c), attached.get('a')!.ipAddress);
  });

  it('release removes the namespace and veth and frees the address', async () => {
    const a = attached.get('a')!;
    const netns = namespaceName(a);
    await service.release(id('a'));
    attached.delete('a');
    assert.ok(!(await listNetns()).includes(netns), 'namespace left behind');
    const onBridge = (await listAddresses()).filter((l) => l.master === opts.bridgeName);
    assert.equal(onBridge.length, attached.size, 'a veth is left on the bridge');
    await service.release(id('a')); // idempotent
    await service.release(id('never-attached'));

    // Fill the /29: b and c hold two of five, so three more fit, one of them a's old address.
    // Attached concurrently, so the allocator must still hand out distinct addresses.
    const names = ['d', 'e', 'f'];
    const made = await Promise.all(
      names.map((name) => service.attach({ containerId: id(name), containerName: 'c', mode: 'bridge' })),
    );
    for (const [i, name] of names.entries()) attached.set(name, made[i]!);
    const more = made.map((x) => x.ipAddress);
    assert.ok(more.includes(a.ipAddress), `freed ${a.ipAddress} was not given out again: ${more}`);
    const all = [...attached.values()].map((x) => x.ipAddress);
    assert.equal(new Set(all).size, all.length, `duplicate addresses: ${all}`);
    await assert.rejects(
      service.attach({ containerId: id('g'), containerName: 'c', mode: 'bridge' }),
      ConflictError,
    );
    assert.ok(!(await listNetns()).includes(`${opts.netnsPrefix}${id('g').slice(0, 12)}`));
  });

  it('teardown removes the bridge, the table and every namespace', async () => {
    await service.close({ teardown: true });
    assert.equal(await showLink(opts.bridgeName), undefined);
    assert.equal(await listNftTable({ family: 'inet', name: opts.nftTable }), undefined);
    assert.deepEqual(
      (await listNetns()).filter((n) => n.startsWith(opts.netnsPrefix)),
      [],
    );
    const leftoverVeths = (await listAddresses()).filter((l) => l.master === opts.bridgeName);
    assert.deepEqual(leftoverVeths, []);
  });
});

describe('createNetworkService options', () => {
  const good: NetworkOptions = {
    stateDir: '/nonexistent',
    bridgeName: 'berth0',
    bridgeCidr: '172.18.0.1/16',
    nftTable: 'berth',
    netnsPrefix: 'berth-',
  };
  const bad: Array<[string, Partial<NetworkOptions>]> = [
    ['an empty namespace prefix (teardown would take every namespace)', { netnsPrefix: '' }],
    ['a bridge name longer than IFNAMSIZ', { bridgeName: 'berth-bridge-long' }],
    ['a bridge name with a blank', { bridgeName: 'br 0' }],
    ['a table name with a quote', { nftTable: 'ber"th' }],
    ['a network address as gateway', { bridgeCidr: '172.18.0.0/16' }],
    ['a /31, which leaves no container address', { bridgeCidr: '10.0.0.1/31' }],
    ['no prefix length', { bridgeCidr: '172.18.0.1' }],
  ];
  for (const [name, change] of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(() => createNetworkService({ ...good, ...change }), InvalidArgumentError);
    });
  }

  it('refuses calls before init', async () => {
    const service = createNetworkService(good);
    await assert.rejects(
      service.attach({ containerId: 'abc', containerName: 'c', mode: 'host' }),
      /not initialised/,
    );
    await assert.rejects(service.release('abc'), /not initialised/);
  });
});
