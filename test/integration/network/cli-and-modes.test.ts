// Issue 5, the rest as a user meets it: `berth network …` and `berth port` next to the
// real docker CLI, the network flags of `run`, host/none/container modes, -P from an
// image's EXPOSE, connect/disconnect seen from inside, macvlan over a parent the test
// makes, and bad input that must leave no bridge, link or nft rule behind.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  assertExit,
  assertOk,
  busyboxImage,
  type CliName,
  type Daemon,
  freePort,
  httpGet,
  rootfsTar,
  runProgram,
  startDaemon,
  waitFor,
} from '../../harness/index.js';

/** What busybox httpd serves as /index.html on a published port, whatever the status. */
async function fetchText(port: number): Promise<string> {
  return (await httpGet(`http://127.0.0.1:${port}/index.html`)).body;
}

let d: Daemon;
/** Two octets of a range the test owns for explicit subnets, e.g. `10.123`. */
let mine = '';
/** The veth pair the macvlan tests hang their networks on; removed in after(). */
const veth = `mv${randomBytes(3).toString('hex')}`;

before(async () => {
  mine = `10.${100 + Math.floor(Math.random() * 150)}`;
  const pool = `${mine}.${Math.floor(Math.random() * 50)}.0/24`;
  d = await startDaemon({ extraArgs: ['--default-address-pool', `base=${pool},size=28`] });
  const image = await busyboxImage();
  assertOk(await d.docker(['load', '-i', image.path]), 'docker load');
});
after(async () => {
  await runProgram('ip', ['link', 'del', `${veth}a`]).catch(() => undefined);
  await d?.stop();
});
afterEach((t) => d?.dumpLogOnFailure(t));

/** A /24 of the test's own, away from the pool (third octet 100+). */
function subnet(n: number): string {
  return `${mine}.${100 + n}.0/24`;
}
function address(n: number, host: number): string {
  return `${mine}.${100 + n}.${host}`;
}

async function hostLinks(): Promise<string> {
  return assertOk(await runProgram('ip', ['-o', 'link', 'show']), 'ip link').stdout;
}
/** Our user-defined bridges now on the host. */
async function userBridges(): Promise<string[]> {
  const prefix = `${d.names.bridge}-`;
  return (await hostLinks())
    .split('\n')
    .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1] ?? '')
    .filter((name) => name.startsWith(prefix));
}
async function nftRules(): Promise<string> {
  return assertOk(await runProgram('nft', ['list', 'table', 'inet', d.names.nftTable]), 'nft list').stdout;
}

/** `run` as each CLI spells "never pull" (berth has no registry fallback to turn off). */
function runWith(cli: CliName): string[] {
  return cli === 'docker' ? ['run', '--pull', 'never'] : ['run'];
}

const httpd = (text: string) => [
  'sh',
  '-c',
  `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 80 -h /www`,
];

