import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { changeWaiter, parseLogRecord, parseTimeSeconds, readLog, toDockerTime } from './log.js';
import type { ReadLogOptions } from './types.js';

const T = (second: number) => `2024-05-01T10:00:${String(second).padStart(2, '0')}.123456789+00:00`;
const SAMPLE = [
  `${T(1)} stdout F first`,
  `${T(2)} stderr F oops`,
  `${T(3)} stdout P par`,
  `${T(3)} stdout P t`,
  `${T(4)} stdout F ial`,
  `${T(5)} stdout F `,
  `${T(6)} stdout F last`,
  // conmon is mid-write: no newline yet.
  `${T(7)} stdout F half`,
].join('\n');

let dir: string;
let path: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-log-'));
  path = join(dir, 'ctr.log');
  await writeFile(path, SAMPLE);
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function collect(file: string, opts: ReadLogOptions): Promise<string[]> {
  const out: string[] = [];
  for await (const line of readLog(file, opts)) out.push(`${line.stream}:${line.content.toString()}`);
  return out;
}

test('parseTimeSeconds keeps nanoseconds and offsets', () => {
  assert.equal(parseTimeSeconds('1970-01-01T00:00:01.5+00:00'), 1.5);
  assert.equal(parseTimeSeconds('1970-01-01T01:00:00+01:00'), 0);
  assert.equal(parseTimeSeconds('1970-01-01T00:00:02Z'), 2);
  assert.ok(Number.isNaN(parseTimeSeconds('yesterday')));
});

test('toDockerTime gives UTC with Z and trims trailing zeros, as Docker prints', () => {
  const cases: [string, string][] = [
    ['2024-05-01T10:00:01.123456789+00:00', '2024-05-01T10:00:01.123456789Z'],
    ['2024-05-01T12:00:01.500000000+02:00', '2024-05-01T10:00:01.5Z'],
    ['2024-05-01T10:00:01+00:00', '2024-05-01T10:00:01Z'],
  ];
  for (const [conmon, docker] of cases) assert.equal(toDockerTime(conmon, parseTimeSeconds(conmon)), docker);
});

test('parseLogRecord', () => {
  assert.deepEqual(parseLogRecord(Buffer.from(`${T(1)} stderr P a b  c`)), {
    time: T(1),
    seconds: parseTimeSeconds(T(1)),
    stream: 'stderr',
    isPartial: true,
    content: Buffer.from('a b  c'),
  });
  assert.equal(parseLogRecord(Buffer.from('garbage')), undefined);
  assert.equal(parseLogRecord(Buffer.from(`${T(1)} stdin F x`)), undefined);
});

test('readLog: partial pieces as-is, full lines with newline, a half-written line held back', async () => {
  assert.deepEqual(await collect(path, {}), [
    'stdout:first\n',
    'stderr:oops\n',
    'stdout:par',
    'stdout:t',
    'stdout:ial\n',
    'stdout:\n',
    'stdout:last\n',
  ]);
});

test('readLog tail counts full lines', async () => {
  const cases: [number, string[]][] = [
    [0, []],
    [1, ['stdout:last\n']],
    [3, ['stdout:par', 'stdout:t', 'stdout:ial\n', 'stdout:\n', 'stdout:last\n']],
    [100, await collect(path, {})],
  ];
  for (const [tail, expected] of cases)
    assert.deepEqual(await collect(path, { tail }), expected, `tail ${tail}`);
});

test('readLog since and until', async () => {
  const since = parseTimeSeconds(T(4));
  assert.deepEqual(await collect(path, { sinceSeconds: since }), [
    'stdout:ial\n',
    'stdout:\n',
    'stdout:last\n',
  ]);
  assert.deepEqual(await collect(path, { untilSeconds: parseTimeSeconds(T(2)) }), [
    'stdout:first\n',
    'stderr:oops\n',
  ]);
  assert.deepEqual(await collect(path, { sinceSeconds: since, tail: 1 }), ['stdout:last\n']);
});

test('readLog follow reads appended bytes until done, then drains', async () => {
  const file = join(dir, 'follow.log');
  await writeFile(file, `${T(0)} stdout F zero\n${T(1)} stdout F one\n${T(2)} stdout P tw`);
  const done = new AbortController();
  const seen: string[] = [];
  for await (const line of readLog(file, { follow: true, tail: 1, done: done.signal })) {
    seen.push(line.content.toString());
    // Completes the half-written record; only a wake-up from the watcher brings it.
    if (seen.length === 1) await appendFile(file, 'o\n');
    if (seen.length === 2) {
      // Written before "done": must still come out.
      await appendFile(file, `${T(3)} stdout F three\n`);
      done.abort();
    }
  }
  assert.deepEqual(seen, ['one\n', 'two', 'three\n']);
});

test('readLog follow stops when aborted', async () => {
  const file = join(dir, 'abort.log');
  await writeFile(file, `${T(1)} stdout F one\n`);
  const controller = new AbortController();
  const seen: string[] = [];
  const started = Date.now();
  for await (const line of readLog(file, { follow: true, signal: controller.signal })) {
    seen.push(line.content.toString());
    setTimeout(() => controller.abort(), 50);
  }
  assert.deepEqual(seen, ['one\n']);
  assert.ok(Date.now() - started < 900, 'abort ends the wait at once');
});

test("a follower's wait returns at once for a signal that aborted before it began", {
  timeout: 5000,
}, async (t) => {
  // No timer ever fires: only the aborted signal can end the wait. readLog reaches this
  // when its done signal aborts while it is reading, after it last looked at the signal.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const done = new AbortController();
  done.abort();
  const waiter = changeWaiter(path, [done.signal]);
  try {
    await waiter.wait(1000);
  } finally {
    waiter.close();
  }
});

test('readLog of a missing file is NotFoundError', async () => {
  await assert.rejects(collect(join(dir, 'missing.log'), {}), { name: 'NotFoundError' });
});

test('readLog across many read chunks keeps every byte', async () => {
  const file = join(dir, 'big.log');
  const lines: string[] = [];
  let expected = '';
  for (let i = 0; i < 5000; i++) {
    lines.push(`${T(i % 60)} stdout P piece-${i}-`, `${T(i % 60)} stdout F end-${i}`);
    expected += `piece-${i}-end-${i}\n`;
  }
  await writeFile(file, `${lines.join('\n')}\n`);
  assert.equal((await collect(file, {})).map((l) => l.slice('stdout:'.length)).join(''), expected);
  assert.deepEqual(await collect(file, { tail: 2 }), [
    'stdout:piece-4998-',
    'stdout:end-4998\n',
    'stdout:piece-4999-',
    'stdout:end-4999\n',
  ]);
});
