import { watch } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { NotFoundError } from '../../api/index.js';
import type { LogLine, ReadLogOptions } from './types.js';

/** One record of conmon's k8s-file log: `TIME STREAM TAG CONTENT`, TAG `F` (full) or `P` (partial). */
export interface LogRecord {
  time: string;
  /** `time` as seconds since the epoch, for since/until. */
  seconds: number;
  stream: 'stdout' | 'stderr';
  isPartial: boolean;
  content: Buffer;
}

const SPACE = 0x20;
const NEWLINE = 0x0a;
const READ_CHUNK_BYTES = 64 * 1024;
/** fs.watch can miss events (e.g. on some overlay setups); re-check this often regardless. */
const FOLLOW_RECHECK_MS = 1000;

const WHOLE_TIME_WITH_ZONE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/;
const FRACTION = /^\.\d+$/;
/** conmon writes many lines a second: their whole seconds are parsed once (Date.parse is slow). */
let lastWholeTime = '';
let lastWholeSeconds = Number.NaN;

/** Parses RFC 3339 with up to nanosecond fractions, which Date.parse would round or reject. */
export function parseTimeSeconds(time: string): number {
  const zoneStart = time.endsWith('Z') ? time.length - 1 : time.length - 6;
  if (zoneStart < 19) return Number.NaN;
  const fraction = time.slice(19, zoneStart);
  if (fraction !== '' && !FRACTION.test(fraction)) return Number.NaN;
  const whole = time.slice(0, 19) + time.slice(zoneStart);
  if (whole !== lastWholeTime) {
    lastWholeTime = whole;
    lastWholeSeconds = WHOLE_TIME_WITH_ZONE.test(whole) ? Date.parse(whole) / 1000 : Number.NaN;
  }
  return fraction === '' ? lastWholeSeconds : lastWholeSeconds + Number(`0${fraction}`);
}

/** undefined for a line that is not a k8s-file record. */
export function parseLogRecord(line: Buffer): LogRecord | undefined {
  const afterTime = line.indexOf(SPACE);
  const afterStream = line.indexOf(SPACE, afterTime + 1);
  if (afterTime < 0 || afterStream < 0) return undefined;
  const tagEnd = line.indexOf(SPACE, afterStream + 1);
  const time = line.subarray(0, afterTime).toString();
  const stream = line.subarray(afterTime + 1, afterStream).toString();
  const tags = line.subarray(afterStream + 1, tagEnd < 0 ? line.length : tagEnd).toString();
  const seconds = parseTimeSeconds(time);
  if ((stream !== 'stdout' && stream !== 'stderr') || Number.isNaN(seconds)) return undefined;
  return {
    time,
    seconds,
    stream,
    // Tags are colon-separated; the first says whether the line goes on.
    isPartial: tags === 'P' || tags.startsWith('P:'),
    content: tagEnd < 0 ? Buffer.alloc(0) : line.subarray(tagEnd + 1),
  };
}

let lastDockerSeconds = Number.NaN;
let lastDockerWhole = '';

/** Docker's timestamps: RFC 3339 in UTC with `Z` and the nanoseconds, trailing zeros cut. */
export function toDockerTime(time: string, seconds: number): string {
  const fraction = /\.(\d+)/.exec(time)?.[1]?.replace(/0+$/, '') ?? '';
  const wholeSeconds = Math.floor(seconds);
  if (wholeSeconds !== lastDockerSeconds) {
    lastDockerSeconds = wholeSeconds;
    lastDockerWhole = new Date(wholeSeconds * 1000).toISOString().slice(0, 19);
  }
  return `${lastDockerWhole}${fraction ? `.${fraction}` : ''}Z`;
}

/** A line as readers get it; its Docker time is worked out only for those who ask (`--timestamps`). */
class ReadLine implements LogLine {
  constructor(
    private readonly record: LogRecord,
    readonly content: Buffer,
  ) {}

  get stream(): 'stdout' | 'stderr' {
    return this.record.stream;
  }

  get time(): string {
    return toDockerTime(this.record.time, this.record.seconds);
  }
}

/** `record` read from `line`, the file's bytes with their newline: a full line's content keeps it. */
function toLogLine(record: LogRecord, line: Buffer): LogLine {
  return new ReadLine(
    record,
    record.isPartial ? record.content : line.subarray(line.length - record.content.length - 1),
  );
}

/** Cuts bytes into complete lines with their newlines, holding back a last line still being written. */
class LineSplitter {
  private rest: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    // Always a copy: the caller reuses its read buffer, and lines outlive the next read.
    const data = Buffer.concat([this.rest, chunk]);
    const lines: Buffer[] = [];
    let start = 0;
    for (let end = data.indexOf(NEWLINE); end >= 0; end = data.indexOf(NEWLINE, start)) {
      lines.push(data.subarray(start, end + 1));
      start = end + 1;
    }
    this.rest = data.subarray(start);
    return lines;
  }
}