describe('berth network commands match docker', () => {
  test('create, ls (same table as docker), inspect, connect, disconnect, rm, prune', async () => {
    const created = assertOk(
      await d.berth([
        'network',
        'create',
        '--subnet',
        subnet(1),
        '--gateway',
        address(1, 254),
        '--ip-range',
        `${mine}.101.128/25`,
        '--label',
        'team=red',
        'cli-a',
      ]),
      'berth network create',
    );
    const id = created.stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);

    const berthLs = assertOk(await d.berth(['network', 'ls']), 'berth network ls').stdout;
    const dockerLs = assertOk(await d.docker(['network', 'ls']), 'docker network ls').stdout;
    assert.equal(berthLs, dockerLs);
    assert.match(berthLs, /^NETWORK ID {5}NAME {6}DRIVER {4}SCOPE\n/);
    assert.match(berthLs, new RegExp(`^${id.slice(0, 12)} {3}cli-a {5}bridge {4}local$`, 'm'));
    const quiet = assertOk(
      await d.berth(['network', 'ls', '-q', '--no-trunc', '-f', 'label=team=red']),
      'ls -q',
    );
    assert.equal(quiet.stdout, `${id}\n`);
    const fmt = assertOk(await d.berth(['network', 'ls', '--format', '{{.Name}} {{.Label "team"}}']), 'ls');
    assert.ok(fmt.stdout.split('\n').includes('cli-a red'), fmt.stdout);

    const inspect = JSON.parse(
      assertOk(await d.berth(['network', 'inspect', 'cli-a']), 'inspect').stdout,
    ) as Array<{
      Id: string;
      IPAM: { Config: Array<{ Subnet: string; Gateway: string; IPRange: string }> };
    }>;
    assert.equal(inspect[0]?.Id, id);
    assert.deepEqual(inspect[0]?.IPAM.Config[0], {
      Subnet: subnet(1),
      Gateway: address(1, 254),
      IPRange: `${mine}.101.128/25`,
    });

    assertOk(await d.berth(['run', '-d', '--name', 'cli-c', 'busybox', 'sleep', '300']), 'run');
    assertOk(await d.berth(['network', 'connect', '--alias', 'svc', 'cli-a', 'cli-c']), 'connect');
    const members = assertOk(
      await d.berth([
        'network',
        'inspect',
        '-f',
        '{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}',
        'cli-a',
      ]),
      'inspect -f',
    );
    // The --ip-range holds the addresses handed out.
    assert.match(members.stdout.trim(), new RegExp(`^cli-c ${mine}\\.101\\.(1[2-9]\\d|2[0-5]\\d)/24$`));
    const busy = await d.berth(['network', 'rm', 'cli-a']);
    assertExit(busy, 1, 'rm while in use');
    assert.match(busy.stderr, /^Error response from daemon: .*has active endpoints/m);
    assertOk(await d.berth(['network', 'disconnect', 'cli-a', 'cli-c']), 'disconnect');
    assertOk(await d.berth(['rm', '-f', 'cli-c']), 'rm container');

    const rm = assertOk(await d.berth(['network', 'rm', 'cli-a']), 'rm');
    assert.equal(rm.stdout, 'cli-a\n');
    const missing = await d.berth(['network', 'inspect', 'cli-a']);
    assertExit(missing, 1, 'inspect after rm');
    assert.equal(missing.stdout, '[]\n');
    assert.match(missing.stderr, /network cli-a not found/);
    assertExit(await d.berth(['network', 'rm', 'cli-a']), 1, 'rm again');
    assertOk(await d.berth(['network', 'rm', '-f', 'cli-a']), 'rm -f of a missing network');

    assertOk(await d.berth(['network', 'create', 'cli-p1']), 'create p1');
    assertOk(await d.berth(['network', 'create', 'cli-p2']), 'create p2');
    const prune = assertOk(await d.berth(['network', 'prune', '-f']), 'prune');
    assert.equal(prune.stdout, 'Deleted Networks:\ncli-p1\ncli-p2\n\n');
    const names = assertOk(await d.berth(['network', 'ls', '--format', '{{.Name}}']), 'ls').stdout;
    assert.equal(names, 'bridge\nhost\nnone\n');
    assert.deepEqual(await userBridges(), []);
  });
});

describe('containers on a user-defined network, with both CLIs', () => {
  before(async () => {
    assertOk(await d.docker(['network', 'create', '--subnet', subnet(10), 'users']), 'create users');
  });

  for (const cli of ['docker', 'berth'] as CliName[]) {
    test(`${cli}: two containers ping each other by name and by alias`, async () => {
      const name = `${cli}-one`;
      assertOk(
        await d.cli(cli, [
          ...runWith(cli),
          '-d',
          '--name',
          name,
          '--network',
          'users',
          '--network-alias',
          `${cli}-alias`,
          'busybox',
          'sleep',
          '300',
        ]),
        'run one',
      );
      assertOk(
        await d.cli(cli, [
          ...runWith(cli),
          '-d',
          '--name',
          `${cli}-two`,
          '--network',
          'users',
          'busybox',
          'sleep',
          '300',
        ]),
        'run two',
      );
      for (const target of [name, `${cli}-alias`]) {
        const r = assertOk(
          await d.cli(cli, ['exec', `${cli}-two`, 'ping', '-c1', '-W2', target]),
          `ping ${target}`,
        );
        assert.match(r.stdout, new RegExp(`${mine}\\.110\\.\\d+`));
      }
      assertOk(await d.cli(cli, ['exec', name, 'ping', '-c1', '-W2', `${cli}-two`]), 'ping back');
      const linked = await d.cli(cli, [
        ...runWith(cli),
        '--rm',
        '--network',
        'users',
        '--link',
        `${name}:db`,
        'busybox',
        'ping',
        '-c1',
        '-W2',
        'db',
      ]);
      assertOk(linked, 'a --link alias resolves');
      assertOk(await d.cli(cli, ['rm', '-f', name, `${cli}-two`]), 'rm');
    });
  }
});

