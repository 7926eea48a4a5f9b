// Inspecting and copying containers (issue 4): stats, top, diff, export, commit and cp,
// driven with the real docker CLI and bin/berth against a private berthd.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  assertExit,
  assertOk,
  busyboxImage,
  type CliName,
  type Daemon,
  runProgram,
  startDaemon,
} from '../../harness/index.js';

let d: Daemon;
let scratch = '';

before(async () => {
  d = await startDaemon();
  scratch = mkdtempSync(join(tmpdir(), 'berth-ops-'));
  const image = await busyboxImage();
  assertOk(await d.docker(['load', '-i', image.path]), 'docker load -i busybox.tar');
});
after(async () => {
  await d?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});
afterEach((t) => d?.dumpLogOnFailure(t));

async function runDetached(cli: CliName, name: string, ...cmd: string[]): Promise<void> {
  assertOk(
    await d.cli(cli, ['run', '-d', '--network', 'none', '--name', name, 'busybox', ...cmd]),
    `${cli} run -d ${name}`,
  );
}

describe('docker cp', () => {
  test('copies a file in and back out, on a running and on a stopped container', async () => {
    await runDetached('docker', 'cp-run', 'sleep', '1000');
    const source = join(scratch, 'hello.txt');
    writeFileSync(source, 'hello from the host\n');
    assertOk(await d.docker(['cp', source, 'cp-run:/tmp/hello.txt']), 'docker cp into');
    const cat = assertOk(await d.docker(['exec', 'cp-run', 'cat', '/tmp/hello.txt']), 'exec cat');
    assert.equal(cat.stdout, 'hello from the host\n');
    const back = join(scratch, 'back.txt');
    assertOk(await d.docker(['cp', 'cp-run:/tmp/hello.txt', back]), 'docker cp out');
    assert.equal(readFileSync(back, 'utf8'), 'hello from the host\n');

    assertOk(await d.docker(['stop', '-t', '0', 'cp-run']), 'stop');
    const stopped = join(scratch, 'stopped.txt');
    assertOk(
      await d.docker(['cp', 'cp-run:/tmp/hello.txt', stopped]),
      'docker cp out of a stopped container',
    );
    assert.equal(readFileSync(stopped, 'utf8'), 'hello from the host\n');
    assertOk(await d.docker(['rm', '-f', 'cp-run']), 'rm');
  });

  test('a path climbing out with .. stays inside the container', async () => {
    assertOk(
      await d.docker(['create', '--network', 'none', '--name', 'cp-escape', 'busybox', 'true']),
      'create',
    );
    const source = join(scratch, 'escape.txt');
    writeFileSync(source, 'inside\n');
    assertOk(await d.docker(['cp', source, 'cp-escape:/etc/../../escape.txt']), 'docker cp to /etc/../../');
    const out = join(scratch, 'escape-back.txt');
    assertOk(await d.docker(['cp', 'cp-escape:/escape.txt', out]), 'docker cp /escape.txt out');
    assert.equal(readFileSync(out, 'utf8'), 'inside\n');
    assertOk(await d.docker(['rm', 'cp-escape']), 'rm');
  });

  test('a missing path is a clear error', async () => {
    assertOk(
      await d.docker(['create', '--network', 'none', '--name', 'cp-missing', 'busybox', 'true']),
      'create',
    );
    const r = await d.docker(['cp', 'cp-missing:/no/such/file', join(scratch, 'x')]);
    assertExit(r, 1, 'docker cp of a missing file');
    assert.match(r.stderr, /Could not find the file \/no\/such\/file in container cp-missing/);
    assertOk(await d.docker(['rm', 'cp-missing']), 'rm');
  });
});

