// Dual-stack user-defined bridges (issue 5, `--ipv6`), through the real docker CLI: the v6
// subnet and gateway in network inspect, a v6 address per container in inspect and on its
// eth0, v6 traffic between the test's own containers, AAAA answers from the embedded DNS,
// `--ip6`, the v6 masquerade rule, and the errors for bad v6 input.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, afterEach, before, describe, test } from 'node:test';
import { assertExit, assertOk, busyboxImage, type Daemon, startDaemon } from '../../harness/index.js';

let d: Daemon;
/** A /64 of our own, e.g. `fd00:beef:1a2b::/64`, and its first three groups with a colon. */
let subnet6 = '';
let prefix6 = '';

before(async () => {
  const a = 100 + Math.floor(Math.random() * 150);
  const b = Math.floor(Math.random() * 200);
  prefix6 = `fd00:beef:${Math.floor(Math.random() * 0xffff).toString(16)}:`;
  subnet6 = `${prefix6}:/64`;
  d = await startDaemon({ extraArgs: ['--default-address-pool', `base=10.${a}.${b}.0/24,size=28`] });
  const image = await busyboxImage();
  assertOk(await d.docker(['load', '-i', image.path]), 'docker load');
});
after(async () => {
  await d?.stop();
});
afterEach((t) => d?.dumpLogOnFailure(t));

interface NetworkJson {
  EnableIPv6: boolean;
  IPAM: { Config: Array<{ Subnet: string; Gateway: string }> };
  Containers: Record<string, { Name: string; IPv6Address: string }>;
}

async function inspectNetwork(name: string): Promise<NetworkJson> {
  const r = assertOk(await d.docker(['network', 'inspect', name]), `network inspect ${name}`);
  const [net] = JSON.parse(r.stdout) as NetworkJson[];
  assert.ok(net, r.stdout);
  return net;
}

async function runDetached(name: string, extra: string[] = []): Promise<void> {
  assertOk(
    await d.docker([
      'run',
      '-d',
      '--pull',
      'never',
      '--name',
      name,
      '--network',
      'net6',
      ...extra,
      'busybox',
      'sleep',
      '300',
    ]),
    `run ${name}`,
  );
}