describe('published ports', () => {
  test('berth run -p HOST:80 serves; berth port prints what docker port prints', async () => {
    const port = await freePort();
    assertOk(
      await d.berth([
        'run',
        '-d',
        '--name',
        'pub1',
        '-p',
        `${port}:80`,
        '-p',
        '127.0.0.1::81/udp',
        'busybox',
        ...httpd('one'),
      ]),
      'berth run -p',
    );
    await waitFor(
      'httpd through the published port',
      async () => (await fetchText(port).catch(() => '')) !== '',
    );
    assert.equal(await fetchText(port), 'one\n');
    const berthPort = assertOk(await d.berth(['port', 'pub1']), 'berth port').stdout;
    assert.equal(berthPort, assertOk(await d.docker(['port', 'pub1']), 'docker port').stdout);
    const udp = /^81\/udp -> 127\.0\.0\.1:(\d+)$/m.exec(berthPort);
    assert.ok(udp, berthPort);
    assert.ok(berthPort.includes(`80/tcp -> 0.0.0.0:${port}\n`), berthPort);
    assert.equal(assertOk(await d.berth(['port', 'pub1', '80']), 'port 80').stdout, `0.0.0.0:${port}\n`);
    assert.equal(
      assertOk(await d.berth(['container', 'port', 'pub1', '81/udp']), 'port').stdout,
      `127.0.0.1:${udp[1]}\n`,
    );
    const none = await d.berth(['port', 'pub1', '82']);
    assertExit(none, 1, 'port 82');
    assert.match(none.stderr, /No public port '82' published for pub1/);
    assertOk(await d.berth(['rm', '-f', 'pub1']), 'rm');
    assert.doesNotMatch(await nftRules(), new RegExp(`dport ${port}\\b`));
  });

  test('-P publishes the EXPOSE of an image made with docker import --change', async () => {
    const rootfs = await rootfsTar();
    assertOk(
      await d.docker(['import', '--change', 'EXPOSE 80', rootfs, 'exposed:latest']),
      'docker import --change EXPOSE 80',
    );
    for (const cli of ['docker', 'berth'] as CliName[]) {
      const name = `all-${cli}`;
      assertOk(
        await d.cli(cli, [...runWith(cli), '-d', '--name', name, '-P', 'exposed', ...httpd(cli)]),
        `${cli} run -P`,
      );
      const p = assertOk(await d.cli(cli, ['port', name]), 'port').stdout;
      const port = Number(/^80\/tcp -> 0\.0\.0\.0:(\d+)$/m.exec(p)?.[1]);
      assert.ok(port > 0, p);
      await waitFor(
        `httpd on -P port ${port}`,
        async () => (await fetchText(port).catch(() => '')) === `${cli}\n`,
      );
      assertOk(await d.cli(cli, ['rm', '-f', name]), 'rm');
    }
  });

  test('bad port specs are refused by both CLIs before anything is made', async () => {
    for (const cli of ['docker', 'berth'] as CliName[]) {
      for (const [spec, message] of [
        ['80/xtp', /invalid proto: xtp/],
        ['8080:eighty', /invalid containerPort: eighty/],
      ] as const) {
        const r = await d.cli(cli, [...runWith(cli), '--name', 'badport', '-p', spec, 'busybox', 'true']);
        assertExit(r, 125, `${cli} run -p ${spec}`);
        assert.match(r.stderr, message);
      }
    }
    const ps = assertOk(await d.berth(['ps', '-a', '--format', '{{.Names}}']), 'ps').stdout;
    assert.doesNotMatch(ps, /badport/);
  });

  test('a host port in use: berth says so and no DNAT rule stays', async () => {
    const server: Server = createServer();
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '0.0.0.0', () => {
        const a = server.address();
        resolve(typeof a === 'object' && a ? a.port : 0);
      }),
    );
    try {
      const r = await d.berth(['run', '-d', '--name', 'taken', '-p', `${port}:80`, 'busybox', 'sleep', '30']);
      assertExit(r, 125, 'run with a busy port');
      assert.match(r.stderr, new RegExp(`Bind for 0.0.0.0:${port} failed: port is already allocated`));
    } finally {
      server.close();
    }
    assert.doesNotMatch(await nftRules(), new RegExp(`dport ${port}\\b`));
    assertOk(await d.berth(['rm', '-f', 'taken']), 'rm');
  });
});

