import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { InvalidArgumentError } from '../../api/index.js';
import { sha256Of } from './digest.js';
import { parseMirror } from './mirror.js';
import { PartialBlobs } from './partial-blobs.js';
import { chunksOf } from './push.js';
import { downloadResumable, isTransportFailure, type ResumableDownload } from './resumable-download.js';

const BLOB = randomBytes(256 * 1024);
const DIGEST = sha256Of(BLOB);

/** A body that sends `bytes`, then breaks as a reset connection does. */
function brokenBody(bytes: Buffer): ReadableStream<Uint8Array> {
  let isSent = false;
  return new ReadableStream({
    pull(controller) {
      if (!isSent) {
        isSent = true;
        controller.enqueue(new Uint8Array(bytes));
        return;
      }
      const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      controller.error(new TypeError('terminated', { cause: reset }));
    },
  });
}

function ranged(offset: number, start = offset): Response {
  return new Response(new Uint8Array(BLOB.subarray(start)), {
    status: 206,
    headers: { 'Content-Range': `bytes ${start}-${BLOB.length - 1}/${BLOB.length}` },
  });
}

interface Run {
  offsets: number[];
  stored: Buffer[];
  waits: number[];
}

/** A download whose registry answers attempt i with `answers[i]`, stored as the content store would. */
function download(
  partial: PartialBlobs,
  answers: ((offset: number) => Response)[],
): [ResumableDownload, Run] {
  const run: Run = { offsets: [], stored: [], waits: [] };
  const d: ResumableDownload = {
    digest: DIGEST,
    size: BLOB.length,
    partial,
    request: async (offset) => {
      const answer = answers[run.offsets.length];
      run.offsets.push(offset);
      if (!answer) throw new Error('no more answers');
      return answer(offset);
    },
    store: async (source: Readable) => {
      const chunks: Buffer[] = [];
      for await (const c of source) chunks.push(c as Buffer);
      const whole = Buffer.concat(chunks);
      if (sha256Of(whole) !== DIGEST) throw new InvalidArgumentError('digest mismatch');
      run.stored.push(whole);
    },
    onAttempt: () => ({ add: () => undefined, finish: () => undefined }),
    onRetryWait: (s) => run.waits.push(s),
    retryDelaySeconds: () => 0,
  };
  return [d, run];
}

describe('downloadResumable', () => {
  let dir = '';
  let partial: PartialBlobs;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-partial-'));
    partial = await PartialBlobs.open(dir);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a broken body is resumed with a range in the next attempt', async () => {
    const half = BLOB.length / 2;
    const [d, run] = download(partial, [() => new Response(brokenBody(BLOB.subarray(0, half))), ranged]);
    await downloadResumable(d);
    assert.deepEqual(run.offsets, [0, half]);
    assert.equal(run.stored.length, 1);
    assert.equal(await partial.sizeOf(DIGEST), 0, 'partial removed once stored');
  });

  test('a partial from an earlier pull is continued; a 200 answer starts over', async () => {
    await writeFile(partial.pathOf(DIGEST), BLOB.subarray(0, 1000));
    const [d, run] = download(partial, [() => new Response(new Uint8Array(BLOB))]);
    await downloadResumable(d);
    assert.deepEqual(run.offsets, [1000]);
    assert.equal(run.stored.length, 1);
  });

  test('a range answered from another byte, or 416, starts over from 0', async () => {
    for (const answer of [(o: number) => ranged(o, 0), () => new Response(null, { status: 416 })]) {
      await writeFile(partial.pathOf(DIGEST), BLOB.subarray(0, 1000));
      const [d, run] = download(partial, [answer, ranged]);
      await downloadResumable(d);
      assert.deepEqual(run.offsets, [1000, 0]);
    }
  });

  test('a corrupt kept prefix is dropped and the blob fetched whole', async () => {
    await writeFile(partial.pathOf(DIGEST), randomBytes(1000));
    const [d, run] = download(partial, [ranged, ranged]);
    await downloadResumable(d);
    assert.deepEqual(run.offsets, [1000, 0]);
    assert.equal(run.stored.length, 1);
  });

  test('more bytes than announced: an error, and nothing kept', async () => {
    const [d, run] = download(partial, [() => new Response(new Uint8Array(Buffer.concat([BLOB, BLOB])))]);
    await assert.rejects(downloadResumable(d), /more than the 262144 bytes announced/);
    assert.deepEqual(run.offsets, [0]);
    assert.equal(await partial.sizeOf(DIGEST), 0);
  });

  test('gives up after its attempts, keeping what arrived', async () => {
    const broken = (offset: number) =>
      new Response(brokenBody(BLOB.subarray(offset, offset + 10)), {
        status: offset > 0 ? 206 : 200,
        headers: offset > 0 ? { 'Content-Range': `bytes ${offset}-${BLOB.length - 1}/${BLOB.length}` } : {},
      });
    const [d, run] = download(partial, [broken, broken, broken]);
    d.attempts = 3;
    await assert.rejects(downloadResumable(d), /terminated/);
    assert.deepEqual(run.offsets, [0, 10, 20]);
    assert.equal(run.waits.length, 0, 'no waits with a zero delay');
    assert.deepEqual(await readFile(partial.pathOf(DIGEST)), BLOB.subarray(0, 30));
    await partial.remove(DIGEST);
  });
});

