// Interactive use (issue 4): exec, attach with stdin, TTYs, detach keys and resize,
// driven with the real docker CLI (under a pty where a terminal matters) and bin/berth.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  assertExit,
  assertOk,
  BERTH_BIN,
  busyboxImage,
  type CliName,
  type Daemon,
  startDaemon,
  waitFor,
} from '../../harness/index.js';
import { spawnInPty } from './pty.js';

let d: Daemon;
let started: Promise<void> | undefined;

/** Suites' own before hooks may run ahead of the file's: each waits for the one daemon. */
function daemonReady(): Promise<void> {
  started ??= (async () => {
    d = await startDaemon();
    const image = await busyboxImage();
    assertOk(await d.docker(['load', '-i', image.path]), 'docker load -i busybox.tar');
  })();
  return started;
}

before(daemonReady);
after(async () => {
  await d?.stop();
});
afterEach((t) => d?.dumpLogOnFailure(t));

async function runDetached(cli: CliName, name: string, args: string[]): Promise<void> {
  assertOk(await d.cli(cli, ['run', '-d', '--name', name, ...args]), `run -d ${name}`);
}

async function isRunning(name: string): Promise<boolean> {
  const r = assertOk(await d.docker(['inspect', '-f', '{{.State.Running}}', name]), `inspect ${name}`);
  return r.stdout.trim() === 'true';
}

const CLIS: CliName[] = ['docker', 'berth'];

/** argv that runs the CLI under test. */
function cliCommand(cli: CliName): string[] {
  return cli === 'docker' ? ['docker'] : [process.execPath, BERTH_BIN];
}

for (const cli of CLIS) {
  describe(`${cli}: exec`, () => {
    const name = `${cli}-exec-target`;
    before(async () => {
      await daemonReady();
      await runDetached(cli, name, ['busybox', 'sleep', '1000']);
    });

    test(`echo hi | ${cli} exec -i c cat prints hi and exits 0`, async () => {
      const r = assertOk(await d.cli(cli, ['exec', '-i', name, 'cat'], { input: 'hi\n' }), 'exec -i cat');
      assert.equal(r.stdout, 'hi\n');
    });

    test(`${cli} exec c sh -c 'exit 5' exits 5`, async () => {
      assertExit(await d.cli(cli, ['exec', name, 'sh', '-c', 'exit 5']), 5, 'exec exit 5');
    });

    test(`${cli} exec keeps stdout and stderr apart`, async () => {
      const r = assertOk(await d.cli(cli, ['exec', name, 'sh', '-c', 'echo out; echo err >&2']), 'exec');
      assert.equal(r.stdout, 'out\n');
      assert.equal(r.stderr, 'err\n');
    });

    test(`${cli} exec -e -w -u set the environment, directory and user`, async () => {
      const r = assertOk(
        await d.cli(cli, [
          'exec',
          '-e',
          'GREETING=hello',
          '-w',
          '/tmp',
          '-u',
          'nobody',
          name,
          'sh',
          '-c',
          'echo $GREETING $(pwd) $(id -u)',
        ]),
        'exec -e -w -u',
      );
      assert.equal(r.stdout, 'hello /tmp 65534\n');
    });

    test(`${cli} exec -d runs in the background`, async () => {
      assertOk(await d.cli(cli, ['exec', '-d', name, 'sh', '-c', 'echo done > /tmp/detached']), 'exec -d');
      await waitFor('the detached exec to write its file', async () => {
        const r = await d.cli(cli, ['exec', name, 'cat', '/tmp/detached']);
        return r.code === 0 && r.stdout === 'done\n';
      });
    });

    test(`${cli} exec -t gives a TTY`, async () => {
      const r = assertOk(
        await d.cli(cli, ['exec', '-t', name, 'sh', '-c', 'test -t 1 && echo tty']),
        'exec -t',
      );
      assert.equal(r.stdout, 'tty\r\n');
    });

    test(`${cli} exec into a stopped container fails with Docker's message`, async () => {
      const stopped = `${cli}-exec-stopped`;
      assertOk(await d.cli(cli, ['run', '--name', stopped, 'busybox', 'true']), 'run true');
      const id = assertOk(await d.docker(['inspect', '-f', '{{.Id}}', stopped]), 'inspect').stdout.trim();
      const r = await d.cli(cli, ['exec', stopped, 'true']);
      assertExit(r, 1, 'exec into a stopped container');
      assert.match(r.stderr, new RegExp(`Error response from daemon: container ${id} is not running`));
    });

    test(`${cli} exec of a missing command fails and says why`, async () => {
      const r = await d.cli(cli, ['exec', name, 'no-such-command']);
      assert.notEqual(r.code, 0);
      assert.match(r.stdout + r.stderr, /executable file not found/);
    });
  });
}

