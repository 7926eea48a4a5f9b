// cleanUpHost must take away everything a crashed daemon can leave behind, and be
// quiet the second time, when everything is already gone. The state is made by
// hand here, so this runs without a daemon.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cgroupDirs, cleanUpHost, type HostFootprint } from './cleanup.js';
import { assertOk, runProgram, waitFor } from './process.js';

function mounted(root: string): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((t) => t.startsWith(root));
}

function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

test('cleanUpHost removes processes, cgroups, netns, links, nft tables and mounts, then finds nothing', async () => {
  const hex = randomBytes(3).toString('hex');
  const temp = mkdtempSync(join(tmpdir(), `berth-cleanup-${hex}-`));
  const execRoot = `/run/bt-${hex}`;
  mkdirSync(execRoot);
  const f: HostFootprint = {
    roots: [execRoot, temp],
    bridge: `bt${hex}`,
    nftTable: `bt_${hex}`,
    cgroupParent: `/bt-${hex}`,
    netnsPrefix: `bt${hex}-`,
  };
  const pids: number[] = [];
  try {
    const ip = async (...args: string[]) => assertOk(await runProgram('ip', args), `ip ${args.join(' ')}`);
    await ip('link', 'add', f.bridge, 'type', 'bridge');
    await ip('link', 'add', `bv${hex}`, 'type', 'veth', 'peer', 'name', `bp${hex}`);
    await ip('link', 'set', `bv${hex}`, 'master', f.bridge);
    await ip('netns', 'add', `${f.netnsPrefix}c1`);
    for (const family of ['inet', 'ip']) {
      assertOk(await runProgram('nft', ['add', 'table', family, f.nftTable]), `nft add table ${family}`);
    }
    // A monitor named conmon that mentions the exec root, as a real one does.
    const monitor = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '--', execRoot], {
      argv0: 'conmon',
      detached: true,
      stdio: 'ignore',
    });
    monitor.unref();
    pids.push(monitor.pid ?? 0);
    // A "container" process inside a cgroup under the parent, in every v1 controller we can find.
    const sleeper = spawn('/bin/busybox', ['sleep', '1000'], { detached: true, stdio: 'ignore' });
    sleeper.unref();
    pids.push(sleeper.pid ?? 0);
    for (const controller of ['pids', 'memory', 'freezer']) {
      const dir = join('/sys/fs/cgroup', controller, f.cgroupParent, 'c1');
      if (!existsSync(join('/sys/fs/cgroup', controller))) continue;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'cgroup.procs'), String(sleeper.pid));
    }
    assert.ok(cgroupDirs(f.cgroupParent).length > 0, 'made at least one cgroup');
    // A tmpfs inside the exec root and an overlay elsewhere whose layers are in the temp dir.
    mkdirSync(join(execRoot, 'mnt'));
    assertOk(await runProgram('mount', ['-t', 'tmpfs', 'tmpfs', join(execRoot, 'mnt')]), 'mount tmpfs');
    for (const d of ['lower', 'upper', 'work']) mkdirSync(join(temp, d));
    const merged = mkdtempSync(join(tmpdir(), `berth-cleanup-merged-${hex}-`));
    assertOk(
      await runProgram('mount', [
        '-t',
        'overlay',
        'overlay',
        '-o',
        `lowerdir=${temp}/lower,upperdir=${temp}/upper,workdir=${temp}/work`,
        merged,
      ]),
      'mount overlay',
    );

    assert.deepEqual(await cleanUpHost(f), []);

    for (const pid of pids) {
      await waitFor(`process ${pid} to be gone`, () => !isRunning(pid), { timeoutMs: 5000 });
    }
    assert.deepEqual(cgroupDirs(f.cgroupParent), []);
    const links = await runProgram('ip', ['link', 'show']);
    assert.ok(!links.stdout.includes(hex), links.stdout);
    const netns = await runProgram('ip', ['netns', 'list']);
    assert.ok(!netns.stdout.includes(f.netnsPrefix), netns.stdout);
    const tables = await runProgram('nft', ['list', 'tables']);
    assert.ok(!tables.stdout.includes(f.nftTable), tables.stdout);
    assert.deepEqual(mounted(execRoot), []);
    assert.deepEqual(mounted(merged), []);
    rmSync(merged, { recursive: true, force: true });

    // Everything is gone now: a second pass must find nothing to complain about.
    assert.deepEqual(await cleanUpHost(f), []);
  } finally {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone, as it should be.
      }
    }
    rmSync(execRoot, { recursive: true, force: true });
    rmSync(temp, { recursive: true, force: true });
  }
});