/** Keeps the last `count` lines, a line being the partial pieces up to and including its full record. */
class TailBuffer {
  private readonly complete: LogLine[][] = [];
  private open: LogLine[] = [];

  constructor(private readonly count: number) {}

  push(record: LogRecord, line: LogLine): void {
    this.open.push(line);
    if (record.isPartial) return;
    this.complete.push(this.open);
    this.open = [];
    if (this.complete.length > this.count) this.complete.shift();
  }

  lines(): LogLine[] {
    return this.count === 0 ? [] : [...this.complete.flat(), ...this.open];
  }
}

/** Resolves on the next change of the file, after `ms`, or when one of `signals` aborts. */
export function changeWaiter(path: string, signals: (AbortSignal | undefined)[]) {
  const wakers = signals.filter((s): s is AbortSignal => s !== undefined);
  let wake: (() => void) | undefined;
  // A change seen while nobody waits must still cut the next wait short.
  let hasChanged = false;
  const watcher = watch(path, () => {
    hasChanged = true;
    wake?.();
  });
  return {
    wait(ms: number): Promise<void> {
      return new Promise((resolve) => {
        // An abort that came while the caller was reading fires no event for a listener added now.
        if (hasChanged || wakers.some((s) => s.aborted)) {
          hasChanged = false;
          resolve();
          return;
        }
        const done = () => {
          clearTimeout(timer);
          for (const s of wakers) s.removeEventListener('abort', done);
          wake = undefined;
          hasChanged = false;
          resolve();
        };
        const timer = setTimeout(done, ms);
        for (const s of wakers) s.addEventListener('abort', done, { once: true });
        wake = done;
      });
    },
    close: () => watcher.close(),
  };
}

async function openLog(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new NotFoundError(`no log file: ${path}`, { cause: e });
    throw e;
  }
}

/**
 * Reads a conmon k8s-file log: each partial piece as it is, each full line with its
 * newline; `tail` counts full lines. With `follow`, keeps reading what is appended until
 * `signal` aborts, or drains what is left once `done` aborts (the writer has finished).
 */
export async function* readLog(path: string, opts: ReadLogOptions = {}): AsyncIterable<LogLine> {
  const handle = await openLog(path);
  const splitter = new LineSplitter();
  const buffer = Buffer.alloc(READ_CHUNK_BYTES);
  let offset = 0;
  let isPastUntil = false;

  /**
   * The records of the next chunk appended since the last call, each with its line;
   * undefined at the current end. A whole chunk is parsed at once: yielding per record
   * from here too would double the per-line cost of the generator.
   */
  async function nextChunk(): Promise<[LogRecord, Buffer][] | undefined> {
    if (isPastUntil) return undefined;
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
    if (bytesRead === 0) return undefined;
    offset += bytesRead;
    const records: [LogRecord, Buffer][] = [];
    for (const line of splitter.push(buffer.subarray(0, bytesRead))) {
      const record = parseLogRecord(line.subarray(0, line.length - 1));
      if (!record) continue;
      if (opts.sinceSeconds !== undefined && record.seconds < opts.sinceSeconds) continue;
      if (opts.untilSeconds !== undefined && record.seconds > opts.untilSeconds) {
        // conmon appends in time order: nothing later can qualify.
        isPastUntil = true;
        break;
      }
      records.push([record, line]);
    }
    return records;
  }

  async function rewindIfTruncated(): Promise<void> {
    if ((await handle.stat()).size < offset) offset = 0;
  }

  let waiter: ReturnType<typeof changeWaiter> | undefined;
  try {
    if (opts.tail === undefined) {
      for (let chunk = await nextChunk(); chunk; chunk = await nextChunk()) {
        for (const [record, line] of chunk) yield toLogLine(record, line);
      }
    } else {
      const tail = new TailBuffer(Math.max(0, opts.tail));
      for (let chunk = await nextChunk(); chunk; chunk = await nextChunk()) {
        for (const [record, line] of chunk) tail.push(record, toLogLine(record, line));
      }
      yield* tail.lines();
    }
    if (!opts.follow || isPastUntil) return;
    waiter = changeWaiter(path, [opts.signal, opts.done]);
    for (;;) {
      if (opts.signal?.aborted) return;
      // Ask before draining, so whatever was written before "done" is still read.
      const isDone = opts.done?.aborted ?? false;
      await rewindIfTruncated();
      for (let chunk = await nextChunk(); chunk; chunk = await nextChunk()) {
        for (const [record, line] of chunk) yield toLogLine(record, line);
      }
      if (isDone || isPastUntil) return;
      await waiter.wait(FOLLOW_RECHECK_MS);
    }
  } finally {
    waiter?.close();
    await handle.close();
  }
}