describe('network modes', () => {
  test('host sees the host interfaces, none has only lo', async () => {
    for (const cli of ['docker', 'berth'] as CliName[]) {
      const host = assertOk(
        await d.cli(cli, [...runWith(cli), '--rm', '--network', 'host', 'busybox', 'ip', '-o', 'link']),
        `${cli} --network host`,
      );
      assert.match(host.stdout, new RegExp(`: ${d.names.bridge}:`));
      const none = assertOk(
        await d.cli(cli, [...runWith(cli), '--rm', '--network', 'none', 'busybox', 'ip', '-o', 'link']),
        `${cli} --network none`,
      );
      const names = none.stdout
        .trim()
        .split('\n')
        .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1]);
      assert.deepEqual(names, ['lo']);
    }
  });

  test("berth run --network container:X shares X's addresses", async () => {
    assertOk(await d.berth(['run', '-d', '--name', 'owner', 'busybox', 'sleep', '300']), 'run owner');
    const ip = assertOk(
      await d.berth(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'owner']),
      'inspect',
    ).stdout.trim();
    assert.ok(ip.startsWith(d.names.subnetPrefix), ip);
    const r = assertOk(
      await d.berth(['run', '--rm', '--network', 'container:owner', 'busybox', 'ip', '-o', '-4', 'addr']),
      'run container:owner',
    );
    assert.match(r.stdout, new RegExp(`inet ${ip.replaceAll('.', '\\.')}/`));
    const clash = await d.berth([
      'run',
      '--rm',
      '--network',
      'container:owner',
      '-p',
      '80',
      'busybox',
      'true',
    ]);
    assertExit(clash, 125, 'publishing in container mode');
    assert.match(clash.stderr, /conflicting options: port publishing and the container type network mode/);
    assertOk(await d.berth(['rm', '-f', 'owner']), 'rm');
  });

  test("berth network connect/disconnect change a running container's addresses", async () => {
    assertOk(await d.berth(['network', 'create', '--subnet', subnet(20), 'conn-a']), 'create a');
    assertOk(await d.berth(['network', 'create', '--subnet', subnet(21), 'conn-b']), 'create b');
    assertOk(
      await d.berth(['run', '-d', '--name', 'mover', '--network', 'conn-a', 'busybox', 'sleep', '300']),
      'run',
    );
    const before = assertOk(await d.berth(['exec', 'mover', 'ip', '-o', '-4', 'addr']), 'ip addr').stdout;
    assert.match(before, new RegExp(`eth0\\s+inet ${mine}\\.120\\.`));
    assert.doesNotMatch(before, /eth1/);
    assertOk(await d.berth(['network', 'connect', '--ip', address(21, 77), 'conn-b', 'mover']), 'connect');
    const joined = assertOk(await d.berth(['exec', 'mover', 'ip', '-o', '-4', 'addr']), 'ip addr').stdout;
    assert.match(joined, new RegExp(`eth1\\s+inet ${address(21, 77).replaceAll('.', '\\.')}/24`));
    assertOk(await d.berth(['network', 'disconnect', 'conn-b', 'mover']), 'disconnect');
    const left = assertOk(await d.berth(['exec', 'mover', 'ip', '-o', '-4', 'addr']), 'ip addr').stdout;
    assert.doesNotMatch(left, /eth1/);
    assert.match(left, /eth0/);
    assertOk(await d.berth(['rm', '-f', 'mover']), 'rm');
    assertOk(await d.berth(['network', 'rm', 'conn-a', 'conn-b']), 'network rm');
  });

  for (const driver of ['macvlan', 'ipvlan'] as const) {
    test(`two ${driver} containers reach each other over a veth parent`, async (t) => {
      if (!(await hostLinks()).includes(`${veth}a`)) {
        assertOk(
          await runProgram('ip', ['link', 'add', `${veth}a`, 'type', 'veth', 'peer', 'name', `${veth}b`]),
          'ip link add veth',
        );
        assertOk(await runProgram('ip', ['link', 'set', `${veth}a`, 'up']), 'up a');
        assertOk(await runProgram('ip', ['link', 'set', `${veth}b`, 'up']), 'up b');
      }
      if (driver === 'ipvlan') {
        const probe = await runProgram('ip', [
          'link',
          'add',
          'link',
          `${veth}a`,
          `${veth}i`,
          'type',
          'ipvlan',
        ]);
        if (probe.code !== 0) {
          t.skip(`this kernel cannot make ipvlan links (${probe.stderr.trim()}): no ipvlan module`);
          return;
        }
        assertOk(await runProgram('ip', ['link', 'del', `${veth}i`]), 'del probe');
      }
      const n = driver === 'macvlan' ? 30 : 31;
      const net = `${driver}-net`;
      assertOk(
        await d.docker([
          'network',
          'create',
          '-d',
          driver,
          '--subnet',
          subnet(n),
          '-o',
          `parent=${veth}a`,
          net,
        ]),
        `create ${driver}`,
      );
      assertOk(
        await d.docker([
          ...runWith('docker'),
          '-d',
          '--name',
          `${driver}-1`,
          '--network',
          net,
          '--ip',
          address(n, 10),
          'busybox',
          'sleep',
          '300',
        ]),
        'run 1',
      );
      assertOk(
        await d.berth([
          'run',
          '-d',
          '--name',
          `${driver}-2`,
          '--network',
          net,
          '--ip',
          address(n, 11),
          'busybox',
          'sleep',
          '300',
        ]),
        'run 2',
      );
      assertOk(await d.docker(['exec', `${driver}-2`, 'ping', '-c1', '-W2', address(n, 10)]), '2 -> 1');
      assertOk(await d.berth(['exec', `${driver}-1`, 'ping', '-c1', '-W2', address(n, 11)]), '1 -> 2');
      assertOk(await d.docker(['rm', '-f', `${driver}-1`, `${driver}-2`]), 'rm');
      assertOk(await d.docker(['network', 'rm', net]), 'network rm');
      const links = await hostLinks();
      assert.ok(links.includes(`${veth}a`), 'the parent stays: it is the test’s');
    });
  }
});