describe('a dual-stack network', () => {
  before(async () => {
    assertOk(await d.docker(['network', 'create', '--ipv6', '--subnet', subnet6, 'net6']), 'create net6');
    await runDetached('six-a');
    await runDetached('six-b');
  });

  test('network inspect shows EnableIPv6 and both IPAM configs', async () => {
    const net = await inspectNetwork('net6');
    assert.equal(net.EnableIPv6, true);
    const v6 = net.IPAM.Config.find((c) => c.Subnet.includes(':'));
    const v4 = net.IPAM.Config.find((c) => !c.Subnet.includes(':'));
    assert.deepEqual(v6, { Subnet: subnet6, Gateway: `${prefix6}:1` });
    assert.ok(v4 && /^10\./.test(v4.Subnet), JSON.stringify(net.IPAM));
    const names = Object.values(net.Containers).map((c) => `${c.Name} ${c.IPv6Address}`);
    assert.ok(
      names.some((n) => new RegExp(`^six-a ${prefix6}:[0-9a-f]+/64$`).test(n)),
      names.join('\n'),
    );
  });

  test('containers get distinct v6 addresses, a gateway and a v6 default route', async () => {
    const fmt =
      '{{.NetworkSettings.Networks.net6.GlobalIPv6Address}} {{.NetworkSettings.Networks.net6.GlobalIPv6PrefixLen}} {{.NetworkSettings.Networks.net6.IPv6Gateway}}';
    const a = assertOk(await d.docker(['inspect', '-f', fmt, 'six-a']), 'inspect a')
      .stdout.trim()
      .split(' ');
    const b = assertOk(await d.docker(['inspect', '-f', fmt, 'six-b']), 'inspect b')
      .stdout.trim()
      .split(' ');
    assert.match(a[0] ?? '', new RegExp(`^${prefix6}:[0-9a-f]+$`));
    assert.notEqual(a[0], b[0]);
    assert.deepEqual(a.slice(1), ['64', `${prefix6}:1`]);
    const addr = assertOk(await d.docker(['exec', 'six-a', 'ip', '-6', 'addr', 'show', 'eth0']), 'ip addr');
    assert.ok(addr.stdout.includes(`inet6 ${a[0]}/64`), addr.stdout);
    const route = assertOk(await d.docker(['exec', 'six-a', 'ip', '-6', 'route']), 'ip route');
    assert.match(route.stdout, new RegExp(`default via ${prefix6}:1 dev eth0`));
  });

  test('containers reach each other over v6, by address and by name (AAAA)', async () => {
    const bIp = assertOk(
      await d.docker(['inspect', '-f', '{{.NetworkSettings.Networks.net6.GlobalIPv6Address}}', 'six-b']),
      'inspect b',
    ).stdout.trim();
    assertOk(await d.docker(['exec', 'six-a', 'ping', '-6', '-c1', '-W2', bIp]), 'ping -6 address');
    const lookup = assertOk(
      await d.docker(['exec', 'six-a', 'nslookup', '-type=AAAA', 'six-b']),
      'nslookup AAAA',
    );
    assert.ok(lookup.stdout.includes(bIp), lookup.stdout);
    const byName = assertOk(await d.docker(['exec', 'six-a', 'ping6', '-c1', '-W2', 'six-b']), 'ping6 name');
    assert.ok(byName.stdout.includes(bIp), byName.stdout);
  });

  test('--ip6 gives the static address; one outside the subnet or taken is refused', async () => {
    const ip6 = `${prefix6}:abc`;
    const r = assertOk(
      await d.docker([
        'run',
        '--rm',
        '--pull',
        'never',
        '--network',
        'net6',
        '--ip6',
        ip6,
        'busybox',
        'ip',
        '-6',
        'addr',
        'show',
        'eth0',
      ]),
      'run --ip6',
    );
    assert.ok(r.stdout.includes(`inet6 ${ip6}/64`), r.stdout);
    const outside = await d.docker([
      'run',
      '--rm',
      '--pull',
      'never',
      '--network',
      'net6',
      '--ip6',
      'fd00:dead::5',
      'busybox',
      'true',
    ]);
    assertExit(outside, 125, 'ip6 outside');
    assert.match(outside.stderr, /does not belong to any of this network's subnets/);
    const aIp = assertOk(
      await d.docker(['inspect', '-f', '{{.NetworkSettings.Networks.net6.GlobalIPv6Address}}', 'six-a']),
      'inspect a',
    ).stdout.trim();
    const taken = await d.docker([
      'run',
      '--rm',
      '--pull',
      'never',
      '--network',
      'net6',
      '--ip6',
      aIp,
      'busybox',
      'true',
    ]);
    assertExit(taken, 125, 'ip6 taken');
    assert.match(taken.stderr, /Address already in use/);
  });

  test('the bridge has IPv6 on and its gateway; v6 leaving the bridge is masqueraded', () => {
    const addrs = execFileSync('ip', ['-o', '-6', 'addr', 'show'], { encoding: 'utf8' });
    const line = addrs.split('\n').find((l) => l.includes(`inet6 ${prefix6}:1/64`));
    assert.ok(line, addrs);
    const bridge = line.split(/\s+/)[1] ?? '';
    const disabled = execFileSync('sysctl', ['-n', `net.ipv6.conf.${bridge}.disable_ipv6`], {
      encoding: 'utf8',
    });
    assert.equal(disabled.trim(), '0');
    const ruleset = execFileSync('nft', ['list', 'table', 'inet', d.names.nftTable], { encoding: 'utf8' });
    assert.ok(ruleset.includes(`ip6 saddr ${subnet6}`), ruleset);
    assert.equal(
      execFileSync('sysctl', ['-n', 'net.ipv6.conf.all.forwarding'], { encoding: 'utf8' }).trim(),
      '1',
    );
  });

  test('errors: an overlapping v6 subnet, a v6 subnet without --ipv6', async () => {
    const overlap = await d.docker(['network', 'create', '--ipv6', '--subnet', `${prefix6}:/80`, 'over6']);
    assertExit(overlap, 1, 'overlapping v6 subnet');
    assert.match(overlap.stderr, /Pool overlaps with other one on this address space/);
    const noFlag = await d.docker(['network', 'create', '--subnet', 'fd00:beef:ffff::/64', 'noflag6']);
    assertExit(noFlag, 1, 'v6 subnet without --ipv6');
    assert.match(noFlag.stderr, /needs IPv6 enabled on the network: add --ipv6/);
    const ls = assertOk(await d.docker(['network', 'ls', '--format', '{{.Name}}']), 'ls');
    assert.ok(!/over6|noflag6/.test(ls.stdout), ls.stdout);
  });
});

describe('after a daemon restart', () => {
  test('v6 leases are kept: running containers keep theirs, a new one gets another', async () => {
    const fmt = '{{.NetworkSettings.Networks.net6.GlobalIPv6Address}}';
    const before6 = assertOk(await d.docker(['inspect', '-f', fmt, 'six-b']), 'inspect b').stdout.trim();
    await d.restart();
    const after6 = assertOk(await d.docker(['inspect', '-f', fmt, 'six-b']), 'inspect b').stdout.trim();
    assert.equal(after6, before6);
    await runDetached('six-c');
    const taken = new Set(
      await Promise.all(
        ['six-a', 'six-b', 'six-c'].map(async (n) =>
          assertOk(await d.docker(['inspect', '-f', fmt, n]), `inspect ${n}`).stdout.trim(),
        ),
      ),
    );
    assert.equal(taken.size, 3, [...taken].join(' '));
    assertOk(await d.docker(['exec', 'six-c', 'ping', '-6', '-c1', '-W2', before6]), 'ping -6 after restart');
  });

  test('network connect --ip6 adds a v6 address to a running container', async () => {
    assertOk(
      await d.docker(['network', 'create', '--ipv6', '--subnet', `${prefix6}1::/64`, 'side6']),
      'create side6',
    );
    const ip6 = `${prefix6}1::77`;
    assertOk(await d.docker(['network', 'connect', '--ip6', ip6, 'side6', 'six-c']), 'connect --ip6');
    const addr = assertOk(await d.docker(['exec', 'six-c', 'ip', '-6', 'addr']), 'ip addr');
    assert.ok(addr.stdout.includes(`inet6 ${ip6}/64`), addr.stdout);
    assertOk(await d.docker(['network', 'disconnect', 'side6', 'six-c']), 'disconnect');
    assertOk(await d.docker(['network', 'rm', 'side6']), 'rm side6');
  });
});

describe('--ipv6 without a subnet', () => {
  test('takes a /64 from a ULA prefix and the container gets an address in it', async () => {
    assertOk(await d.docker(['network', 'create', '--ipv6', 'auto6']), 'create auto6');
    const net = await inspectNetwork('auto6');
    const v6 = net.IPAM.Config.find((c) => c.Subnet.includes(':'));
    assert.match(v6?.Subnet ?? '', /^fd[0-9a-f]{2}:[0-9a-f:]+\/64$/);
    const r = assertOk(
      await d.docker(['run', '--rm', '--pull', 'never', '--network', 'auto6', 'busybox', 'ip', '-6', 'addr']),
      'run on auto6',
    );
    const base = (v6?.Subnet ?? '').replace(/::\/64$/, ':');
    assert.ok(r.stdout.includes(`inet6 ${base}`), `${base}\n${r.stdout}`);
    assertOk(await d.docker(['network', 'rm', 'auto6']), 'rm auto6');
  });
});
