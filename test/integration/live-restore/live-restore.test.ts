// Live restore (issue 3): containers outlive a SIGKILLed berthd, and a restarted
// berthd finds them, including the exit code of one that ended while it was down.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, afterEach, before, test } from 'node:test';
import { assertOk, busyboxImage, type Daemon, startDaemon, waitFor } from '../../harness/index.js';

let d: Daemon;

before(async () => {
  d = await startDaemon();
  assertOk(await d.docker(['load', '-i', (await busyboxImage()).path]), 'docker load -i busybox.tar');
});
after(async () => {
  await d?.stop();
});
afterEach((t) => d?.dumpLogOnFailure(t));

test('containers survive SIGKILL of berthd; a restarted berthd shows, stops and removes them', async () => {
  const runningId = assertOk(
    await d.docker(['run', '-d', '--name', 'survivor', 'busybox', 'sleep', '1000']),
    'run -d survivor',
  ).stdout.trim();
  // Exits 2 s after it starts: after the daemon is killed, before it is back.
  assertOk(
    await d.docker(['run', '-d', '--name', 'exits-meanwhile', 'busybox', 'sh', '-c', 'sleep 2; exit 7']),
    'run -d exits-meanwhile',
  );
  const survivorPid = (await d.inspect('survivor')).State.Pid;
  const exitingPid = (await d.inspect('exits-meanwhile')).State.Pid;
  assert.ok(survivorPid > 0 && exitingPid > 0, `both have pids: ${survivorPid} ${exitingPid}`);
  const daemonPid = d.pid;

  await d.kill('SIGKILL');
  assert.ok(existsSync(`/proc/${survivorPid}`), 'the container kept running while berthd was dead');
  await waitFor('exits-meanwhile to exit while berthd is down', () => !existsSync(`/proc/${exitingPid}`), {
    timeoutMs: 15_000,
  });

  await d.restart();
  assert.notEqual(d.pid, daemonPid, 'a new berthd process');

  const ps = assertOk(
    await d.docker(['ps', '--no-trunc', '--format', '{{.ID}} {{.Names}} {{.Status}}']),
    'ps',
  );
  assert.match(ps.stdout, new RegExp(`^${runningId} survivor Up .+$`, 'm'), ps.stdout);
  const survivor = await d.inspect('survivor');
  assert.equal(survivor.State.Running, true);
  assert.equal(survivor.State.Pid, survivorPid, 'the same process, adopted');

  const exited = await d.inspect('exits-meanwhile');
  assert.deepEqual([exited.State.Status, exited.State.Running, exited.State.ExitCode], ['exited', false, 7]);
  const all = assertOk(await d.docker(['ps', '-a', '--format', '{{.Names}} {{.Status}}']), 'ps -a');
  assert.match(all.stdout, /^exits-meanwhile Exited \(7\) .+ ago$/m, all.stdout);
  const wait = assertOk(await d.docker(['wait', 'exits-meanwhile']), 'wait');
  assert.equal(wait.stdout, '7\n');

  // The adopted container is fully under control again.
  const logs = assertOk(await d.docker(['logs', 'survivor']), 'logs');
  assert.equal(logs.stdout, '');
  assertOk(await d.docker(['stop', '-t', '1', 'survivor']), 'stop survivor');
  assert.ok(!existsSync(`/proc/${survivorPid}`), 'stop ended the adopted process');
  assert.equal((await d.inspect('survivor')).State.ExitCode, 137);
  assertOk(await d.docker(['rm', 'survivor', 'exits-meanwhile']), 'rm both');
  const left = assertOk(await d.docker(['ps', '-aq']), 'ps -aq');
  assert.equal(left.stdout, '');
});

test('a container started after the restart runs normally, and berth sees the same state', async () => {
  const r = assertOk(await d.berth(['run', '--rm', 'busybox', 'echo', 'after restart']), 'berth run');
  assert.equal(r.stdout, 'after restart\n');
  assertOk(await d.berth(['run', '-d', '--name', 'second', 'busybox', 'sleep', '1000']), 'berth run -d');
  const pid = (await d.inspect('second')).State.Pid;
  await d.kill('SIGKILL');
  await d.restart();
  const ps = assertOk(await d.berth(['ps', '--format', '{{.Names}} {{.Status}}']), 'berth ps');
  assert.match(ps.stdout, /^second Up .+$/m);
  const rm = assertOk(await d.berth(['rm', '-f', 'second']), 'berth rm -f');
  assert.equal(rm.stdout, 'second\n');
  assert.ok(!existsSync(`/proc/${pid}`), 'rm -f ended the adopted process');
});

test('SIGTERM stops berthd cleanly and leaves containers running', async () => {
  assertOk(await d.docker(['run', '-d', '--name', 'term', 'busybox', 'sleep', '1000']), 'run -d');
  const pid = (await d.inspect('term')).State.Pid;
  await d.kill('SIGTERM');
  assert.ok(existsSync(`/proc/${pid}`), 'the container outlived a clean daemon shutdown');
  await d.restart();
  assert.equal((await d.inspect('term')).State.Running, true);
  assertOk(await d.docker(['rm', '-f', 'term']), 'rm -f');
});
