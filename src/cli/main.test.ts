import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { ContainerSummary, ImageSummary } from '../api/index.js';
import { encodeFrame, MULTIPLEXED_STREAM_MEDIA_TYPE, StreamKind } from '../api/index.js';
import { type FakeDaemon, sendJson, startFakeDaemon } from '../client/index.js';
import { runCli } from './main.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const ID = 'f'.repeat(64);

interface Result {
  status: number;
  stdout: string;
  stderr: string;
}

function collector(isTTY = false) {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean };
  stream.isTTY = isTTY;
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString() };
}

async function berth(
  host: string,
  args: string[],
  opts: { stdoutIsTTY?: boolean; env?: Record<string, string> } = {},
): Promise<Result> {
  const stdout = collector(opts.stdoutIsTTY);
  const stderr = collector();
  const status = await runCli(args, {
    stdout: stdout.stream,
    stderr: stderr.stream,
    stdin: Readable.from([]),
    env: { BERTH_HOST: host, ...opts.env },
    now: () => NOW,
  });
  return { status, stdout: stdout.text(), stderr: stderr.text() };
}

const containers: ContainerSummary[] = [
  {
    Id: ID,
    Names: ['/web'],
    Image: 'busybox',
    ImageID: 'sha256:abc',
    Command: 'sh -c while true; do sleep 1; done',
    Created: NOW / 1000 - 5,
    Ports: [{ PrivatePort: 80, PublicPort: 8080, IP: '0.0.0.0', Type: 'tcp' }],
    Labels: { tier: 'front' },
    State: 'running',
    Status: 'Up 4 seconds',
    HostConfig: { NetworkMode: 'bridge' },
    NetworkSettings: { Networks: {} },
    Mounts: [],
  },
  {
    Id: `a${'0'.repeat(63)}`,
    Names: ['/db'],
    Image: 'sha256:0123456789abcdef0123',
    ImageID: 'sha256:0123456789abcdef0123',
    Command: 'true',
    Created: NOW / 1000 - 7200,
    Ports: [],
    Labels: {},
    State: 'exited',
    Status: 'Exited (0) 2 hours ago',
    HostConfig: { NetworkMode: 'bridge' },
    NetworkSettings: { Networks: {} },
    Mounts: [],
  },
];

const images: ImageSummary[] = [
  {
    Id: `sha256:${'b'.repeat(64)}`,
    ParentId: '',
    RepoTags: ['busybox:latest', 'busybox:1.36'],
    RepoDigests: [],
    Created: NOW / 1000 - 3 * 24 * 3600,
    Size: 4_261_000,
    SharedSize: -1,
    Labels: {},
    Containers: -1,
  },
  {
    Id: `sha256:${'c'.repeat(64)}`,
    ParentId: '',
    RepoTags: [],
    RepoDigests: [],
    Created: NOW / 1000 - 90,
    Size: 1_000,
    SharedSize: -1,
    Labels: {},
    Containers: -1,
  },
];

