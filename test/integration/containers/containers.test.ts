// Containers as a user meets them (issue 3): run, ps, logs, stop/kill/wait/rm,
// inspect and the run options, each with bin/berth and with the real docker CLI.
import assert from 'node:assert/strict';
import { existsSync, readlinkSync, writeFileSync } from 'node:fs';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  assertExit,
  assertOk,
  BUSYBOX_PATH_ENV,
  busyboxImage,
  type CliName,
  type ContainerInspect,
  type Daemon,
  parseInspect,
  startDaemon,
  waitFor,
} from '../../harness/index.js';

let d: Daemon;
let busyboxId = '';

before(async () => {
  d = await startDaemon();
  const image = await busyboxImage();
  busyboxId = image.imageId;
  const r = await d.docker(['load', '-i', image.path]);
  assertOk(r, 'docker load -i busybox.tar');
});
after(async () => {
  await d?.stop();
});
afterEach((t) => d?.dumpLogOnFailure(t));

async function inspect(cli: CliName, name: string): Promise<ContainerInspect> {
  const r = assertOk(await d.cli(cli, ['inspect', name]), `${cli} inspect ${name}`);
  return parseInspect<ContainerInspect>(r.stdout);
}

const CLIS: CliName[] = ['berth', 'docker'];

for (const cli of CLIS) {
  describe(`${cli}: run`, () => {
    test(`${cli} run --rm busybox echo hello prints hello`, async () => {
      const r = assertOk(await d.cli(cli, ['run', '--rm', 'busybox', 'echo', 'hello']), 'run echo hello');
      assert.equal(r.stdout, 'hello\n');
    });

    test(`${cli} run --rm busybox sh -c 'exit 3' exits 3`, async () => {
      const r = await d.cli(cli, ['run', '--rm', 'busybox', 'sh', '-c', 'exit 3']);
      assertExit(r, 3, "run sh -c 'exit 3'");
      assert.equal(r.stdout, '');
    });

    test(`${cli} run --rm leaves no container behind`, async () => {
      const name = `${cli}-rm-gone`;
      assertOk(await d.cli(cli, ['run', '--rm', '--name', name, 'busybox', 'true']), 'run --rm true');
      // The CLI returns once the container has exited; removal follows it.
      await waitFor(`${name} to be removed`, async () => {
        const ps = assertOk(await d.cli(cli, ['ps', '-a', '--format', '{{.Names}}']), 'ps -a');
        return !ps.stdout.split('\n').includes(name);
      });
    });

    test(`${cli} run keeps stdout and stderr apart`, async () => {
      const r = assertOk(
        await d.cli(cli, ['run', '--rm', 'busybox', 'sh', '-c', 'echo to-out; echo to-err >&2']),
        'run echo to both streams',
      );
      assert.equal(r.stdout, 'to-out\n');
      assert.match(r.stderr, /^to-err$/m);
    });
  });

  describe(`${cli}: ps`, () => {
    test(`${cli} run -d prints the id and ps shows the table header and the row`, async () => {
      const name = `${cli}-ps-up`;
      const run = assertOk(
        await d.cli(cli, ['run', '-d', '--name', name, 'busybox', 'sleep', '1000']),
        'run -d',
      );
      const id = run.stdout.trim();
      assert.match(id, /^[0-9a-f]{64}$/, `run -d prints the full id, got ${JSON.stringify(run.stdout)}`);
      const ps = assertOk(await d.cli(cli, ['ps']), 'ps');
      const lines = ps.stdout.trimEnd().split('\n');
      assert.match(lines[0] ?? '', /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
      const row = lines.find((l) => l.startsWith(id.slice(0, 12)));
      assert.ok(row, `ps lists ${id.slice(0, 12)}:\n${ps.stdout}`);
      assert.match(
        row,
        new RegExp(`^${id.slice(0, 12)}\\s+busybox\\s+"sleep 1000"\\s+.+ago\\s+Up .+\\s${name}$`),
      );
      const quiet = assertOk(await d.cli(cli, ['ps', '-q']), 'ps -q');
      assert.ok(
        quiet.stdout.split('\n').includes(id.slice(0, 12)),
        `ps -q lists the short id:\n${quiet.stdout}`,
      );
      assertOk(await d.cli(cli, ['rm', '-f', name]), 'rm -f');
    });

    test(`${cli} ps -a --format shows running and exited containers with their status`, async () => {
      const up = `${cli}-fmt-up`;
      const down = `${cli}-fmt-exited`;
      assertOk(await d.cli(cli, ['run', '-d', '--name', up, 'busybox', 'sleep', '1000']), 'run -d sleep');
      assertExit(await d.cli(cli, ['run', '--name', down, 'busybox', 'sh', '-c', 'exit 3']), 3, 'run exit 3');
      const plain = assertOk(await d.cli(cli, ['ps', '--format', '{{.Names}}']), 'ps --format');
      assert.ok(plain.stdout.split('\n').includes(up));
      assert.ok(
        !plain.stdout.split('\n').includes(down),
        `ps without -a hides exited ${down}:\n${plain.stdout}`,
      );
      const all = assertOk(
        await d.cli(cli, ['ps', '-a', '--format', '{{.Names}} {{.Status}}']),
        'ps -a --format',
      );
      const lines = all.stdout.trimEnd().split('\n');
      assert.ok(
        lines.some((l) => new RegExp(`^${up} Up .+$`).test(l)),
        `ps -a shows "${up} Up ...":\n${all.stdout}`,
      );
      assert.ok(
        lines.some((l) => new RegExp(`^${down} Exited \\(3\\) .+ ago$`).test(l)),
        `ps -a shows "${down} Exited (3) ... ago":\n${all.stdout}`,
      );
      assertOk(await d.cli(cli, ['rm', '-f', up, down]), 'rm -f both');
    });

    test(`${cli} ps --filter label= and name= select containers`, async () => {
      const name = `${cli}-filtered`;
      assertOk(
        await d.cli(cli, ['create', '--name', name, '--label', `suite=${cli}-filter`, 'busybox', 'true']),
        'create --label',
      );
      const byLabel = assertOk(
        await d.cli(cli, ['ps', '-a', '--filter', `label=suite=${cli}-filter`, '--format', '{{.Names}}']),
        'ps --filter label',
      );
      assert.equal(byLabel.stdout, `${name}\n`);
      const byName = assertOk(
        await d.cli(cli, ['ps', '-a', '--filter', `name=${name}`, '--format', '{{.Names}} {{.Status}}']),
        'ps --filter name',
      );
      assert.equal(byName.stdout, `${name} Created\n`);
      assertOk(await d.cli(cli, ['rm', name]), 'rm');
    });
  });

  describe(`${cli}: logs`, () => {
    test(`${cli} logs, logs --tail and logs -t`, async () => {
      const name = `${cli}-logs`;
      assertOk(
        await d.cli(cli, ['run', '-d', '--name', name, 'busybox', 'sh', '-c', 'seq 1 5; echo oops >&2']),
        'run -d seq',
      );
      const wait = assertOk(await d.cli(cli, ['wait', name]), 'wait');
      assert.equal(wait.stdout, '0\n');
      const all = assertOk(await d.cli(cli, ['logs', name]), 'logs');
      assert.equal(all.stdout, '1\n2\n3\n4\n5\n');
      assert.equal(all.stderr, 'oops\n');
      const tail = assertOk(await d.cli(cli, ['logs', '--tail', '2', name]), 'logs --tail 2');
      // The last two lines of the log are 5 (stdout) and oops (stderr).
      assert.equal(tail.stdout, '5\n');
      assert.equal(tail.stderr, 'oops\n');
      const stamped = assertOk(await d.cli(cli, ['logs', '-t', '--tail', '3', name]), 'logs -t --tail 3');
      assert.match(
        stamped.stdout,
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z 4\n\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z 5\n$/,
      );
      assertOk(await d.cli(cli, ['rm', name]), 'rm');
    });

    test(`${cli} logs -f follows until the container exits`, async () => {
      const name = `${cli}-follow`;
      assertOk(
        await d.cli(cli, ['run', '-d', '--name', name, 'busybox', 'sh', '-c', 'echo a; sleep 1; echo b']),
        'run -d',
      );
      const r = assertOk(await d.cli(cli, ['logs', '-f', name], { timeoutMs: 20_000 }), 'logs -f');
      assert.equal(r.stdout, 'a\nb\n');
      assertOk(await d.cli(cli, ['rm', name]), 'rm');
    });
  });

  describe(`${cli}: stop, kill, wait, rm`, () => {
    test(`${cli} stop -t 1 kills a process that ignores SIGTERM (exit 137)`, async () => {
      const name = `${cli}-stop`;
      assertOk(await d.cli(cli, ['run', '-d', '--name', name, 'busybox', 'sleep', '1000']), 'run -d');
      const pid = (await inspect(cli, name)).State.Pid;
      const stop = assertOk(await d.cli(cli, ['stop', '-t', '1', name]), 'stop -t 1');
      assert.equal(stop.stdout, `${name}\n`);
      const s = (await inspect(cli, name)).State;
      assert.deepEqual([s.Status, s.Running, s.ExitCode, s.Pid], ['exited', false, 137, 0]);
      assert.ok(!existsSync(`/proc/${pid}`), `container process ${pid} is gone`);
      const rm = assertOk(await d.cli(cli, ['rm', name]), 'rm');
      assert.equal(rm.stdout, `${name}\n`);
    });

    test(`${cli} stop sends SIGTERM first (a trapping shell exits 0 at once)`, async () => {
      const name = `${cli}-stop-term`;
      const script = 'trap "echo got-term; exit 0" TERM; echo ready; while :; do sleep 0.1; done';
      assertOk(await d.cli(cli, ['run', '-d', '--name', name, 'busybox', 'sh', '-c', script]), 'run -d trap');
      await waitFor('the trap to be set', async () =>
        (await d.cli(cli, ['logs', name])).stdout.includes('ready'),
      );
      const started = Date.now();
      assertOk(await d.cli(cli, ['stop', '-t', '20', name]), 'stop -t 20');
      assert.ok(Date.now() - started < 10_000, 'stop returned before the timeout');
      assert.equal((await inspect(cli, name)).State.ExitCode, 0);
      assert.equal((await d.cli(cli, ['logs', name])).stdout, 'ready\ngot-term\n');
      assertOk(await d.cli(cli, ['rm', name]), 'rm');
    });

    test(`${cli} kill, then wait prints 137`, async () => {
      const name = `${cli}-kill`;
      assertOk(await d.cli(cli, ['run', '-d', '--name', name, 'busybox', 'sleep', '1000']), 'run -d');
      const kill = assertOk(await d.cli(cli, ['kill', name]), 'kill');
      assert.equal(kill.stdout, `${name}\n`);
      const wait = assertOk(await d.cli(cli, ['wait', name]), 'wait');
      assert.equal(wait.stdout, '137\n');
      assertOk(await d.cli(cli, ['rm', name]), 'rm');
    });

    test(`${cli} wait prints the exit code`, async () => {
      const name = `${cli}-wait`;
      assertOk(
        await d.cli(cli, ['run', '-d', '--name', name, 'busybox', 'sh', '-c', 'sleep 0.3; exit 5']),
        'run',
      );
      const wait = assertOk(await d.cli(cli, ['wait', name]), 'wait');
      assert.equal(wait.stdout, '5\n');
      assertOk(await d.cli(cli, ['rm', name]), 'rm');
    });

    test(`${cli} rm refuses a running container; rm -f removes it`, async () => {
      const name = `${cli}-rmf`;
      assertOk(await d.cli(cli, ['run', '-d', '--name', name, 'busybox', 'sleep', '1000']), 'run -d');
      const pid = (await inspect(cli, name)).State.Pid;
      const rm = await d.cli(cli, ['rm', name]);
      assertExit(rm, 1, 'rm of a running container');
      assert.match(rm.stderr, /Error response from daemon: .*running/i);
      const rmf = assertOk(await d.cli(cli, ['rm', '-f', name]), 'rm -f');
      assert.equal(rmf.stdout, `${name}\n`);
      const ps = assertOk(await d.cli(cli, ['ps', '-a', '--format', '{{.Names}}']), 'ps -a');
      assert.ok(!ps.stdout.split('\n').includes(name), `${name} is gone:\n${ps.stdout}`);
      assert.ok(!existsSync(`/proc/${pid}`), `container process ${pid} is gone`);
      const again = await d.cli(cli, ['inspect', name]);
      assertExit(again, 1, 'inspect of a removed container');
      assert.match(again.stderr, new RegExp(`No such (container|object): ${name}`));
    });

    test(`${cli} create then start -a runs the container`, async () => {
      const name = `${cli}-create`;
      const created = assertOk(
        await d.cli(cli, ['create', '--name', name, 'busybox', 'echo', 'made']),
        'create',
      );
      assert.match(created.stdout, /^[0-9a-f]{64}\n$/);
      assert.equal((await inspect(cli, name)).State.Status, 'created');
      const start = assertOk(await d.cli(cli, ['start', '-a', name]), 'start -a');
      assert.equal(start.stdout, 'made\n');
      assertOk(await d.cli(cli, ['rm', name]), 'rm');
    });
  });

  describe(`${cli}: inspect`, () => {
    test(`${cli} inspect shows State, Config and NetworkSettings`, async () => {
      const name = `${cli}-inspect`;
      const run = assertOk(
        await d.cli(cli, [
          'run',
          '-d',
          '--name',
          name,
          '-e',
          'A=1',
          '-w',
          '/tmp',
          '-u',
          '1000',
          '--hostname',
          'inspected',
          '--label',
          'com.example.k=v',
          'busybox',
          'sleep',
          '1000',
        ]),
        'run -d with options',
      );
      const id = run.stdout.trim();
      const c = await inspect(cli, name);
      assert.equal(c.Id, id);
      assert.equal(c.Name, `/${name}`);
      assert.equal(c.Image, busyboxId);
      assert.equal(c.State.Status, 'running');
      assert.equal(c.State.Running, true);
      assert.equal(c.State.ExitCode, 0);
      assert.ok(
        c.State.Pid > 0 && existsSync(`/proc/${c.State.Pid}`),
        `State.Pid ${c.State.Pid} is a live process`,
      );
      assert.ok(!Number.isNaN(Date.parse(c.State.StartedAt)), `StartedAt ${c.State.StartedAt} is a time`);
      assert.ok(c.Config.Env?.includes('A=1'), `Env has A=1: ${JSON.stringify(c.Config.Env)}`);
      assert.ok(
        c.Config.Env?.includes(BUSYBOX_PATH_ENV),
        `Env keeps the image's PATH: ${JSON.stringify(c.Config.Env)}`,
      );
      assert.deepEqual(c.Config.Cmd, ['sleep', '1000']);
      assert.equal(c.Config.WorkingDir, '/tmp');
      assert.equal(c.Config.User, '1000');
      assert.equal(c.Config.Hostname, 'inspected');
      assert.deepEqual(c.Config.Labels, { 'com.example.k': 'v' });
      assert.equal(c.Config.Image, 'busybox');
      assert.ok(
        c.NetworkSettings.IPAddress.startsWith(d.names.subnetPrefix),
        `IPAddress ${c.NetworkSettings.IPAddress} is in ${d.names.bip}`,
      );
      assert.equal(c.NetworkSettings.Networks.bridge?.IPAddress, c.NetworkSettings.IPAddress);
      assert.equal(c.NetworkSettings.Networks.bridge?.Gateway, d.names.gateway);

      assertOk(await d.cli(cli, ['stop', '-t', '1', name]), 'stop');
      const s = (await inspect(cli, name)).State;
      assert.deepEqual([s.Status, s.Running, s.ExitCode, s.Pid], ['exited', false, 137, 0]);
      assert.ok(Date.parse(s.FinishedAt) >= Date.parse(s.StartedAt), 'FinishedAt follows StartedAt');
      assertOk(await d.cli(cli, ['rm', name]), 'rm');
    });
  });

  // Independent short-lived containers: run side by side to keep the suite fast.
  describe(`${cli}: run options seen from inside the container`, { concurrency: true }, () => {
    const inside = async (args: string[]) =>
      assertOk(await d.cli(cli, ['run', '--rm', ...args]), `run --rm ${args.join(' ')}`);

    test(`${cli} run -e sets the environment on top of the image's`, async () => {
      const env = (await inside(['-e', 'A=1', '-e', 'B=two words', 'busybox', 'env'])).stdout.split('\n');
      assert.ok(env.includes('A=1'), env.join('\n'));
      assert.ok(env.includes('B=two words'), env.join('\n'));
      assert.ok(env.includes(BUSYBOX_PATH_ENV), env.join('\n'));
    });

    test(`${cli} run --env-file reads variables and skips comments`, async () => {
      const file = `${d.execRoot}/${cli}-env-file`;
      writeFileSync(file, '# a comment\nFROM_FILE=yes\nSPACED=a b c\n');
      const env = (await inside(['--env-file', file, 'busybox', 'env'])).stdout.split('\n');
      assert.ok(env.includes('FROM_FILE=yes'), env.join('\n'));
      assert.ok(env.includes('SPACED=a b c'), env.join('\n'));
      assert.ok(!env.some((l) => l.includes('comment')), env.join('\n'));
    });

    test(`${cli} run -w sets the working directory, creating it when missing`, async () => {
      assert.equal((await inside(['-w', '/tmp', 'busybox', 'pwd'])).stdout, '/tmp\n');
      assert.equal((await inside(['-w', '/made/by/run', 'busybox', 'pwd'])).stdout, '/made/by/run\n');
    });

    test(`${cli} run -u takes a name from /etc/passwd or uid:gid`, async () => {
      const byName = await inside(['-u', 'app', 'busybox', 'sh', '-c', 'id -u; id -g; id -un']);
      assert.equal(byName.stdout, '1000\n1000\napp\n');
      const byIds = await inside(['-u', '1000:65534', 'busybox', 'sh', '-c', 'id -u; id -g']);
      assert.equal(byIds.stdout, '1000\n65534\n');
      const root = await inside(['busybox', 'id', '-u']);
      assert.equal(root.stdout, '0\n');
    });

    test(`${cli} run --entrypoint replaces the image's entrypoint`, async () => {
      assert.equal(
        (await inside(['--entrypoint', 'echo', 'busybox', 'from', 'entrypoint'])).stdout,
        'from entrypoint\n',
      );
    });

    test(`${cli} run --hostname sets hostname and /etc/hostname`, async () => {
      const r = await inside([
        '--hostname',
        'named-host',
        'busybox',
        'sh',
        '-c',
        'hostname; cat /etc/hostname',
      ]);
      assert.equal(r.stdout, 'named-host\nnamed-host\n');
    });

    test(`${cli} run --label is recorded on the container`, async () => {
      const name = `${cli}-label`;
      assertOk(
        await d.cli(cli, [
          'create',
          '--name',
          name,
          '--label',
          'a=b',
          '--label',
          'empty=',
          'busybox',
          'true',
        ]),
        'create --label',
      );
      assert.deepEqual((await inspect(cli, name)).Config.Labels, { a: 'b', empty: '' });
      assertOk(await d.cli(cli, ['rm', name]), 'rm');
    });

    test(`${cli} run --network none has only loopback`, async () => {
      const r = await inside([
        '--network',
        'none',
        'busybox',
        'sh',
        '-c',
        'ls /sys/class/net; readlink /proc/self/ns/net',
      ]);
      const lines = r.stdout.split('\n').filter((l) => l !== '');
      const ns = lines.find((l) => l.startsWith('net:'));
      const devices = lines.filter((l) => l !== ns);
      assert.deepEqual(devices, ['lo']);
      assert.notEqual(ns, readlinkSync('/proc/self/ns/net'));
    });

    test(`${cli} run --network host shares the host's network namespace`, async () => {
      const r = await inside(['--network', 'host', 'busybox', 'readlink', '/proc/self/ns/net']);
      assert.equal(r.stdout, `${readlinkSync('/proc/self/ns/net')}\n`);
    });

    test(`${cli} run --network bridge (the default) gets an address, a default route and a gateway that answers`, async () => {
      for (const args of [['--network', 'bridge'], []]) {
        const r = await inside([
          ...args,
          'busybox',
          'sh',
          '-c',
          `ip -4 -o addr show eth0; ip route; ping -c 1 -W 2 ${d.names.gateway} >/dev/null && echo gateway-ok`,
        ]);
        assert.match(
          r.stdout,
          new RegExp(`inet ${d.names.subnetPrefix.replaceAll('.', '\\.')}\\d+/24`),
          r.stdout,
        );
        assert.match(
          r.stdout,
          new RegExp(`^default via ${d.names.gateway.replaceAll('.', '\\.')} `, 'm'),
          r.stdout,
        );
        assert.match(r.stdout, /^gateway-ok$/m);
      }
    });

    test(`${cli} run writes /etc/hosts, /etc/hostname and /etc/resolv.conf`, async () => {
      const r = await inside([
        '--hostname',
        'filed',
        'busybox',
        'sh',
        '-c',
        'cat /etc/hosts; echo ---; cat /etc/hostname; echo ---; cat /etc/resolv.conf',
      ]);
      const [hosts = '', hostname = '', resolv = ''] = r.stdout.split('---\n');
      assert.match(hosts, /^127\.0\.0\.1\s+localhost/m);
      assert.match(hosts, new RegExp(`^${d.names.subnetPrefix.replaceAll('.', '\\.')}\\d+\\s+filed\\b`, 'm'));
      assert.equal(hostname, 'filed\n');
      assert.match(resolv, /^nameserver\s+\S+/m);
    });

    test(`${cli} run without --hostname uses the short container id`, async () => {
      const name = `${cli}-default-hostname`;
      const r = assertOk(await d.cli(cli, ['run', '--name', name, 'busybox', 'hostname']), 'run hostname');
      const c = await inspect(cli, name);
      assert.equal(r.stdout, `${c.Id.slice(0, 12)}\n`);
      assertOk(await d.cli(cli, ['rm', name]), 'rm');
    });
  });
}
