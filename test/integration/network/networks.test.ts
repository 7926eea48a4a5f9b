// User-defined networks as a user meets them (issue 5), through the real docker CLI:
// create/ls/inspect/rm, containers reaching each other by name and alias over the
// embedded DNS, isolation between networks, published ports and the errors for bad input.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  assertExit,
  assertOk,
  busyboxImage,
  type Daemon,
  freePort,
  httpGet,
  startDaemon,
  waitFor,
} from '../../harness/index.js';

/** What busybox httpd serves as /index.html on a published port, whatever the status. */
async function fetchText(port: number): Promise<string> {
  return (await httpGet(`http://127.0.0.1:${port}/index.html`)).body;
}

let d: Daemon;
/** Three octets of a /16 the test owns for explicit subnets, e.g. `10.123.`. */
let mine = '';

before(async () => {
  const a = 100 + Math.floor(Math.random() * 150);
  const b = Math.floor(Math.random() * 200);
  mine = `10.${a}.${b}`;
  d = await startDaemon({ extraArgs: ['--default-address-pool', `base=${mine}.0/24,size=28`] });
  const image = await busyboxImage();
  assertOk(await d.docker(['load', '-i', image.path]), 'docker load');
});
after(async () => {
  await d?.stop();
});
afterEach((t) => d?.dumpLogOnFailure(t));

function subnet(third: number): string {
  // A second /16-ish range next to the pool: same first octet pair, other third octet.
  const [a, b] = mine.split('.').slice(1);
  return `10.${a}.${(Number(b) + third) % 256}.0/24`;
}

describe('network create, ls, inspect, rm', () => {
  test('create with a subnet, list it, inspect it, remove it', async () => {
    const created = assertOk(
      await d.docker(['network', 'create', '--subnet', subnet(1), '--label', 'team=blue', 'net-a']),
      'network create',
    );
    const id = created.stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const ls = assertOk(
      await d.docker(['network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']),
      'ls',
    );
    for (const line of ['bridge bridge local', 'host host local', 'none null local', 'net-a bridge local']) {
      assert.ok(ls.stdout.split('\n').includes(line), `ls shows "${line}":\n${ls.stdout}`);
    }
    const q = assertOk(await d.docker(['network', 'ls', '-q', '--filter', 'label=team=blue']), 'ls -q');
    assert.equal(q.stdout.trim(), id.slice(0, 12));
    const inspect = assertOk(await d.docker(['network', 'inspect', 'net-a']), 'inspect');
    const [net] = JSON.parse(inspect.stdout) as Array<{
      Id: string;
      IPAM: { Config: Array<{ Subnet: string; Gateway: string }> };
      Labels: Record<string, string>;
      Options: Record<string, string>;
    }>;
    assert.equal(net?.Id, id);
    assert.equal(net?.IPAM.Config[0]?.Subnet, subnet(1));
    assert.equal(net?.IPAM.Config[0]?.Gateway, subnet(1).replace('.0/24', '.1'));
    assert.deepEqual(net?.Labels, { team: 'blue' });
    // The generated bridge device is named by the daemon's prefix and kept out of Options, as dockerd does.
    assert.equal(net?.Options['com.docker.network.bridge.name'], undefined);
    const links = execFileSync('ip', ['-o', 'link', 'show', 'type', 'bridge'], { encoding: 'utf8' });
    const maxPrefixed = `${d.names.bridge}-${id.slice(0, 15 - d.names.bridge.length - 1)}`;
    assert.match(links, new RegExp(`: ${maxPrefixed}:`), links);
    assertOk(await d.docker(['network', 'rm', 'net-a']), 'rm');
    const gone = await d.docker(['network', 'inspect', 'net-a']);
    assertExit(gone, 1, 'inspect after rm');
    assert.match(gone.stderr, /network net-a not found/);
  });

  test('a network without --subnet gets one from the pool, not overlapping', async () => {
    assertOk(await d.docker(['network', 'create', 'pool-1']), 'create pool-1');
    assertOk(await d.docker(['network', 'create', 'pool-2']), 'create pool-2');
    const fmt = ['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Subnet}}'];
    const s1 = assertOk(await d.docker([...fmt, 'pool-1']), 'inspect').stdout.trim();
    const s2 = assertOk(await d.docker([...fmt, 'pool-2']), 'inspect').stdout.trim();
    assert.equal(s1, `${mine}.0/28`);
    assert.equal(s2, `${mine}.16/28`);
    assertOk(await d.docker(['network', 'prune', '-f']), 'prune');
    const ls = assertOk(await d.docker(['network', 'ls', '--format', '{{.Name}}']), 'ls');
    assert.deepEqual(ls.stdout.trim().split('\n').sort(), ['bridge', 'host', 'none']);
  });

  test('bad input: overlap, gateway outside, duplicate name, predefined rm', async () => {
    assertOk(await d.docker(['network', 'create', '--subnet', subnet(2), 'bad-base']), 'create');
    const overlap = await d.docker([
      'network',
      'create',
      '--subnet',
      subnet(2).replace('/24', '/25'),
      'bad-2',
    ]);
    assertExit(overlap, 1, 'overlapping subnet');
    assert.match(overlap.stderr, /Pool overlaps with other one on this address space/);
    const gw = await d.docker([
      'network',
      'create',
      '--subnet',
      subnet(3),
      '--gateway',
      '192.0.2.77',
      'bad-3',
    ]);
    assertExit(gw, 1, 'gateway outside subnet');
    assert.match(gw.stderr, /no matching subnet for gateway 192.0.2.77/);
    const dup = await d.docker(['network', 'create', 'bad-base']);
    assertExit(dup, 1, 'duplicate');
    assert.match(dup.stderr, /network with name bad-base already exists/);
    const pre = await d.docker(['network', 'rm', 'bridge']);
    assertExit(pre, 1, 'rm bridge');
    assert.match(pre.stderr, /bridge is a pre-defined network and cannot be removed/);
    assertOk(await d.docker(['network', 'rm', 'bad-base']), 'rm');
    const ls = assertOk(await d.docker(['network', 'ls', '--format', '{{.Name}}']), 'ls');
    assert.ok(!/bad-/.test(ls.stdout), ls.stdout);
  });
});

