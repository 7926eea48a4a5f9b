// Issue 4, lifecycle and limits: pause, rename, restart, update, prune, restart
// policies, --init, resource limits and security options, through the real docker CLI.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { request } from 'node:http';
import { after, afterEach, before, test } from 'node:test';
import {
  assertExit,
  assertOk,
  busyboxImage,
  type Daemon,
  parseInspect,
  startDaemon,
  waitFor,
} from '../../harness/index.js';

let d: Daemon;

before(async () => {
  d = await startDaemon();
  assertOk(await d.docker(['load', '-i', (await busyboxImage()).path]), 'docker load');
});
after(async () => {
  await d?.stop();
});
afterEach((t) => d?.dumpLogOnFailure(t));

// Containers that need no network run with `none`: faster, and nothing here is about networking.
const run = (...args: string[]) => d.docker(['run', '--pull', 'never', '--network', 'none', ...args]);

function cgroupFile(controller: string, id: string, file: string): string {
  return readFileSync(`/sys/fs/cgroup/${controller}${d.names.cgroupParent}/${id}/${file}`, 'utf8').trim();
}

test('pause freezes a container, unpause thaws it; ps shows (Paused)', async () => {
  assertOk(await run('-d', '--name', 'freezer', 'busybox', 'sleep', '1000'), 'run');
  assertOk(await d.docker(['pause', 'freezer']), 'pause');
  const ps = assertOk(await d.docker(['ps', '--format', '{{.Names}} {{.Status}}']), 'ps');
  assert.match(ps.stdout, /^freezer Up .* \(Paused\)$/m);
  const paused = await d.inspect('freezer');
  assert.deepEqual([paused.State.Status, paused.State.Paused], ['paused', true]);
  assert.equal(cgroupFile('freezer', paused.Id, 'freezer.state'), 'FROZEN');
  const again = await d.docker(['pause', 'freezer']);
  assertExit(again, 1, 'pause twice');
  assert.match(again.stderr, /Container [0-9a-f]{64} is already paused/);
  assertOk(await d.docker(['unpause', 'freezer']), 'unpause');
  assert.equal((await d.inspect('freezer')).State.Status, 'running');
  assertExit(await d.docker(['unpause', 'freezer']), 1, 'unpause a running container');
  assertOk(await d.docker(['rm', '-f', 'freezer']), 'rm');
});

test('rename keeps the container; a taken name is a conflict', async () => {
  const id = assertOk(await run('-d', '--name', 'before', 'busybox', 'sleep', '1000'), 'run').stdout.trim();
  assertOk(await run('-d', '--name', 'taken', 'busybox', 'sleep', '1000'), 'run taken');
  assertOk(await d.docker(['rename', 'before', 'after']), 'rename');
  assert.equal((await d.inspect('after')).Id, id);
  const clash = await d.docker(['rename', 'after', 'taken']);
  assertExit(clash, 1, 'rename onto a taken name');
  assert.match(clash.stderr, /The container name "\/taken" is already in use/);
  assertOk(await d.docker(['rm', '-f', 'after', 'taken']), 'rm');
});

test('restart gives a new process; update changes limits of a running container', async () => {
  assertOk(await run('-d', '--name', 'updated', 'busybox', 'sleep', '1000'), 'run');
  const first = await d.inspect('updated');
  assertOk(await d.docker(['restart', '-t', '0', 'updated']), 'restart');
  const second = await d.inspect('updated');
  assert.equal(second.State.Running, true);
  assert.notEqual(second.State.Pid, first.State.Pid);
  assertOk(
    await d.docker(['update', '--memory', '64m', '--cpus', '0.5', '--pids-limit', '50', 'updated']),
    'update',
  );
  assert.equal(cgroupFile('memory', second.Id, 'memory.limit_in_bytes'), String(64 * 1024 * 1024));
  assert.equal(cgroupFile('cpu', second.Id, 'cpu.cfs_quota_us'), '50000');
  assert.equal(cgroupFile('pids', second.Id, 'pids.max'), '50');
  const after = await d.inspect('updated');
  assert.equal(after.HostConfig.Memory, 64 * 1024 * 1024);
  const bad = await d.docker(['update', '--memory', '1m', 'updated']);
  assertExit(bad, 1, 'update below the minimum');
  assert.match(bad.stderr, /Minimum memory limit allowed is 6MB/);
  assertOk(await d.docker(['rm', '-f', 'updated']), 'rm');
});

