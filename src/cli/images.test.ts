import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { encodeFrame, StreamKind } from '../api/index.js';
import { type FakeDaemon, sendJson, startFakeDaemon } from '../client/index.js';
import { runCli } from './main.js';

async function berth(host: string, args: string[]) {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks: Record<'out' | 'err', Buffer[]> = { out: [], err: [] };
  out.on('data', (c: Buffer) => chunks.out.push(c));
  err.on('data', (c: Buffer) => chunks.err.push(c));
  const status = await runCli(args, {
    stdout: out,
    stderr: err,
    stdin: Readable.from([]),
    env: { BERTH_HOST: host },
  });
  return {
    status,
    stdout: Buffer.concat(chunks.out).toString(),
    stderr: Buffer.concat(chunks.err).toString(),
  };
}

describe('image and container commands map to requests', () => {
  let daemon: FakeDaemon;
  const dir = mkdtempSync(join(tmpdir(), 'berth-cli-'));
  before(async () => {
    const messages = (lines: object[]) => (_req: unknown, res: import('node:http').ServerResponse) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
    };
    const empty = (_req: unknown, res: import('node:http').ServerResponse) => {
      res.writeHead(204);
      res.end();
    };
    daemon = await startFakeDaemon({
      routes: {
        'POST /images/load': messages([{ stream: 'Loaded image: busybox:latest\n' }]),
        'POST /images/create': messages([{ status: 'sha256:1234' }]),
        'GET /images/get': (_req, res) => {
          res.writeHead(200, { 'Content-Type': 'application/x-tar' });
          res.end('TARDATA');
        },
        'POST /images/busybox/tag': (_req, res) => {
          res.writeHead(201);
          res.end();
        },
        'DELETE /images/busybox': (_req, res) =>
          sendJson(res, 200, [{ Untagged: 'busybox:latest' }, { Deleted: 'sha256:abc' }]),
        'POST /containers/a/stop': empty,
        'POST /containers/b/stop': (_req, res) => sendJson(res, 404, { message: 'No such container: b' }),
        'POST /containers/a/kill': empty,
        'GET /containers/a/json': (_req, res) => sendJson(res, 200, { Id: 'a', Config: { Tty: false } }),
        'GET /containers/a/logs': (_req, res) => {
          res.writeHead(200, { 'Content-Type': 'application/vnd.docker.multiplexed-stream' });
          res.end(
            Buffer.concat([
              encodeFrame(StreamKind.Stdout, Buffer.from('line1\n')),
              encodeFrame(StreamKind.Stderr, Buffer.from('warn\n')),
            ]),
          );
        },
        'POST /containers/a/wait': (_req, res) => sendJson(res, 200, { StatusCode: 7 }),
        'POST /images/prune': (_req, res) =>
          sendJson(res, 200, { ImagesDeleted: [{ Deleted: 'sha256:abc' }], SpaceReclaimed: 4_261_000 }),
      },
    });
  });
  after(async () => {
    await daemon.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const last = (path: string) => [...daemon.requests].reverse().find((r) => r.path === path)!;

  it('load -i sends the file and prints the stream', async () => {
    const file = join(dir, 'in.tar');
    writeFileSync(file, 'ARCHIVE');
    const r = await berth(daemon.host, ['load', '-i', file]);
    assert.deepEqual(r, { status: 0, stdout: 'Loaded image: busybox:latest\n', stderr: '' });
    assert.equal(last('/images/load').body.toString(), 'ARCHIVE');
  });

  it('save -o writes the archive', async () => {
    const file = join(dir, 'out.tar');
    const r = await berth(daemon.host, ['image', 'save', '-o', file, 'busybox', 'alpine:3']);
    assert.equal(r.status, 0);
    assert.equal(readFileSync(file, 'utf8'), 'TARDATA');
    assert.deepEqual(last('/images/get').query.getAll('names'), ['busybox', 'alpine:3']);
  });

  it('import sends fromSrc, repo, tag, changes and message', async () => {
    const file = join(dir, 'rootfs.tar');
    writeFileSync(file, 'ROOTFS');
    const r = await berth(daemon.host, [
      'import',
      '-c',
      'ENV A=1',
      '-c',
      'CMD ["sh"]',
      '-m',
      'hi',
      file,
      'localhost:5000/me/app:v1',
    ]);
    assert.deepEqual(r, { status: 0, stdout: 'sha256:1234\n', stderr: '' });
    const q = last('/images/create').query;
    assert.equal(q.get('fromSrc'), '-');
    assert.equal(q.get('repo'), 'localhost:5000/me/app');
    assert.equal(q.get('tag'), 'v1');
    assert.deepEqual(q.getAll('changes'), ['ENV A=1', 'CMD ["sh"]']);
    assert.equal(q.get('message'), 'hi');
  });

  it('tag defaults to latest; rmi prints what was removed', async () => {
    assert.equal((await berth(daemon.host, ['tag', 'busybox', 'me/box'])).status, 0);
    assert.equal(last('/images/busybox/tag').query.get('tag'), 'latest');
    const r = await berth(daemon.host, ['rmi', '-f', 'busybox']);
    assert.deepEqual(r, { status: 0, stdout: 'Untagged: busybox:latest\nDeleted: sha256:abc\n', stderr: '' });
    assert.equal(last('/images/busybox').query.get('force'), '1');
  });

  it('image prune -f -a asks for non-dangling images and reports space', async () => {
    const r = await berth(daemon.host, ['image', 'prune', '-f', '-a']);
    assert.equal(r.stdout, 'Deleted Images:\ndeleted: sha256:abc\n\nTotal reclaimed space: 4.261MB\n');
    assert.deepEqual(JSON.parse(last('/images/prune').query.get('filters')!), { dangling: ['false'] });
  });

  it('stop tries every container, passes -t and -s, and exits 1 on a failure', async () => {
    const r = await berth(daemon.host, ['stop', '-t', '3', '-s', 'SIGINT', 'a', 'b']);
    assert.deepEqual(r, {
      status: 1,
      stdout: 'a\n',
      stderr: 'Error response from daemon: No such container: b\n',
    });
    const q = last('/containers/a/stop').query;
    assert.equal(q.get('t'), '3');
    assert.equal(q.get('signal'), 'SIGINT');
  });

  it('kill -s and wait', async () => {
    assert.equal((await berth(daemon.host, ['kill', '-s', 'HUP', 'a'])).stdout, 'a\n');
    assert.equal(last('/containers/a/kill').query.get('signal'), 'HUP');
    assert.deepEqual(await berth(daemon.host, ['wait', 'a']), { status: 0, stdout: '7\n', stderr: '' });
  });

  it('logs splits frames to stdout and stderr and passes options', async () => {
    const r = await berth(daemon.host, ['logs', '-t', '--tail', '5', 'a']);
    assert.deepEqual(r, { status: 0, stdout: 'line1\n', stderr: 'warn\n' });
    const q = last('/containers/a/logs').query;
    assert.equal(q.get('tail'), '5');
    assert.equal(q.get('timestamps'), '1');
    assert.equal(q.get('stdout'), '1');
    assert.equal(q.get('follow'), null);
  });
});
