import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import {
  BerthError,
  ConflictError,
  encodeFrame,
  ForbiddenError,
  InvalidArgumentError,
  MULTIPLEXED_STREAM_MEDIA_TYPE,
  NotFoundError,
  StreamKind,
} from '../api/index.js';
import { createClient } from './client.js';
import { DaemonConnectionError } from './errors.js';
import { type FakeDaemon, sendJson, startFakeDaemon } from './fake-daemon.js';
import { HostFormatError, parseHost } from './host.js';
import { readJsonLines } from './json-stream.js';
import { encodeQuery } from './transport.js';

describe('parseHost', () => {
  it('reads unix and tcp addresses', () => {
    assert.deepEqual(parseHost('unix:///run/berth/berth.sock'), {
      kind: 'unix',
      socketPath: '/run/berth/berth.sock',
    });
    assert.deepEqual(parseHost('tcp://127.0.0.1:2375'), { kind: 'tcp', host: '127.0.0.1', port: 2375 });
    assert.deepEqual(parseHost('tcp://[::1]:2375'), { kind: 'tcp', host: '::1', port: 2375 });
  });
  for (const bad of ['', 'unix://', 'tcp://host', 'http://x:1', 'tcp://h:99999']) {
    it(`rejects "${bad}"`, () => assert.throws(() => parseHost(bad), HostFormatError));
  }
});

describe('encodeQuery', () => {
  it('follows docker: true as 1, false left out, arrays repeated', () => {
    assert.equal(
      encodeQuery({ all: true, size: false, names: ['a', 'b:1'], t: 5, x: undefined }),
      '?all=1&names=a&names=b%3A1&t=5',
    );
    assert.equal(encodeQuery({}), '');
  });
});

describe('readJsonLines', () => {
  it('parses values split across chunks and skips blank lines', async () => {
    const source = Readable.from([Buffer.from('{"a":1}\n\n{"b"'), Buffer.from(':2}\r\n{"c":3}')]);
    const values: unknown[] = [];
    for await (const v of readJsonLines(source)) values.push(v);
    assert.deepEqual(values, [{ a: 1 }, { b: 2 }, { c: 3 }]);
  });
});