test('container prune removes stopped containers only', async () => {
  assertOk(await run('--name', 'stopped-one', 'busybox', 'true'), 'run stopped');
  assertOk(await run('-d', '--name', 'still-up', 'busybox', 'sleep', '1000'), 'run up');
  const pruned = assertOk(await d.docker(['container', 'prune', '-f']), 'prune');
  assert.match(pruned.stdout, /Deleted Containers:\n[0-9a-f]{64}\n/);
  assert.match(pruned.stdout, /Total reclaimed space: /);
  const names = assertOk(await d.docker(['ps', '-a', '--format', '{{.Names}}']), 'ps -a').stdout;
  assert.equal(names, 'still-up\n');
  assertOk(await d.docker(['rm', '-f', 'still-up']), 'rm');
});

test('--restart always brings a killed process back; on-failure:N stops after N restarts', async () => {
  assertOk(
    await run('-d', '--name', 'phoenix', '--restart', 'always', 'busybox', 'sleep', '1000'),
    'run always',
  );
  const { State } = await d.inspect('phoenix');
  process.kill(State.Pid, 'SIGKILL');
  await waitFor('phoenix to come back', async () => {
    const now = await d.inspect('phoenix');
    return now.State.Running && now.State.Pid !== State.Pid && now.RestartCount === 1;
  });
  assertOk(
    await run('-d', '--name', 'flaky', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'exit 4'),
    'run',
  );
  await waitFor('flaky to give up', async () => {
    const now = await d.inspect('flaky');
    return now.State.Status === 'exited' && now.RestartCount === 2;
  });
  assert.equal((await d.inspect('flaky')).State.ExitCode, 4);
  // A stop is the user's word: the policy leaves the container stopped.
  assertOk(await d.docker(['stop', '-t', '1', 'phoenix']), 'stop');
  assert.equal((await d.inspect('phoenix')).State.Status, 'exited');
  const conflict = await run('--rm', '--restart', 'always', 'busybox', 'true');
  assertExit(conflict, 125, '--rm with --restart');
  assert.match(conflict.stderr, /conflicting options: cannot specify both --restart and --rm/);
  assertOk(await d.docker(['rm', '-f', 'phoenix', 'flaky']), 'rm');
});

test('--restart always containers come back after berthd is killed and restarted', async () => {
  assertOk(await run('-d', '--name', 'resilient', '--restart', 'always', 'busybox', 'sleep', '1000'), 'run');
  const before = await d.inspect('resilient');
  await d.kill('SIGKILL');
  process.kill(before.State.Pid, 'SIGKILL');
  await d.restart();
  await waitFor('resilient to run again', async () => {
    const now = await d.inspect('resilient');
    return now.State.Running && now.State.Pid !== before.State.Pid;
  });
  assertOk(await d.docker(['rm', '-f', 'resilient']), 'rm');
});

test('--init runs docker-init as PID 1; --stop-signal and --stop-timeout are recorded', async () => {
  const ps = assertOk(await run('--rm', '--init', 'busybox', 'ps', '-o', 'pid,args'), 'run --init');
  assert.match(ps.stdout, /^\s*1 \/sbin\/docker-init -- ps/m);
  assertOk(
    await run(
      '-d',
      '--name',
      'signals',
      '--stop-signal',
      'SIGUSR1',
      '--stop-timeout',
      '3',
      'busybox',
      'sleep',
      '100',
    ),
    'run',
  );
  const { Config } = await d.inspect('signals');
  assert.equal(Config.StopSignal, 'SIGUSR1');
  assert.equal(Config.StopTimeout, 3);
  assertOk(await d.docker(['rm', '-f', 'signals']), 'rm');
});

