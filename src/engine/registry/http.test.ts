import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { httpFetch } from './http.js';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  /** The request's Content-Length and Transfer-Encoding, as sent. */
  framing: string;
  body: string;
}

/** A loopback server that records what it was sent and answers from `routes`. */
async function recordingServer(
  routes: Record<string, (res: ServerResponse, req: IncomingMessage) => void>,
): Promise<{ server: Server; origin: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
        framing: `${req.headers['content-length'] ?? '-'} ${req.headers['transfer-encoding'] ?? '-'}`,
        body: Buffer.concat(chunks).toString(),
      });
      const route = routes[req.url ?? ''];
      if (route) route(res, req);
      else res.end(`echo ${req.method} ${req.url}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

let a: Awaited<ReturnType<typeof recordingServer>>;
let b: Awaited<ReturnType<typeof recordingServer>>;

before(async () => {
  b = await recordingServer({});
  a = await recordingServer({
    '/elsewhere': (res) => res.writeHead(307, { Location: `${b.origin}/target` }).end(),
    '/here': (res) => res.writeHead(302, { Location: '/target' }).end(),
    '/see-other': (res) => res.writeHead(303, { Location: '/target' }).end(),
    '/empty': (res) => res.writeHead(204).end(),
    // Headers and a first chunk, then nothing: a transfer that stalls.
    '/stalls': (res) => res.writeHead(200).write('first'),
  });
});
after(async () => {
  for (const s of [a, b]) {
    s.server.closeAllConnections();
    await new Promise<void>((resolve) => s.server.close(() => resolve()));
  }
});

describe('httpFetch', () => {
  test('a body streams both ways and the status and headers come back', async () => {
    const res = await httpFetch(`${a.origin}/put`, {
      method: 'PUT',
      headers: { 'Content-Type': 'text/plain' },
      body: Readable.from([Buffer.from('hello '), Buffer.from('world')]),
    });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'echo PUT /put');
    assert.equal(a.seen.at(-1)?.body, 'hello world');
  });

  test('a stream with a Content-Length is sent with it, not chunked', async () => {
    const res = await httpFetch(`${a.origin}/put`, {
      method: 'PUT',
      headers: { 'Content-Length': '11' },
      body: Readable.from([Buffer.from('hello '), Buffer.from('world')]),
    });
    await res.body?.cancel();
    assert.equal(a.seen.at(-1)?.framing, '11 -');
  });

  test('a redirect after a streamed body is left to the caller', async () => {
    const res = await httpFetch(`${a.origin}/elsewhere`, {
      method: 'PUT',
      headers: {},
      body: Readable.from([Buffer.from('blob')]),
    });
    assert.equal(res.status, 307);
    assert.equal(res.headers.get('location'), `${b.origin}/target`);
    await res.body?.cancel();
  });

  test('a redirect to another origin keeps a 307 PUT and drops Authorization', async () => {
    const res = await httpFetch(`${a.origin}/elsewhere`, {
      method: 'PUT',
      headers: { Authorization: 'Bearer secret' },
      body: Buffer.from('blob'),
    });
    assert.equal(await res.text(), 'echo PUT /target');
    assert.deepEqual(b.seen.at(-1), {
      method: 'PUT',
      url: '/target',
      authorization: undefined,
      framing: '4 -',
      body: 'blob',
    });
  });

  test('a redirect on the same origin keeps Authorization', async () => {
    const res = await httpFetch(`${a.origin}/here`, {
      method: 'GET',
      headers: { Authorization: 'Bearer t' },
    });
    assert.equal(await res.text(), 'echo GET /target');
    assert.equal(a.seen.at(-1)?.authorization, 'Bearer t');
  });

  test('303 after a POST becomes a GET without body', async () => {
    const res = await httpFetch(`${a.origin}/see-other`, {
      method: 'POST',
      headers: {},
      body: Buffer.from('x'),
    });
    assert.equal(await res.text(), 'echo GET /target');
    assert.equal(a.seen.at(-1)?.body, '');
  });

  test('HEAD and 204 have no body', async () => {
    const head = await httpFetch(`${a.origin}/x`, { method: 'HEAD', headers: {} });
    assert.equal(head.body, null);
    const empty = await httpFetch(`${a.origin}/empty`, { method: 'GET', headers: {} });
    assert.equal(empty.status, 204);
    assert.equal(empty.body, null);
  });

  test('an abort ends a transfer under way', async () => {
    const abort = new AbortController();
    const res = await httpFetch(`${a.origin}/stalls`, { method: 'GET', headers: {}, signal: abort.signal });
    const reader = res.body?.getReader();
    assert.ok(reader);
    assert.equal(Buffer.from((await reader.read()).value ?? []).toString(), 'first');
    abort.abort();
    await assert.rejects(reader.read(), { name: 'AbortError' });
  });

  test('a refused connection rejects with its code', async () => {
    const closed = await recordingServer({});
    await new Promise<void>((resolve) => closed.server.close(() => resolve()));
    await assert.rejects(httpFetch(`${closed.origin}/`, { method: 'GET', headers: {} }), {
      code: 'ECONNREFUSED',
    });
  });
});