describe('docker diff, commit, export', () => {
  test('diff shows an added and a deleted file', async () => {
    assertOk(
      await d.docker([
        'run',
        '--network',
        'none',
        '--name',
        'diff-c',
        'busybox',
        'sh',
        '-c',
        'echo new > /newfile && rm /etc/group',
      ]),
      'run',
    );
    const r = assertOk(await d.docker(['diff', 'diff-c']), 'docker diff');
    const lines = r.stdout.trimEnd().split('\n');
    assert.ok(lines.includes('A /newfile'), r.stdout);
    assert.ok(lines.includes('D /etc/group'), r.stdout);
    assert.ok(lines.includes('C /etc'), r.stdout);
  });

  test('commit makes an image that has the file, not the deleted one, and the --change', async () => {
    const commit = assertOk(
      await d.docker([
        'commit',
        '--change',
        'CMD ["cat","/newfile"]',
        '-m',
        'made by a test',
        'diff-c',
        'committed:v1',
      ]),
      'docker commit',
    );
    assert.match(commit.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
    const run = assertOk(
      await d.docker(['run', '--rm', '--network', 'none', 'committed:v1']),
      'run the committed image',
    );
    assert.equal(run.stdout, 'new\n');
    const gone = await d.docker(['run', '--rm', '--network', 'none', 'committed:v1', 'ls', '/etc/group']);
    assertExit(gone, 1, 'ls of the deleted file');
    const history = assertOk(
      await d.docker(['history', '--no-trunc', '--format', '{{.Comment}}', 'committed:v1']),
      'history',
    );
    assert.equal(history.stdout.split('\n')[0], 'made by a test');
  });

  test('export writes a tar of the root filesystem', async () => {
    const tarPath = join(scratch, 'export.tar');
    assertOk(await d.docker(['export', '-o', tarPath, 'diff-c']), 'docker export -o');
    const list = assertOk(await runProgram('tar', ['tf', tarPath]), 'tar tf');
    const names = list.stdout.split('\n');
    assert.ok(names.includes('newfile'), list.stdout.slice(0, 500));
    assert.ok(names.includes('bin/busybox'), list.stdout.slice(0, 500));
    assert.ok(!names.includes('etc/group'), 'the deleted file is not exported');
  });
});

describe('docker top and stats', () => {
  test('top lists the container process', async () => {
    await runDetached('docker', 'top-c', 'sleep', '1234');
    const r = assertOk(await d.docker(['top', 'top-c']), 'docker top');
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
    assert.ok(
      lines.some((l) => /sleep 1234$/.test(l)),
      r.stdout,
    );
  });

  test('stats --no-stream shows the row', async () => {
    const r = assertOk(await d.docker(['stats', '--no-stream', 'top-c']), 'docker stats --no-stream');
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(
      lines[0] ?? '',
      /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/,
    );
    assert.match(
      lines[1] ?? '',
      /^[0-9a-f]{12}\s+top-c\s+\d+\.\d+%\s+\S+ \/ \S+\s+\d+\.\d+%\s+\S+ \/ \S+\s+\S+ \/ \S+\s+1$/,
    );
    assertOk(await d.docker(['rm', '-f', 'top-c']), 'rm');
  });
});

describe('berth stats, top, diff, export, commit, cp', () => {
  test('each command works against a running container', async () => {
    await runDetached('berth', 'berth-ops', 'sleep', '4321');
    const source = join(scratch, 'berth-in.txt');
    writeFileSync(source, 'via berth\n');
    assertOk(await d.berth(['cp', source, 'berth-ops:/root/in.txt']), 'berth cp into');
    const back = join(scratch, 'berth-back.txt');
    assertOk(await d.berth(['cp', 'berth-ops:/root/in.txt', back]), 'berth cp out');
    assert.equal(readFileSync(back, 'utf8'), 'via berth\n');

    const diff = assertOk(await d.berth(['diff', 'berth-ops']), 'berth diff');
    assert.ok(diff.stdout.split('\n').includes('A /root/in.txt'), diff.stdout);

    const top = assertOk(await d.berth(['top', 'berth-ops']), 'berth top');
    assert.ok(
      top.stdout.split('\n').some((l) => /sleep 4321$/.test(l)),
      top.stdout,
    );

    const stats = assertOk(
      await d.berth(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', 'berth-ops']),
      'berth stats',
    );
    assert.equal(stats.stdout, 'berth-ops 1\n');

    const commit = assertOk(
      await d.berth(['commit', '-c', 'CMD ["cat","/root/in.txt"]', 'berth-ops', 'berth-committed']),
      'berth commit',
    );
    assert.match(commit.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
    const run = assertOk(
      await d.berth(['run', '--rm', '--network', 'none', 'berth-committed']),
      'run the committed image',
    );
    assert.equal(run.stdout, 'via berth\n');

    const tarPath = join(scratch, 'berth-export.tar');
    assertOk(await d.berth(['export', '-o', tarPath, 'berth-ops']), 'berth export');
    const list = assertOk(await runProgram('tar', ['tf', tarPath]), 'tar tf');
    assert.ok(list.stdout.split('\n').includes('root/in.txt'), list.stdout.slice(0, 300));
    assertOk(await d.berth(['rm', '-f', 'berth-ops']), 'rm');
  });
});