describe('name resolution files', () => {
  for (const cli of ['docker', 'berth'] as CliName[]) {
    test(`${cli}: --add-host (host-gateway), --dns, --dns-search, --dns-option`, async () => {
      const r = assertOk(
        await d.cli(cli, [
          ...runWith(cli),
          '--rm',
          '--add-host',
          'gw:host-gateway',
          '--add-host',
          'fixed=192.0.2.9',
          '--dns',
          '192.0.2.53',
          '--dns-search',
          'example.test',
          '--dns-option',
          'ndots:3',
          '--hostname',
          'named',
          'busybox',
          'cat',
          '/etc/hosts',
          '/etc/resolv.conf',
        ]),
        'run',
      );
      const lines = r.stdout.split('\n');
      assert.ok(lines.includes(`${d.names.gateway}\tgw`), r.stdout);
      assert.ok(lines.includes('192.0.2.9\tfixed'), r.stdout);
      assert.ok(
        lines.some((l) => /^\S+\tnamed$/.test(l)),
        r.stdout,
      );
      assert.ok(lines.includes('nameserver 192.0.2.53'), r.stdout);
      assert.ok(lines.includes('search example.test'), r.stdout);
      assert.ok(lines.includes('options ndots:3'), r.stdout);
    });
  }

  for (const cli of ['docker', 'berth'] as CliName[]) {
    test(`${cli}: --link on the default bridge resolves the alias and the name`, async () => {
      const target = `${cli}-linked`;
      assertOk(await d.cli(cli, [...runWith(cli), '-d', '--name', target, 'busybox', 'sleep', '300']), 'run');
      for (const name of ['db', target]) {
        const r = await d.cli(cli, [
          ...runWith(cli),
          '--rm',
          '--link',
          `${target}:db`,
          'busybox',
          'ping',
          '-c1',
          '-W2',
          name,
        ]);
        assertOk(r, `ping ${name}`);
        assert.match(r.stdout, new RegExp(`\\(${d.names.subnetPrefix.replaceAll('.', '\\.')}\\d+\\)`));
      }
      assertOk(await d.cli(cli, ['rm', '-f', target]), 'rm');
    });
  }

  test('a bad --add-host, --dns or --mac-address is refused by the CLI', async () => {
    for (const [flag, value, message] of [
      ['--add-host', 'nohost', /bad format for add-host: "nohost"/],
      ['--dns', 'resolver', /resolver is not an ip address/],
      ['--mac-address', '02:42', /02:42 is not a valid mac address/],
    ] as const) {
      const r = await d.berth(['run', '--rm', flag, value, 'busybox', 'true']);
      assertExit(r, 125, `${flag} ${value}`);
      assert.match(r.stderr, message);
    }
  });

  test('--mac-address and --ip on a user network are what the container gets', async () => {
    assertOk(await d.berth(['network', 'create', '--subnet', subnet(40), 'macs']), 'create');
    const r = assertOk(
      await d.berth([
        'run',
        '--rm',
        '--network',
        'macs',
        '--ip',
        address(40, 40),
        '--mac-address',
        '02:42:0a:0b:0c:0d',
        'busybox',
        'sh',
        '-c',
        'ip -o link show eth0; ip -o -4 addr show eth0',
      ]),
      'run',
    );
    assert.match(r.stdout, /link\/ether 02:42:0a:0b:0c:0d/);
    assert.match(r.stdout, new RegExp(`inet ${address(40, 40).replaceAll('.', '\\.')}/24`));
    assertOk(await d.berth(['network', 'rm', 'macs']), 'rm');
  });
});