describe('client against a fake daemon', () => {
  const daemons: FakeDaemon[] = [];
  after(async () => {
    for (const d of daemons) await d.close();
  });
  const start = async (opts: Parameters<typeof startFakeDaemon>[0]) => {
    const daemon = await startFakeDaemon(opts);
    daemons.push(daemon);
    return { daemon, client: createClient({ host: daemon.host }) };
  };

  const negotiation: [string | undefined, string][] = [
    ['1.41', '1.41'],
    ['1.56', '1.56'],
    ['1.99', '1.56'],
  ];
  for (const [theirs, used] of negotiation) {
    it(`uses /v${used} when the daemon says ${theirs}`, async () => {
      const { daemon, client } = await start({
        ...(theirs ? { apiVersion: theirs } : {}),
        routes: { 'GET /containers/json': (_req, res) => sendJson(res, 200, []) },
      });
      await client.containers.list();
      await client.containers.list();
      client.close();
      assert.deepEqual(
        daemon.requests.map((r) => `${r.version ?? '-'} ${r.path}`),
        ['- /_ping', `${used} /containers/json`, `${used} /containers/json`],
      );
    });
  }

  const statuses: [number, new (m: string) => BerthError][] = [
    [400, InvalidArgumentError],
    [403, ForbiddenError],
    [404, NotFoundError],
    [409, ConflictError],
    [500, BerthError],
  ];
  for (const [status, kind] of statuses) {
    it(`maps ${status} to ${kind.name} with the daemon's message`, async () => {
      const { client } = await start({
        routes: {
          'DELETE /containers/x': (_req, res) => sendJson(res, status, { message: `said ${status}` }),
        },
      });
      await assert.rejects(client.containers.remove('x'), (e: unknown) => {
        assert.ok(e instanceof kind);
        assert.equal((e as Error).message, `said ${status}`);
        return true;
      });
      client.close();
    });
  }

  it('treats 304 from start and stop as done', async () => {
    const notModified = (_req: unknown, res: import('node:http').ServerResponse) => {
      res.writeHead(304);
      res.end();
    };
    const { client } = await start({
      routes: { 'POST /containers/x/start': notModified, 'POST /containers/x/stop': notModified },
    });
    await client.containers.start('x');
    await client.containers.stop('x', { timeoutSeconds: 1 });
    client.close();
  });

  it('sends filters as JSON and list options as docker does', async () => {
    const { daemon, client } = await start({
      routes: { 'GET /containers/json': (_req, res) => sendJson(res, 200, []) },
    });
    await client.containers.list({
      all: true,
      limit: 2,
      size: true,
      filters: { status: ['exited'], label: ['a=b'] },
    });
    client.close();
    const q = daemon.requests.at(-1)!.query;
    assert.equal(q.get('all'), '1');
    assert.equal(q.get('limit'), '2');
    assert.equal(q.get('size'), '1');
    assert.deepEqual(JSON.parse(q.get('filters')!), { status: ['exited'], label: ['a=b'] });
  });

  it('reports a missing socket as a connection error', async () => {
    const client = createClient({ host: 'unix:///nonexistent/berth.sock' });
    await assert.rejects(client.version(), (e: unknown) => {
      assert.ok(e instanceof DaemonConnectionError);
      assert.match(
        (e as Error).message,
        /Cannot connect to the berth daemon at unix:\/\/\/nonexistent\/berth.sock/,
      );
      return true;
    });
  });

  it('streams events and load messages', async () => {
    const { daemon, client } = await start({
      routes: {
        'GET /events': (_req, res) => {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.write('{"Type":"container","Action":"start","Actor":{"ID":"a","Attributes":{}}}\n');
          res.end('{"Type":"container","Action":"die","Actor":{"ID":"a","Attributes":{}}}\n');
        },
        'POST /images/load': (req, res) => {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(`{"stream":"Loaded image: ${req.body.toString()}\\n"}\n`);
        },
      },
    });
    const actions: string[] = [];
    for await (const e of client.events({ filters: { type: ['container'] } })) actions.push(e.Action);
    assert.deepEqual(actions, ['start', 'die']);
    const messages = [];
    for await (const m of await client.images.load(Readable.from([Buffer.from('tarbytes')])))
      messages.push(m);
    assert.deepEqual(messages, [{ stream: 'Loaded image: tarbytes\n' }]);
    const load = daemon.requests.find((r) => r.path === '/images/load')!;
    assert.equal(load.headers['content-type'], 'application/x-tar');
    client.close();
  });

  it('attaches through an upgrade and reads frames', async () => {
    const { daemon, client } = await start({
      routes: {},
      upgrades: {
        'POST /containers/c1/attach': (_req, socket) => {
          socket.write(
            `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${MULTIPLEXED_STREAM_MEDIA_TYPE}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`,
          );
          socket.end(
            Buffer.concat([
              encodeFrame(StreamKind.Stdout, Buffer.from('out')),
              encodeFrame(StreamKind.Stderr, Buffer.from('err')),
            ]),
          );
        },
      },
    });
    const attached = await client.containers.attach('c1');
    assert.equal(attached.isMultiplexed, true);
    const chunks: Buffer[] = [];
    for await (const chunk of attached.stream) chunks.push(chunk as Buffer);
    assert.equal(Buffer.concat(chunks).length, 8 + 3 + 8 + 3);
    const q = daemon.requests.at(-1)!;
    assert.equal(q.headers.upgrade, 'tcp');
    assert.equal(q.query.get('stream'), '1');
    assert.equal(q.query.get('stdin'), null);
    client.close();
  });
});