test('--memory: a container that allocates more is OOM-killed and shows it', async () => {
  const events = d.docker([
    'events',
    '--since',
    '0',
    '--until',
    String(Math.floor(Date.now() / 1000) + 15),
    '--filter',
    'event=oom',
  ]);
  const oom = await run(
    '--name',
    'hungry',
    '--memory',
    '32m',
    '--memory-swap',
    '32m',
    'busybox',
    'dd',
    'if=/dev/zero',
    'of=/dev/null',
    'bs=128M',
    'count=1',
  );
  assertExit(oom, 137, 'OOM-killed');
  const state = (await d.inspect('hungry')).State;
  assert.deepEqual([state.OOMKilled, state.ExitCode], [true, 137]);
  assertOk(await d.docker(['rm', 'hungry']), 'rm');
  const seen = await events;
  assert.match(seen.stdout, /container oom [0-9a-f]{64} .*name=hungry/);
});

test('--pids-limit stops a fork bomb', async () => {
  const bomb = await run(
    '--rm',
    '--pids-limit',
    '20',
    'busybox',
    'sh',
    '-c',
    'i=0; while [ $i -lt 100 ]; do sleep 30 & i=$((i+1)); done; echo forked all',
  );
  assert.notEqual(bomb.code, 0, 'the shell could not fork a hundred times');
  assert.match(bomb.stderr, /can't fork/);
  assert.doesNotMatch(bomb.stdout, /forked all/);
});

test('limits and options are checked: clear errors, nothing created', async () => {
  const cases: [string[], RegExp, number?][] = [
    [['--memory', '1m'], /Minimum memory limit allowed is 6MB/],
    [['--cpus', '1000'], /Range of CPUs is from 0.01 to/],
    [['--ulimit', 'nofile=10:100000000'], /above this host's hard limit/],
    [['--ulimit', 'nofile=100:10'], /soft limit must be less than or equal to hard limit/],
    [['--blkio-weight', '5'], /Range of blkio weight is from 10 to 1000/],
    [['--security-opt', 'bogus=1'], /invalid --security-opt/],
    [['--pid', 'container:nosuch'], /No such container: nosuch/],
    // The docker CLI itself turns any "no such file or directory" into exit 127.
    [
      ['--device', '/dev/nosuch'],
      /error gathering device information while adding custom device "\/dev\/nosuch"/,
      127,
    ],
    [['--cap-add', 'NOT_A_CAP'], /NOT_A_CAP/],
  ];
  for (const [flags, message, code = 125] of cases) {
    const result = await run('--rm', ...flags, 'busybox', 'true');
    assertExit(result, code, flags.join(' '));
    assert.match(result.stderr, message, flags.join(' '));
  }
  const badSignal = await d.request('POST', '/containers/nosuch/kill?signal=NOPE');
  assert.equal(badSignal.status, 404);
  assertOk(await run('-d', '--name', 'target', 'busybox', 'sleep', '100'), 'run');
  const unknownSignal = await d.docker(['kill', '-s', 'NOPE', 'target']);
  assertExit(unknownSignal, 1, 'unknown signal');
  assert.match(unknownSignal.stderr, /Invalid signal: NOPE/);
  assertOk(await d.docker(['rm', '-f', 'target']), 'rm');
  assert.equal(assertOk(await d.docker(['ps', '-aq']), 'ps').stdout, '');
});

test('security defaults: seccomp blocks unshare unless unconfined; caps, read-only, devices, groups', async () => {
  const blocked = await run('--rm', 'busybox', 'unshare', '-m', 'true');
  assert.notEqual(blocked.code, 0, 'unshare is refused under the default profile');
  assertOk(
    await run(
      '--rm',
      '--security-opt',
      'seccomp=unconfined',
      '--cap-add',
      'SYS_ADMIN',
      'busybox',
      'unshare',
      '-m',
      'true',
    ),
    'unconfined',
  );
  const seccomp = assertOk(await run('--rm', 'busybox', 'grep', 'Seccomp:', '/proc/self/status'), 'status');
  assert.match(seccomp.stdout, /Seccomp:\s+2/);
  const noCaps = assertOk(
    await run('--rm', '--cap-drop', 'ALL', 'busybox', 'grep', 'CapEff', '/proc/self/status'),
    'cap-drop',
  );
  assert.match(noCaps.stdout, /CapEff:\s+0000000000000000/);
  const privileged = assertOk(
    await run('--rm', '--privileged', 'busybox', 'grep', 'Seccomp:', '/proc/self/status'),
    'privileged',
  );
  assert.match(privileged.stdout, /Seccomp:\s+0/);
  const readOnly = await run('--rm', '--read-only', 'busybox', 'touch', '/file');
  assertExit(readOnly, 1, 'read-only rootfs');
  assert.match(readOnly.stderr, /Read-only file system/);
  assertOk(
    await run('--rm', '--device', '/dev/null:/dev/mynull', 'busybox', 'sh', '-c', 'echo x > /dev/mynull'),
    'device',
  );
  const groups = assertOk(
    await run('--rm', '--group-add', '1234', '--group-add', 'nogroup', 'busybox', 'id', '-G'),
    'groups',
  );
  assert.match(groups.stdout, /\b1234\b/);
  assert.match(groups.stdout, /\b65534\b/);
  const nnp = assertOk(
    await run(
      '--rm',
      '--security-opt',
      'no-new-privileges',
      'busybox',
      'grep',
      'NoNewPrivs',
      '/proc/self/status',
    ),
    'nnp',
  );
  assert.match(nnp.stdout, /NoNewPrivs:\s+1/);
  const pidHost = assertOk(
    await run('--rm', '--pid', 'host', 'busybox', 'sh', '-c', 'test -d /proc/1 && cat /proc/1/comm'),
    'pid host',
  );
  assert.notEqual(pidHost.stdout.trim(), 'sh', 'PID 1 is the host init, not the container shell');
  const sysctl = assertOk(
    await run('--rm', '--sysctl', 'kernel.shmmax=1000000', 'busybox', 'cat', '/proc/sys/kernel/shmmax'),
    'sysctl',
  );
  assert.equal(sysctl.stdout.trim(), '1000000');
  const ulimit = assertOk(
    await run('--rm', '--ulimit', 'nofile=100:200', 'busybox', 'sh', '-c', 'ulimit -n'),
    'ulimit',
  );
  assert.equal(ulimit.stdout.trim(), '100');
});

test('a daemon limited by --allow-registry refuses to pull from anywhere else', async () => {
  const result = await d.docker(['run', '--rm', '--network', 'none', 'nosuch-image-anywhere']);
  assertExit(result, 125, 'run of an image that is not here');
  assert.match(result.stderr, /Unable to find image 'nosuch-image-anywhere:latest' locally/);
  assert.match(result.stderr, /registry registry-1\.docker\.io is not allowed/);
});

test('health checks: starting, healthy, unhealthy, with events and the ps status', async () => {
  const since = Math.floor(Date.now() / 1000);
  assertOk(
    await run(
      '-d',
      '--name',
      'checked',
      '--health-cmd',
      'test -f /tmp/ok',
      '--health-interval',
      '200ms',
      '--health-retries',
      '2',
      'busybox',
      'sleep',
      '1000',
    ),
    'run with a health check',
  );
  type Health = { Status: string; FailingStreak: number; Log: { ExitCode: number }[] };
  const health = async () => ((await d.inspect('checked')).State as { Health?: Health }).Health;
  assert.equal((await health())?.Status, 'starting');
  await waitFor('unhealthy after two failed probes', async () => (await health())?.Status === 'unhealthy');
  const ps = assertOk(await d.docker(['ps', '--format', '{{.Names}} {{.Status}}']), 'ps').stdout;
  assert.match(ps, /^checked Up .* \(unhealthy\)$/m);
  assertOk(await d.docker(['exec', 'checked', 'touch', '/tmp/ok']), 'make it healthy');
  await waitFor('healthy after a good probe', async () => (await health())?.Status === 'healthy');
  const filtered = assertOk(
    await d.docker(['ps', '--filter', 'health=healthy', '--format', '{{.Names}}']),
    'ps',
  );
  assert.equal(filtered.stdout, 'checked\n');
  const last = (await health())?.Log.at(-1);
  assert.equal(last?.ExitCode, 0);
  const events = assertOk(
    await d.docker([
      'events',
      '--since',
      String(since),
      '--until',
      String(Math.ceil(Date.now() / 1000) + 1),
      '--filter',
      'container=checked',
      '--format',
      '{{.Action}}',
    ]),
    'events',
  );
  assert.match(events.stdout, /health_status: unhealthy\n(.|\n)*health_status: healthy\n/);
  assertOk(await d.docker(['rm', '-f', 'checked']), 'rm');
  const none = assertOk(await run('--rm', '--no-healthcheck', 'busybox', 'true'), '--no-healthcheck');
  assert.equal(none.stdout, '');
});

test('--cpus 0.5 holds a busy loop near half a core in stats', async () => {
  assertOk(
    await run('-d', '--name', 'spinner', '--cpus', '0.5', 'busybox', 'sh', '-c', 'while :; do :; done'),
    'run',
  );
  const stats = assertOk(
    await d.docker(['stats', '--no-stream', '--format', '{{.Name}} {{.CPUPerc}}', 'spinner']),
    'stats',
  );
  const percent = Number(/^spinner ([\d.]+)%$/m.exec(stats.stdout)?.[1]);
  // A full core would show 100%: the quota holds it at 50% (less when the machine is busy).
  assert.ok(percent > 20 && percent < 60, `CPU ${stats.stdout}`);
  assertOk(await d.docker(['rm', '-f', 'spinner']), 'rm');
});

test('--uts host and --ipc share the host or another container', async () => {
  const uts = assertOk(await run('--rm', '--uts', 'host', 'busybox', 'hostname'), 'uts host');
  assert.equal(uts.stdout.trim(), readFileSync('/proc/sys/kernel/hostname', 'utf8').trim());
  assertOk(await run('-d', '--name', 'ipc-owner', '--ipc', 'shareable', 'busybox', 'sleep', '1000'), 'owner');
  const owner = await d.inspect('ipc-owner');
  const ownerIpc = readlinkSync(`/proc/${owner.State.Pid}/ns/ipc`);
  const joined = assertOk(
    await run('--rm', '--ipc', 'container:ipc-owner', 'busybox', 'readlink', '/proc/self/ns/ipc'),
    'ipc container:',
  );
  assert.equal(joined.stdout.trim(), ownerIpc);
  const own = assertOk(await run('--rm', 'busybox', 'readlink', '/proc/self/ns/ipc'), 'own ipc');
  assert.notEqual(own.stdout.trim(), ownerIpc);
  assertOk(await d.docker(['rm', '-f', 'ipc-owner']), 'rm');
});

test('every resource flag lands in the container cgroup; masked paths and privileged as Docker', async () => {
  const id = assertOk(
    await run(
      '-d',
      '--memory',
      '64m',
      '--memory-swap',
      '128m',
      '--memory-reservation',
      '32m',
      '--cpu-shares',
      '512',
      '--cpu-period',
      '50000',
      '--cpu-quota',
      '25000',
      '--cpuset-cpus',
      '0',
      '--blkio-weight',
      '300',
      '--oom-kill-disable',
      'busybox',
      'sleep',
      '1000',
    ),
    'run with limits',
  ).stdout.trim();
  const MB = 1024 * 1024;
  assert.equal(cgroupFile('memory', id, 'memory.limit_in_bytes'), String(64 * MB));
  assert.equal(cgroupFile('memory', id, 'memory.memsw.limit_in_bytes'), String(128 * MB));
  assert.equal(cgroupFile('memory', id, 'memory.soft_limit_in_bytes'), String(32 * MB));
  assert.match(cgroupFile('memory', id, 'memory.oom_control'), /oom_kill_disable 1/);
  assert.equal(cgroupFile('cpu', id, 'cpu.shares'), '512');
  assert.equal(cgroupFile('cpu', id, 'cpu.cfs_period_us'), '50000');
  assert.equal(cgroupFile('cpu', id, 'cpu.cfs_quota_us'), '25000');
  assert.equal(cgroupFile('cpuset', id, 'cpuset.cpus'), '0');
  const sized = parseInspect<{ SizeRw?: number; SizeRootFs?: number }>(
    assertOk(await d.docker(['inspect', '--size', id]), 'inspect --size').stdout,
  );
  assert.ok(typeof sized.SizeRw === 'number' && (sized.SizeRootFs ?? 0) > 1_000_000, JSON.stringify(sized));
  assertOk(await d.docker(['rm', '-f', id]), 'rm');

  // Docker masks these with an empty file; use one this kernel has.
  const hidden = ['/proc/timer_list', '/proc/keys', '/proc/sched_debug'].find((p) => existsSync(p));
  assert.ok(hidden, 'the host has one of the masked /proc files');
  assert.ok(readFileSync(hidden).length > 0, `${hidden} has content on the host`);
  const masked = assertOk(await run('--rm', 'busybox', 'sh', '-c', `cat ${hidden} | wc -c`), 'masked');
  assert.equal(masked.stdout.trim(), '0', `${hidden} is empty inside`);
  const readOnly = await run('--rm', 'busybox', 'sh', '-c', 'echo 1 > /proc/sys/vm/drop_caches');
  assert.match(readOnly.stderr, /Read-only file system/, '/proc/sys is read-only');
  const caps = assertOk(
    await run('--rm', '--privileged', 'busybox', 'grep', 'CapEff', '/proc/self/status'),
    'privileged',
  );
  assert.doesNotMatch(caps.stdout, /CapEff:\s+00000000a80425fb/, 'more than the default capabilities');
  const devices = assertOk(await run('--rm', '--privileged', 'busybox', 'ls', '/dev'), 'privileged devices');
  assert.match(devices.stdout, /\bloop0\b|\bvda\b|\bkmsg\b/, 'host devices are there');
});

test('stats stream: one JSON object a second, with the previous sample for CPU', async () => {
  const id = assertOk(await run('-d', 'busybox', 'sleep', '1000'), 'run').stdout.trim();
  const frames = await new Promise<Record<string, unknown>[]>((resolve, reject) => {
    const seen: Record<string, unknown>[] = [];
    let buffered = '';
    const req = request(
      { socketPath: d.socket, path: `/containers/${id}/stats?stream=1`, method: 'GET' },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
            seen.push(JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>);
            buffered = buffered.slice(nl + 1);
            if (seen.length === 2) {
              req.destroy();
              resolve(seen);
            }
          }
        });
      },
    );
    req.on('error', (e) => (seen.length === 2 ? undefined : reject(e)));
    req.setTimeout(15_000, () => reject(new Error('no two stats frames within 15 s')));
    req.end();
  });
  const [first, second] = frames as [
    Record<string, { [k: string]: unknown }>,
    Record<string, { [k: string]: unknown }>,
  ];
  assert.ok(Date.parse(String(second.read)) > Date.parse(String(first.read)), 'a later sample');
  assert.deepEqual(second.precpu_stats, first.cpu_stats, 'each frame carries the previous CPU sample');
  assert.equal((second.pids_stats as { current?: number }).current, 1);
  assertOk(await d.docker(['rm', '-f', id]), 'rm');
});