describe('bad input leaves nothing half-made', () => {
  test('overlapping subnets, a gateway outside, a static IP outside or taken', async () => {
    const bridgesBefore = await userBridges();
    assertOk(await d.berth(['network', 'create', '--subnet', subnet(50), 'base']), 'create base');
    const overlap = await d.berth(['network', 'create', '--subnet', `${mine}.150.0/25`, 'over']);
    assertExit(overlap, 1, 'overlap');
    assert.match(overlap.stderr, /Pool overlaps with other one on this address space/);
    const gw = await d.berth(['network', 'create', '--subnet', subnet(51), '--gateway', '192.0.2.1', 'gw']);
    assertExit(gw, 1, 'gateway outside');
    assert.match(gw.stderr, /no matching subnet for gateway 192.0.2.1/);
    const outside = await d.berth([
      'run',
      '--rm',
      '--network',
      'base',
      '--ip',
      '192.0.2.50',
      'busybox',
      'true',
    ]);
    assertExit(outside, 125, 'ip outside');
    assert.match(outside.stderr, /does not belong to any of this network's subnets/);
    assertOk(
      await d.berth([
        'run',
        '-d',
        '--name',
        'holder',
        '--network',
        'base',
        '--ip',
        address(50, 9),
        'busybox',
        'sleep',
        '60',
      ]),
      'holder',
    );
    const taken = await d.berth([
      'run',
      '--name',
      'second',
      '--network',
      'base',
      '--ip',
      address(50, 9),
      'busybox',
      'true',
    ]);
    assertExit(taken, 125, 'ip taken');
    assert.match(taken.stderr, /Address already in use/);
    assertOk(await d.berth(['rm', '-f', 'holder']), 'rm holder');
    await d.berth(['rm', '-f', 'second']);
    assertOk(await d.berth(['network', 'rm', 'base']), 'rm base');
    const names = assertOk(await d.berth(['network', 'ls', '--format', '{{.Name}}']), 'ls').stdout;
    assert.doesNotMatch(names, /^(over|gw|base)$/m);
    assert.deepEqual(await userBridges(), bridgesBefore);
    assert.doesNotMatch(await nftRules(), new RegExp(`${mine.replaceAll('.', '\\.')}\\.15[01]\\.`));
  });

  test('when the last network and container are gone, no bridge or veth of ours remains', async () => {
    const left = assertOk(await d.berth(['ps', '-aq']), 'ps').stdout.trim();
    if (left !== '') assertOk(await d.berth(['rm', '-f', ...left.split('\n')]), 'rm all');
    assertOk(await d.berth(['network', 'prune', '-f']), 'prune');
    assert.deepEqual(await userBridges(), []);
    const links = await hostLinks();
    const ours = links.split('\n').filter((l) => l.includes(`master ${d.names.bridge}`));
    assert.deepEqual(ours, []);
  });
});