describe('containers on user-defined networks', () => {
  before(async () => {
    assertOk(await d.docker(['network', 'create', '--subnet', subnet(10), 'front']), 'create front');
    assertOk(await d.docker(['network', 'create', '--subnet', subnet(11), 'back']), 'create back');
    assertOk(
      await d.docker([
        'run',
        '-d',
        '--name',
        'web',
        '--network',
        'front',
        '--network-alias',
        'www',
        'busybox',
        'sleep',
        '300',
      ]),
      'run web',
    );
  });

  test('containers reach each other by name and by alias', async () => {
    for (const name of ['web', 'www']) {
      const r = await d.docker(['run', '--rm', '--network', 'front', 'busybox', 'ping', '-c1', '-W2', name]);
      assertOk(r, `ping ${name}`);
      assert.match(r.stdout, new RegExp(`${subnet(10).replace('.0/24', '')}\\.\\d+`));
    }
  });

  test('a --link name resolves in the linking container', async () => {
    const r = await d.docker([
      'run',
      '--rm',
      '--network',
      'front',
      '--link',
      'web:db',
      'busybox',
      'ping',
      '-c1',
      '-W2',
      'db',
    ]);
    assertOk(r, 'ping db');
  });

  test('a static --ip is used; one outside the subnet or taken is refused', async () => {
    const ip = subnet(10).replace('.0/24', '.200');
    const r = await d.docker([
      'run',
      '--rm',
      '--network',
      'front',
      '--ip',
      ip,
      'busybox',
      'ip',
      '-4',
      'addr',
      'show',
      'eth0',
    ]);
    assertOk(r, 'run --ip');
    assert.match(r.stdout, new RegExp(`inet ${ip.replaceAll('.', '\\.')}/24`));
    const outside = await d.docker([
      'run',
      '--rm',
      '--network',
      'front',
      '--ip',
      '192.0.2.50',
      'busybox',
      'true',
    ]);
    assertExit(outside, 125, 'ip outside');
    assert.match(outside.stderr, /does not belong to any of this network's subnets/);
    const webIp = assertOk(
      await d.docker(['inspect', '-f', '{{.NetworkSettings.Networks.front.IPAddress}}', 'web']),
      'inspect web',
    ).stdout.trim();
    const taken = await d.docker(['run', '--rm', '--network', 'front', '--ip', webIp, 'busybox', 'true']);
    assertExit(taken, 125, 'ip taken');
    assert.match(taken.stderr, /Address already in use/);
  });

  test('containers on another network can neither resolve nor reach them', async () => {
    const webIp = assertOk(
      await d.docker(['inspect', '-f', '{{.NetworkSettings.Networks.front.IPAddress}}', 'web']),
      'inspect web',
    ).stdout.trim();
    const byName = await d.docker([
      'run',
      '--rm',
      '--network',
      'back',
      'busybox',
      'ping',
      '-c1',
      '-W1',
      'web',
    ]);
    assert.notEqual(byName.code, 0, 'web resolved from back');
    const byIp = await d.docker(['run', '--rm', '--network', 'back', 'busybox', 'ping', '-c1', '-W1', webIp]);
    assert.notEqual(byIp.code, 0, 'web reached from back');
  });

  test('network inspect lists the container; rm of a network in use is refused', async () => {
    const inspect = assertOk(
      await d.docker(['network', 'inspect', '-f', '{{range .Containers}}{{.Name}}{{end}}', 'front']),
      'inspect',
    );
    assert.equal(inspect.stdout.trim(), 'web');
    const rm = await d.docker(['network', 'rm', 'front']);
    assertExit(rm, 1, 'rm in use');
    assert.match(rm.stderr, /has active endpoints/);
  });

  test("connect and disconnect change a running container's interfaces", async () => {
    assertOk(await d.docker(['network', 'connect', '--alias', 'api', 'back', 'web']), 'connect');
    const links = assertOk(await d.docker(['exec', 'web', 'ip', '-o', 'link']), 'exec ip link');
    assert.match(links.stdout, /eth1/);
    const r = await d.docker(['run', '--rm', '--network', 'back', 'busybox', 'ping', '-c1', '-W2', 'api']);
    assertOk(r, 'ping api over back');
    assertOk(await d.docker(['network', 'disconnect', 'back', 'web']), 'disconnect');
    const after = assertOk(await d.docker(['exec', 'web', 'ip', '-o', 'link']), 'exec ip link');
    assert.doesNotMatch(after.stdout, /eth1/);
  });

  test("--network container:X shares X's interfaces", async () => {
    const mine = assertOk(
      await d.docker(['run', '--rm', '--network', 'container:web', 'busybox', 'hostname', '-i']),
      'run',
    );
    const webIp = assertOk(
      await d.docker(['inspect', '-f', '{{.NetworkSettings.Networks.front.IPAddress}}', 'web']),
      'inspect web',
    ).stdout.trim();
    const addrs = assertOk(
      await d.docker(['run', '--rm', '--network', 'container:web', 'busybox', 'ip', '-4', 'addr']),
      'ip addr',
    );
    assert.ok(addrs.stdout.includes(webIp), `${addrs.stdout} has ${webIp}; hostname -i: ${mine.stdout}`);
  });

  test('an --internal network has no way out', async () => {
    assertOk(await d.docker(['network', 'create', '--internal', '--subnet', subnet(12), 'sealed']), 'create');
    const r = await d.docker([
      'run',
      '--rm',
      '--network',
      'sealed',
      'busybox',
      'ping',
      '-c1',
      '-W1',
      d.names.gateway,
    ]);
    assert.notEqual(r.code, 0, 'reached the default bridge gateway from an internal network');
  });
});

describe('published ports', () => {
  const httpd = [
    'sh',
    '-c',
    'mkdir -p /www && echo hello-from-httpd > /www/index.html && httpd -f -p 80 -h /www',
  ];

  test('-p HOST:80 serves on 127.0.0.1 and docker port shows it; the rule goes with the container', async () => {
    const port = await freePort();
    assertOk(
      await d.docker(['run', '-d', '--name', 'site', '-p', `${port}:80`, 'busybox', ...httpd]),
      'run -p',
    );
    let body = '';
    await waitFor('httpd to answer through the published port', async () => {
      body = await fetchText(port).catch(() => '');
      return body !== '';
    });
    assert.equal(body, 'hello-from-httpd\n');
    const p = assertOk(await d.docker(['port', 'site']), 'docker port');
    assert.equal(p.stdout.trim(), `80/tcp -> 0.0.0.0:${port}`);
    assertOk(await d.docker(['rm', '-f', 'site']), 'rm -f');
    await assert.rejects(fetchText(port));
  });

  test('-p 80 on a user network picks an ephemeral host port', async () => {
    assertOk(await d.docker(['network', 'create', '--subnet', subnet(20), 'pub']), 'create');
    assertOk(
      await d.docker(['run', '-d', '--name', 'site2', '--network', 'pub', '-p', '80', 'busybox', ...httpd]),
      'run',
    );
    const p = assertOk(await d.docker(['port', 'site2', '80']), 'docker port');
    const port = Number(/:(\d+)$/.exec(p.stdout.trim())?.[1]);
    assert.ok(port > 0, p.stdout);
    await waitFor('httpd on the ephemeral port', async () => (await fetchText(port).catch(() => '')) !== '');
    assertOk(await d.docker(['rm', '-f', 'site2']), 'rm');
  });

  test('a host port in use is a clear error and leaves nothing behind', async () => {
    const server: Server = createServer();
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '0.0.0.0', () => {
        const a = server.address();
        resolve(typeof a === 'object' && a ? a.port : 0);
      }),
    );
    try {
      const r = await d.docker([
        'run',
        '-d',
        '--name',
        'clash',
        '-p',
        `${port}:80`,
        'busybox',
        'sleep',
        '30',
      ]);
      assertExit(r, 125, 'run with a busy port');
      assert.match(r.stderr, new RegExp(`Bind for 0.0.0.0:${port} failed: port is already allocated`));
    } finally {
      server.close();
    }
    const state = assertOk(await d.docker(['inspect', '-f', '{{.State.Status}}', 'clash']), 'inspect');
    assert.equal(state.stdout.trim(), 'created');
    assertOk(await d.docker(['rm', 'clash']), 'rm');
  });

  test('a port spec that does not parse is refused by the daemon', async () => {
    const r = await d.request('POST', '/containers/create', {
      Image: 'busybox',
      Cmd: ['true'],
      HostConfig: { PortBindings: { '80/xtp': [{ HostPort: '8080' }] } },
    });
    assert.equal(r.status, 400);
    assert.match((r.json as { message: string }).message, /invalid port specification: "80\/xtp"/);
  });
});