describe('exec over the API', () => {
  const name = 'api-exec-target';
  before(async () => {
    await daemonReady();
    await runDetached('docker', name, ['busybox', 'sleep', '1000']);
  });

  test('exec inspect shows the exit code; the container lists running execs', async () => {
    const created = await d.request('POST', `/containers/${name}/exec`, { Cmd: ['sleep', '1000'] });
    assert.equal(created.status, 201);
    const id = (created.json as { Id: string }).Id;
    const started = await d.request('POST', `/exec/${id}/start`, { Detach: true });
    assert.equal(started.status, 200);
    const running = await d.request('GET', `/exec/${id}/json`);
    assert.equal(running.status, 200);
    const info = running.json as { Running: boolean; Pid: number; ProcessConfig: { entrypoint: string } };
    assert.equal(info.Running, true);
    assert.ok(info.Pid > 0);
    assert.equal(info.ProcessConfig.entrypoint, 'sleep');
    const inspect = await d.request('GET', `/containers/${name}/json`);
    assert.deepEqual((inspect.json as { ExecIDs: string[] }).ExecIDs, [id]);
    // Exec processes go away with their container.
    assertOk(await d.docker(['kill', name]), 'kill the container');
    const exited = await waitFor('the exec to be recorded as exited', async () => {
      const r = await d.request('GET', `/exec/${id}/json`);
      const json = r.json as { Running: boolean; ExitCode: number | null };
      return json.Running === false ? json : undefined;
    });
    assert.equal(exited.ExitCode, 137);
    const events = assertOk(
      await d.docker([
        'events',
        '--since',
        '0',
        '--until',
        `${Math.ceil(Date.now() / 1000) + 1}`,
        '--filter',
        `container=${name}`,
        '--format',
        '{{.Action}}',
      ]),
      'docker events',
    );
    assert.match(events.stdout, /^exec_create: sleep 1000$/m);
    assert.match(events.stdout, /^exec_start: sleep 1000$/m);
    assert.match(events.stdout, /^exec_die$/m);
  });

  test('an unknown exec is 404 with Docker message', async () => {
    const r = await d.request('GET', '/exec/nope/json');
    assert.equal(r.status, 404);
    assert.deepEqual(r.json, { message: 'No such exec instance: nope' });
  });

  test('a detach key string that does not parse is 400', async () => {
    await runDetached('docker', 'api-detach-keys', ['busybox', 'sleep', '1000']);
    const r = await d.request(
      'POST',
      '/containers/api-detach-keys/attach?stream=1&stdin=1&detachKeys=ctrl-',
      undefined,
    );
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, { message: 'Invalid detach keys (ctrl-) provided' });
    const e = await d.request('POST', '/containers/api-detach-keys/exec', {
      Cmd: ['true'],
      DetachKeys: 'bogus',
    });
    assert.equal(e.status, 400);
    assert.deepEqual(e.json, { message: 'Invalid escape keys (bogus) provided' });
  });

  test('resize of a stopped container is 409', async () => {
    assertOk(await d.docker(['create', '--name', 'api-resize-created', 'busybox', 'true']), 'create');
    const r = await d.request('POST', '/containers/api-resize-created/resize?h=10&w=20');
    assert.equal(r.status, 409);
  });
});

for (const cli of CLIS) {
  describe(`${cli}: stdin and TTYs`, () => {
    test(`${cli} run -i busybox cat echoes piped stdin`, async () => {
      const r = assertOk(
        await d.cli(cli, ['run', '--rm', '-i', 'busybox', 'cat'], { input: 'one\ntwo\n' }),
        'run -i cat',
      );
      assert.equal(r.stdout, 'one\ntwo\n');
    });

    test(`${cli} run -it busybox sh gives a working shell`, async () => {
      const shell = spawnInPty([...cliCommand(cli), 'run', '--rm', '-it', 'busybox', 'sh'], d.env);
      try {
        await shell.waitForOutput(/\/ # /);
        shell.type('echo $((6*7))\r');
        await shell.waitForOutput(/^42\r?$/m);
        shell.type('stty size\r');
        await shell.waitForOutput(/^40 120\r?$/m);
        shell.type('exit 3\r');
        assert.equal(await shell.exited, 3);
      } finally {
        shell.kill();
      }
    });

    test(`${cli} attach then ctrl-p ctrl-q detaches and leaves the container running`, async () => {
      const name = `${cli}-attach-detach`;
      await runDetached(cli, name, ['-it', 'busybox', 'sh']);
      const attached = spawnInPty([...cliCommand(cli), 'attach', name], d.env);
      try {
        attached.type('echo attached-$((1+1))\r');
        await attached.waitForOutput(/attached-2/);
        attached.type('\x10\x11');
        await attached.exited;
        assert.equal(await isRunning(name), true);
      } finally {
        attached.kill();
      }
      // The shell still takes input through a new attach.
      const again = spawnInPty([...cliCommand(cli), 'attach', name], d.env);
      try {
        again.type('exit 4\r');
        assert.equal(await again.exited, 4);
      } finally {
        again.kill();
      }
    });

    test(`${cli} exec -it gives a shell with a TTY`, async () => {
      const name = `${cli}-exec-it`;
      await runDetached(cli, name, ['busybox', 'sleep', '1000']);
      const shell = spawnInPty([...cliCommand(cli), 'exec', '-it', name, 'sh'], d.env);
      try {
        await shell.waitForOutput(/\/ # /);
        shell.type('tty; exit 6\r');
        await shell.waitForOutput(/\/dev\/pts\/\d+/);
        assert.equal(await shell.exited, 6);
      } finally {
        shell.kill();
      }
    });
  });
}
