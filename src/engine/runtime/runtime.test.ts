// Real containers under conmon + runc: needs root, /usr/bin/conmon, runc and /bin/busybox.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, rmdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InvalidArgumentError, NotModifiedError } from '../../api/index.js';
import { run } from '../../platform/index.js';
import { buildSpec, createRuntime, readLog } from './index.js';
import type { ContainerRuntime, ExitRecord, SpecOptions } from './types.js';

const APPLETS = ['sh', 'echo', 'sleep', 'cat', 'true'];

let base: string;
let execRoot: string;
let rootfs: string;
let cgroupParent: string;
let runtime: ContainerRuntime;

async function makeRootfs(dir: string): Promise<void> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  await mkdir(join(dir, 'etc'), { recursive: true });
  await copyFile('/bin/busybox', join(dir, 'bin/busybox'));
  // tini forwards signals to its child; `sleep` as pid 1 would ignore TERM (pid namespace rule).
  await copyFile('/usr/bin/tini-static', join(dir, 'bin/tini'));
  for (const applet of APPLETS) await symlink('busybox', join(dir, 'bin', applet));
  await writeFile(
    join(dir, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n',
  );
  await writeFile(join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
}

function specOptions(id: string, args: string[], extra: Partial<SpecOptions> = {}): SpecOptions {
  return {
    rootfs,
    args,
    env: [],
    cwd: '',
    user: '',
    hostname: id,
    terminal: false,
    network: undefined,
    mounts: [],
    cgroupsPath: `${cgroupParent}/${id}`,
    ...extra,
  };
}

function uniqueId(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Creates a container (not started); its bundle and log live under the test's temp dir. */
async function create(id: string, args: string[], on: ContainerRuntime = runtime) {
  const bundleDir = join(base, 'bundles', id);
  await mkdir(bundleDir, { recursive: true });
  const logPath = join(bundleDir, 'ctr.log');
  const spec = await buildSpec(specOptions(id, args));
  const { pid } = await on.create({ id, bundleDir, spec, logPath });
  return { pid, logPath };
}

/** Resolves with the exit once conmon records it: heard through onExit, or already on disk. */
function exitOf(id: string, on: ContainerRuntime = runtime, timeoutMs = 15_000): Promise<ExitRecord> {
  return new Promise((resolve, reject) => {
    const finish = (outcome: () => void) => {
      clearTimeout(timer);
      unsubscribe();
      outcome();
    };
    const check = () =>
      on.readExit(id).then(
        (record) => record && finish(() => resolve(record)),
        (e: unknown) => finish(() => reject(e)),
      );
    const timer = setTimeout(
      () => finish(() => reject(new Error(`${id}: no exit within ${timeoutMs} ms`))),
      timeoutMs,
    );
    const unsubscribe = on.onExit((exited) => {
      if (exited === id) void check();
    });
    void check();
  });
}

async function logText(path: string): Promise<string> {
  const parts: Buffer[] = [];
  for await (const line of readLog(path, {})) parts.push(line.content);
  return Buffer.concat(parts).toString();
}

async function pidsOf(pidFiles: string[]): Promise<number[]> {
  const pids: number[] = [];
  for (const file of pidFiles) {
    const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return '';
      throw e;
    });
    if (/^\d+$/.test(text.trim())) pids.push(Number(text.trim()));
  }
  return pids;
}

/** Removes a cgroup subtree, children first (cgroupfs only lets empty dirs go). */
async function removeCgroupTree(dir: string): Promise<void> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  for (const entry of entries) if (entry.isDirectory()) await removeCgroupTree(join(dir, entry.name));
  await rmdir(dir);
}

before(async () => {
  // Short: the attach socket path (<execRoot>/attach/<id>/attach) must fit in 108 bytes.
  base = await mkdtemp('/tmp/berth-rt-');
  execRoot = join(base, 'run');
  rootfs = join(base, 'rootfs');
  cgroupParent = `/berth-test-${randomBytes(4).toString('hex')}`;
  await makeRootfs(rootfs);
  runtime = await createRuntime({ runtime: 'runc', execRoot });
});

