// The Engine API as clients meet it (issue 3): ping and version negotiation,
// Docker's error statuses and messages, and the events stream.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  assertExit,
  assertOk,
  busyboxImage,
  type Daemon,
  type ErrorBody,
  startDaemon,
} from '../../harness/index.js';

let d: Daemon;

before(async () => {
  d = await startDaemon();
  assertOk(await d.docker(['load', '-i', (await busyboxImage()).path]), 'docker load -i busybox.tar');
});
after(async () => {
  await d?.stop();
});
afterEach((t) => d?.dumpLogOnFailure(t));

function messageOf(body: unknown): string {
  assert.ok(
    body && typeof body === 'object' && 'message' in body,
    `error body is {"message": ...}: ${JSON.stringify(body)}`,
  );
  const { message } = body as ErrorBody;
  assert.equal(typeof message, 'string');
  return message;
}

describe('ping and version', () => {
  test('GET and HEAD /_ping answer OK with an API-Version header', async () => {
    const get = await d.request('GET', '/_ping');
    assert.equal(get.status, 200);
    assert.equal(get.body, 'OK');
    assert.match(String(get.headers['api-version']), /^1\.\d+$/);
    const head = await d.request('HEAD', '/_ping');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  test('routes answer under /v1.N as well as unversioned', async () => {
    const version = await d.request('GET', '/version');
    assert.equal(version.status, 200, version.body);
    const v = version.json as { ApiVersion: string; MinAPIVersion: string; Os: string; Arch: string };
    assert.equal(v.Os, 'linux');
    const versioned = await d.request('GET', `/v${v.ApiVersion}/containers/json`);
    assert.equal(versioned.status, 200, versioned.body);
    assert.ok(Array.isArray(versioned.json));
  });

  test('docker version and berth version show both sides', async () => {
    for (const cli of ['docker', 'berth'] as const) {
      const r = assertOk(await d.cli(cli, ['version']), `${cli} version`);
      assert.match(r.stdout, /^Client:/m);
      assert.match(r.stdout, /^Server:/m);
    }
  });

  test('docker info and berth info answer', async () => {
    for (const cli of ['docker', 'berth'] as const) {
      const r = assertOk(
        await d.cli(cli, ['info', '--format', '{{.OperatingSystem}} {{.Containers}}']),
        `${cli} info`,
      );
      assert.match(r.stdout, /^.+ \d+\n$/);
    }
  });
});

describe('errors', () => {
  test("a duplicate --name is a 409 with Docker's message, with both CLIs and the API", async () => {
    const first = assertOk(
      await d.docker(['create', '--name', 'dup', 'busybox', 'true']),
      'create --name dup',
    );
    const id = first.stdout.trim();
    const message = `Conflict. The container name "/dup" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`;
    const docker = await d.docker(['run', '--name', 'dup', 'busybox', 'true']);
    assertExit(docker, 125, 'docker run --name dup (again)');
    assert.ok(docker.stderr.includes(`Error response from daemon: ${message}`), docker.stderr);
    const berth = await d.berth(['run', '--name', 'dup', 'busybox', 'true']);
    assertExit(berth, 125, 'berth run --name dup (again)');
    assert.ok(berth.stderr.includes(message), berth.stderr);
    const api = await d.request('POST', '/containers/create?name=dup', { Image: 'busybox', Cmd: ['true'] });
    assert.equal(api.status, 409);
    assert.equal(messageOf(api.json), message);
    const ps = assertOk(await d.docker(['ps', '-aq', '--no-trunc']), 'ps -aq');
    assert.equal(ps.stdout, `${id}\n`, 'only the first container exists');
    assertOk(await d.docker(['rm', 'dup']), 'rm dup');
  });

  test('an invalid container name is a 400', async () => {
    const api = await d.request('POST', '/containers/create?name=bad%2Fname', { Image: 'busybox' });
    assert.equal(api.status, 400, api.body);
    assert.match(messageOf(api.json), /Invalid container name/);
  });

  test('a missing image is a 404 "No such image: nosuch:latest"', async () => {
    const api = await d.request('POST', '/containers/create', { Image: 'nosuch' });
    assert.equal(api.status, 404);
    assert.equal(messageOf(api.json), 'No such image: nosuch:latest');
    // --pull never: the CLI must not turn to a registry.
    const docker = await d.docker(['run', '--rm', '--pull', 'never', 'nosuch']);
    assertExit(docker, 125, 'docker run --pull never nosuch');
    assert.match(docker.stderr, /Error response from daemon: No such image: nosuch:latest/);
    const inspect = await d.request('GET', '/images/nosuch/json');
    assert.equal(inspect.status, 404);
    assert.equal(messageOf(inspect.json), 'No such image: nosuch:latest');
    const ps = assertOk(await d.docker(['ps', '-aq']), 'ps -aq');
    assert.equal(ps.stdout, '', 'no container was made');
  });

  test('a missing container is a 404 "No such container: ..."', async () => {
    const api = await d.request('GET', '/containers/nosuch/json');
    assert.equal(api.status, 404);
    assert.equal(messageOf(api.json), 'No such container: nosuch');
    for (const cli of ['docker', 'berth'] as const) {
      const r = await d.cli(cli, ['stop', 'nosuch']);
      assertExit(r, 1, `${cli} stop nosuch`);
      assert.match(r.stderr, /No such container: nosuch/);
    }
  });

  test('a malformed JSON body to POST /containers/create is a 400 with a message', async () => {
    const r = await d.request('POST', '/containers/create', '{"Image": "busybox", "Cmd": [', {
      headers: { 'Content-Type': 'application/json' },
    });
    assert.equal(r.status, 400, r.body);
    assert.ok(messageOf(r.json).length > 0);
    // A string Cmd is fine (Docker's StrSlice takes one); a number for Image is not.
    const wrongType = await d.request('POST', '/containers/create', { Image: 42 });
    assert.equal(wrongType.status, 400, wrongType.body);
    assert.ok(messageOf(wrongType.json).length > 0);
    const ps = assertOk(await d.docker(['ps', '-aq']), 'ps -aq');
    assert.equal(ps.stdout, '', 'no container was made');
  });

  test('an unknown route is a 404 with a JSON message', async () => {
    const r = await d.request('GET', '/no/such/route');
    assert.equal(r.status, 404);
    assert.ok(messageOf(r.json).length > 0);
  });
});

describe('events', () => {
  test('docker events --since/--until shows create, start, die, destroy in order', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    assertOk(await d.docker(['run', '--name', 'ev', 'busybox', 'true']), 'run ev');
    assertOk(await d.docker(['rm', 'ev']), 'rm ev');
    const until = Math.ceil(Date.now() / 1000) + 1;
    for (const cli of ['docker', 'berth'] as const) {
      const r = assertOk(
        await d.cli(
          cli,
          [
            'events',
            '--since',
            String(since),
            '--until',
            String(until),
            '--filter',
            'container=ev',
            '--format',
            '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}',
          ],
          { timeoutMs: 20_000 },
        ),
        `${cli} events --since --until`,
      );
      const seen = r.stdout
        .split('\n')
        .filter((l) => /^container (create|start|die|destroy) ev$/.test(l))
        .map((l) => l.split(' ')[1]);
      assert.deepEqual(seen, ['create', 'start', 'die', 'destroy'], r.stdout);
    }
  });

  test('die events carry the exit code', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    assertExit(
      await d.docker(['run', '--rm', '--name', 'ev-code', 'busybox', 'sh', '-c', 'exit 4']),
      4,
      'run',
    );
    const until = Math.ceil(Date.now() / 1000) + 1;
    const r = await d.request(
      'GET',
      `/events?since=${since}&until=${until}&filters=${encodeURIComponent(JSON.stringify({ event: ['die'], container: ['ev-code'] }))}`,
    );
    assert.equal(r.status, 200, r.body);
    const events = r.body
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map(
        (l) =>
          JSON.parse(l) as { Type: string; Action: string; Actor: { Attributes: Record<string, string> } },
      );
    assert.equal(events.length, 1, r.body);
    assert.equal(events[0]?.Actor.Attributes.exitCode, '4');
  });

  test('image events: tag and untag', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    assertOk(await d.docker(['tag', 'busybox', 'evtag:1']), 'tag');
    assertOk(await d.docker(['rmi', 'evtag:1']), 'rmi');
    const until = Math.ceil(Date.now() / 1000) + 1;
    const r = assertOk(
      await d.docker([
        'events',
        '--since',
        String(since),
        '--until',
        String(until),
        '--filter',
        'type=image',
        '--format',
        '{{.Action}}',
      ]),
      'events --filter type=image',
    );
    const actions = r.stdout.split('\n').filter((l) => l !== '');
    assert.deepEqual(actions, ['tag', 'untag'], r.stdout);
  });
});