describe('isTransportFailure', () => {
  const cases: [string, unknown, boolean][] = [
    ['undici terminated', new TypeError('terminated'), true],
    ['reset', Object.assign(new Error('x'), { code: 'ECONNRESET' }), true],
    [
      'wrapped socket error',
      new Error('x', { cause: Object.assign(new Error('y'), { code: 'UND_ERR_SOCKET' }) }),
      true,
    ],
    ['bad content', new InvalidArgumentError('digest mismatch'), false],
    ['a plain bug', new TypeError('x is undefined'), false],
  ];
  for (const [name, error, expected] of cases)
    test(name, () => assert.equal(isTransportFailure(error), expected));
});

describe('chunksOf', () => {
  const cases: [string, number[], number, number[]][] = [
    ['exact multiple', [4, 4], 4, [4, 4]],
    ['small pieces gathered', [1, 1, 1, 1, 1], 2, [2, 2, 1]],
    ['one big piece cut', [10], 3, [3, 3, 3, 1]],
    ['empty', [], 3, []],
  ];
  for (const [name, pieces, size, expected] of cases) {
    test(name, async () => {
      const data = pieces.map((n) => randomBytes(n));
      const out: Buffer[] = [];
      for await (const c of chunksOf(Readable.from(data), size)) out.push(c);
      assert.deepEqual(
        out.map((c) => c.length),
        expected,
      );
      assert.deepEqual(Buffer.concat(out), Buffer.concat(data));
    });
  }
});

describe('parseMirror', () => {
  const cases: [string, string | { host: string; isPlainHttp: boolean }][] = [
    ['https://mirror.example', { host: 'mirror.example', isPlainHttp: false }],
    ['http://127.0.0.1:5000/', { host: '127.0.0.1:5000', isPlainHttp: true }],
    ['mirror.example', 'invalid mirror: unsupported scheme "" in "mirror.example"'],
    ['ftp://m.example', 'invalid mirror: unsupported scheme "ftp" in "ftp://m.example"'],
    ['https://u:p@m.example', 'invalid mirror: username/password not allowed in URI "https://u:p@m.example"'],
    [
      'https://m.example/v2',
      'invalid mirror: path, query, or fragment at end of the URI "https://m.example/v2"',
    ],
    ['http://[::1', 'invalid mirror: "http://[::1" is not a valid URI'],
  ];
  for (const [text, expected] of cases) {
    test(text, () => {
      if (typeof expected === 'string') assert.throws(() => parseMirror(text), { message: expected });
      else assert.deepEqual(parseMirror(text), expected);
    });
  }
});