/** Runs every cleanup step even when one fails, then reports all failures. */
async function cleanUp(steps: (() => Promise<unknown>)[]): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) await step().catch((e: unknown) => failures.push(e));
  if (failures.length > 0) throw new AggregateError(failures, 'test cleanup failed');
}

async function listIfExists(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

after(async () => {
  const runcRoot = join(execRoot, 'runc');
  const conmonRoot = join(execRoot, 'conmon');
  await cleanUp([
    async () => runtime?.close(),
    async () => {
      for (const id of await listIfExists(runcRoot))
        await run('runc', ['--root', runcRoot, 'delete', '--force', id]);
    },
    async () => {
      const dirs = await listIfExists(conmonRoot);
      for (const pid of await pidsOf(dirs.map((d) => join(conmonRoot, d, 'conmon.pid')))) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
        }
      }
    },
    async () => {
      for (const controller of await readdir('/sys/fs/cgroup')) {
        await removeCgroupTree(join('/sys/fs/cgroup', controller, cgroupParent));
      }
    },
    async () => rm(base, { recursive: true, force: true }),
  ]);
});

describe('conmon + runc runtime', () => {
  test('echo hello exits 0 and logs hello', async () => {
    const id = uniqueId('echo');
    const { pid, logPath } = await create(id, ['echo', 'hello']);
    assert.ok(pid > 0);
    assert.equal((await runtime.state(id))?.status, 'created');
    const exited = exitOf(id);
    await runtime.start(id);
    const record = await exited;
    assert.equal(record.exitCode, 0);
    assert.equal(record.oomKilled, false);
    assert.equal(await logText(logPath), 'hello\n');
    assert.equal((await runtime.state(id))?.status, 'stopped');
    await runtime.delete(id);
    assert.equal(await runtime.state(id), undefined);
    assert.equal(await runtime.readExit(id), undefined);
    await runtime.delete(id); // idempotent
  });

  test("sh -c 'exit 3' gives 3, with stderr in the log", async () => {
    const id = uniqueId('exit3');
    const { logPath } = await create(id, ['sh', '-c', 'echo oops >&2; exit 3']);
    const exited = exitOf(id);
    await runtime.start(id);
    assert.equal((await exited).exitCode, 3);
    const lines = [];
    for await (const line of readLog(logPath, {})) lines.push(line);
    assert.deepEqual(
      lines.map((l) => [l.stream, l.content.toString()]),
      [['stderr', 'oops\n']],
    );
    await runtime.delete(id);
  });

  test('kill TERM gives 143 and the exit listener fires', async () => {
    const id = uniqueId('term');
    await create(id, ['tini', '--', 'sleep', '100']);
    const heard = new Promise<string>((resolve) => {
      const unsubscribe = runtime.onExit((exited) => {
        if (exited !== id) return;
        unsubscribe();
        resolve(exited);
      });
    });
    await runtime.start(id);
    assert.equal((await runtime.state(id))?.status, 'running');
    await runtime.kill(id, 'TERM');
    assert.equal(await heard, id);
    assert.equal((await runtime.readExit(id))?.exitCode, 143);
    await runtime.delete(id);
  });

  test('kill rejects an unknown signal and a stopped container', async () => {
    const id = uniqueId('sig');
    await create(id, ['true']);
    await assert.rejects(runtime.kill(id, 'NOPE'), (e: Error) => {
      assert.ok(e instanceof InvalidArgumentError);
      assert.equal(e.message, 'Invalid signal: NOPE');
      return true;
    });
    const exited = exitOf(id);
    await runtime.start(id);
    await exited;
    await assert.rejects(runtime.kill(id, 'sigkill'), { name: 'ConflictError' });
    await assert.rejects(runtime.start(id), { name: 'ConflictError' });
    await runtime.delete(id);
  });

  test('unknown ids: state undefined, start NotFoundError, delete is a no-op', async () => {
    assert.equal(await runtime.state('no-such-container'), undefined);
    await assert.rejects(runtime.start('no-such-container'), { name: 'NotFoundError' });
    await runtime.delete('no-such-container', { force: true });
  });

  test('delete --force kills a running container', async () => {
    const id = uniqueId('force');
    await create(id, ['sleep', '100']);
    await runtime.start(id);
    await assert.rejects(runtime.delete(id), { name: 'ConflictError' });
    await runtime.delete(id, { force: true });
    assert.equal(await runtime.state(id), undefined);
    assert.equal(await runtime.readExit(id), undefined);
  });

  test("create fails with runc's message for a missing program", async () => {
    const id = uniqueId('nobin');
    await assert.rejects(create(id, ['/no/such/program']), (e: Error) => {
      assert.ok(e instanceof InvalidArgumentError, `${e.name}: ${e.message}`);
      assert.match(e.message, /OCI runtime create failed: .*\/no\/such\/program.*no such file or directory/);
      return true;
    });
    assert.equal(await runtime.state(id), undefined);
  });

  test('an OOM kill is reported', async () => {
    const id = uniqueId('oom');
    const bundleDir = join(base, 'bundles', id);
    await mkdir(bundleDir, { recursive: true });
    const spec = await buildSpec(
      specOptions(id, ['sh', '-c', 'x=a; while true; do x=$x$x; done'], {
        resources: { memory: { limit: 8 * 1024 * 1024 } },
      }),
    );
    await runtime.create({ id, bundleDir, spec, logPath: join(bundleDir, 'ctr.log') });
    const exited = exitOf(id);
    await runtime.start(id);
    const record = await exited;
    assert.equal(record.exitCode, 137);
    assert.equal(record.oomKilled, true);
    await runtime.delete(id);
  });

  test('a container outlives the runtime object and a new one can kill it', async () => {
    const id = uniqueId('survive');
    const first = await createRuntime({ runtime: 'runc', execRoot });
    await create(id, ['sleep', '100'], first);
    await first.start(id);
    await first.close();

    const second = await createRuntime({ runtime: 'runc', execRoot });
    try {
      assert.equal((await second.state(id))?.status, 'running');
      const exited = exitOf(id, second);
      await second.kill(id, 9);
      const record = await exited;
      assert.equal(record.exitCode, 137);
      assert.equal(record.oomKilled, false);
      await second.delete(id);
    } finally {
      await second.close();
    }
  });

  test('start releases the exec fifo itself: the process runs and runc agrees it is running', async () => {
    const id = uniqueId('fifo');
    await create(id, ['sleep', '30']);
    const stateDir = join(execRoot, 'runc', id);
    assert.ok((await readdir(stateDir)).includes('exec.fifo'));
    await runtime.start(id);
    assert.equal((await runtime.state(id))?.status, 'running');
    assert.ok(!(await readdir(stateDir)).includes('exec.fifo'));
    // A second start has no fifo to release: runc's own answer comes back.
    await assert.rejects(runtime.start(id), NotModifiedError);
    await runtime.delete(id, { force: true });
  });

  test('start of a container whose init died is refused, not left hanging', async () => {
    const id = uniqueId('dead');
    const { pid } = await create(id, ['true']);
    process.kill(pid, 'SIGKILL');
    await assert.rejects(runtime.start(id), /already dead|not running|stopped/);
    await runtime.delete(id, { force: true });
  });

  test('delete of a stopped container removes its cgroups and runc state', async () => {
    const id = uniqueId('gone');
    await create(id, ['true']);
    const state = JSON.parse(await readFile(join(execRoot, 'runc', id, 'state.json'), 'utf8')) as {
      cgroup_paths: Record<string, string>;
    };
    const cgroups = [...new Set(Object.values(state.cgroup_paths))];
    assert.ok(cgroups.length > 0);
    const exited = exitOf(id);
    await runtime.start(id);
    await exited;
    await runtime.delete(id);
    assert.equal(await runtime.state(id), undefined);
    const left = [];
    for (const dir of cgroups) if ((await listIfExists(dir)).length > 0) left.push(dir);
    assert.deepEqual(left, []);
  });

  test('leaves no conmon behind', async () => {
    const { stdout } = await run('ps', ['-eo', 'pid,args']);
    const ours = stdout.split('\n').filter((line) => line.includes('conmon') && line.includes(execRoot));
    assert.deepEqual(ours, []);
  });
});