describe('berth CLI against a fake daemon', () => {
  let daemon: FakeDaemon;
  let started: () => void = () => undefined;
  before(async () => {
    const noSuch = (res: ServerResponse, what: string) =>
      sendJson(res, 404, { message: `No such container: ${what}` });
    daemon = await startFakeDaemon({
      routes: {
        'GET /containers/json': (_req, res) => sendJson(res, 200, containers),
        'GET /images/json': (_req, res) => sendJson(res, 200, images),
        'DELETE /containers/web': (_req, res) => {
          res.writeHead(204);
          res.end();
        },
        'DELETE /containers/nosuch': (_req, res) => noSuch(res, 'nosuch'),
        'GET /containers/web/json': (_req, res) =>
          sendJson(res, 200, {
            Id: ID,
            Name: '/web',
            State: { Running: true, ExitCode: 0 },
            Config: { Env: ['A=1'] },
          }),
        'GET /containers/nosuch/json': (_req, res) => noSuch(res, 'nosuch'),
        'GET /images/nosuch/json': (_req, res) => sendJson(res, 404, { message: 'No such image: nosuch' }),
        'POST /containers/create': (req, res) => {
          const body = JSON.parse(req.body.toString()) as { Image: string };
          if (body.Image === 'nosuch') sendJson(res, 404, { message: 'No such image: nosuch:latest' });
          else sendJson(res, 201, { Id: ID, Warnings: [] });
        },
        [`POST /containers/${ID}/wait`]: (_req, res) => {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.flushHeaders();
          // Answers only after start, as a real exit would come after it.
          const previous = started;
          started = () => {
            previous();
            res.end(JSON.stringify({ StatusCode: 3 }));
          };
        },
        [`POST /containers/${ID}/start`]: (_req, res) => {
          res.writeHead(204);
          res.end();
          started();
        },
        'GET /events': (_req, res) => {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(
            `${JSON.stringify({
              Type: 'container',
              Action: 'start',
              Actor: { ID: 'abc', Attributes: { name: 'x', image: 'busybox' } },
              time: 1767225600,
              timeNano: 1767225600000000000,
            })}\n`,
          );
        },
      },
      upgrades: {
        [`POST /containers/${ID}/attach`]: (_req, socket) => {
          socket.write(
            `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${MULTIPLEXED_STREAM_MEDIA_TYPE}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`,
          );
          const previous = started;
          started = () => {
            previous();
            socket.end(
              Buffer.concat([
                encodeFrame(StreamKind.Stdout, Buffer.from('hello\n')),
                encodeFrame(StreamKind.Stderr, Buffer.from('oops\n')),
              ]),
            );
          };
        },
      },
    });
  });
  after(() => daemon.close());

  it('prints ps as docker does', async () => {
    const r = await berth(daemon.host, ['ps', '-a']);
    assert.equal(r.status, 0);
    assert.equal(
      r.stdout,
      [
        'CONTAINER ID   IMAGE          COMMAND                  CREATED         STATUS                   PORTS                  NAMES',
        'ffffffffffff   busybox        "sh -c while true; d…"   5 seconds ago   Up 4 seconds             0.0.0.0:8080->80/tcp   web',
        'a00000000000   0123456789ab   "true"                   2 hours ago     Exited (0) 2 hours ago                          db',
        '',
      ].join('\n'),
    );
    assert.equal(daemon.requests.at(-1)?.query.get('all'), '1');
  });

  const formats: [string[], string][] = [
    [['ps', '-q'], `ffffffffffff\na00000000000\n`],
    [['ps', '--format', '{{.Names}} {{.State}} {{.Label "tier"}}'], 'web running front\ndb exited \n'],
    [
      ['container', 'ls', '--format', 'table {{.Names}}\\t{{.Status}}'],
      'NAMES     STATUS\nweb       Up 4 seconds\ndb        Exited (0) 2 hours ago\n',
    ],
    [['ps', '--no-trunc', '-q'], `${ID}\na${'0'.repeat(63)}\n`],
  ];
  for (const [args, expected] of formats) {
    it(`formats ${args.join(' ')}`, async () => {
      const r = await berth(daemon.host, args);
      assert.equal(r.stderr, '');
      assert.equal(r.stdout, expected);
    });
  }

  it('sends repeated --filter flags as one JSON object', async () => {
    await berth(daemon.host, [
      'ps',
      '--filter',
      'status=exited',
      '--filter',
      'status=created',
      '-f',
      'label=a=b',
    ]);
    assert.deepEqual(JSON.parse(daemon.requests.at(-1)?.query.get('filters') ?? ''), {
      status: ['exited', 'created'],
      label: ['a=b'],
    });
  });

  it('prints images as docker does', async () => {
    const r = await berth(daemon.host, ['images']);
    assert.equal(
      r.stdout,
      [
        'REPOSITORY   TAG       IMAGE ID       CREATED              SIZE',
        'busybox      latest    bbbbbbbbbbbb   3 days ago           4.26MB',
        'busybox      1.36      bbbbbbbbbbbb   3 days ago           4.26MB',
        '<none>       <none>    cccccccccccc   About a minute ago   1kB',
        '',
      ].join('\n'),
    );
  });

  it('reports a daemon error per item and exits 1', async () => {
    const r = await berth(daemon.host, ['rm', 'web', 'nosuch']);
    assert.deepEqual(r, {
      status: 1,
      stdout: 'web\n',
      stderr: 'Error response from daemon: No such container: nosuch\n',
    });
  });

  it('inspects with a template and as indented JSON', async () => {
    const f = await berth(daemon.host, ['inspect', '-f', '{{.State.Running}} {{json .Config.Env}}', 'web']);
    assert.equal(f.stdout, 'true ["A=1"]\n');
    const json = await berth(daemon.host, ['container', 'inspect', 'web']);
    assert.match(json.stdout, /^\[\n {4}\{\n {8}"Id": "f+",\n/);
    const missing = await berth(daemon.host, ['inspect', 'nosuch']);
    assert.deepEqual(missing, { status: 1, stdout: '[]\n', stderr: 'Error: No such object: nosuch\n' });
  });

  it('runs in the foreground: attach, wait, start, then exits with the container status', async () => {
    const before = daemon.requests.length;
    const r = await berth(daemon.host, ['run', '--name', 'web', 'busybox', 'echo', '-n', 'hello']);
    assert.deepEqual(r, { status: 3, stdout: 'hello\n', stderr: 'oops\n' });
    const calls = daemon.requests.slice(before).map((q) => `${q.method} ${q.path.replace(ID, 'ID')}`);
    assert.deepEqual(calls, [
      'GET /_ping',
      'POST /containers/create',
      'POST /containers/ID/attach',
      'POST /containers/ID/wait',
      'POST /containers/ID/start',
    ]);
    const create = daemon.requests[before + 1]!;
    assert.equal(create.query.get('name'), 'web');
    assert.deepEqual(JSON.parse(create.body.toString()).Cmd, ['echo', '-n', 'hello']);
    assert.equal(daemon.requests[before + 3]!.query.get('condition'), 'next-exit');
  });

  it('run -d prints the full id', async () => {
    const r = await berth(daemon.host, ['run', '-d', 'busybox']);
    assert.deepEqual(r, { status: 0, stdout: `${ID}\n`, stderr: '' });
  });

  it('says a missing image is missing and exits 125', async () => {
    const r = await berth(daemon.host, ['run', 'nosuch']);
    assert.equal(r.status, 125);
    assert.equal(
      r.stderr,
      "Unable to find image 'nosuch:latest' locally\nberth: Error response from daemon: No such image: nosuch:latest\n\nRun 'berth run --help' for more information\n",
    );
  });

  it('prints events in docker default format', async () => {
    const previous = process.env.TZ;
    process.env.TZ = 'UTC';
    try {
      const r = await berth(daemon.host, ['events', '--until', '0s']);
      assert.equal(r.stdout, '2026-01-01T00:00:00.000000000Z container start abc (image=busybox, name=x)\n');
    } finally {
      if (previous === undefined) delete process.env.TZ;
      else process.env.TZ = previous;
    }
  });

  it('refuses to write a tar to a terminal', async () => {
    const r = await berth(daemon.host, ['save', 'busybox'], { stdoutIsTTY: true });
    assert.deepEqual(r, {
      status: 1,
      stdout: '',
      stderr: 'cowardly refusing to save to a terminal. Use the -o flag or redirect\n',
    });
  });

  it('exits 125 on an unknown flag', async () => {
    const r = await berth(daemon.host, ['ps', '--bogus']);
    assert.equal(r.status, 125);
  });

  it('-H wins over BERTH_HOST', async () => {
    const r = await berth('unix:///nonexistent.sock', ['-H', daemon.host, 'ps', '-q']);
    assert.equal(r.status, 0);
    const down = await berth('unix:///nonexistent.sock', ['ps']);
    assert.deepEqual(down, {
      status: 1,
      stdout: '',
      stderr:
        'Cannot connect to the berth daemon at unix:///nonexistent.sock. Is the berth daemon running?\n',
    });
  });
});
