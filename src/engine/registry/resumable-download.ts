import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { BerthError, InvalidArgumentError, UnavailableError } from '../../api/index.js';
import type { PartialBlobs } from './partial-blobs.js';

/** dockerd's download attempts per layer. */
export const DOWNLOAD_ATTEMPTS = 5;

export interface ResumableDownload {
  digest: string;
  /** The size the manifest announces: more than this is refused. */
  size: number;
  partial: PartialBlobs;
  /**
   * GETs the blob, with `Range: bytes=<offset>-` when offset is not 0. The answer is
   * 200, 206 or (for a range) 416; any other is thrown by the caller as its error kind.
   */
  request(offset: number): Promise<Response>;
  /** Streams the whole blob into the content store, which checks it against the digest. */
  store(source: Readable): Promise<void>;
  /** A fresh byte count for each attempt, starting at what is already here. */
  onAttempt(offset: number): { add(bytes: number): void; finish(): void };
  /** Called once a second while waiting to retry, with the seconds left. */
  onRetryWait(seconds: number): void;
  signal?: AbortSignal;
  attempts?: number;
  /** Seconds before retry number `attempt` (1-based); attempt seconds by default. */
  retryDelaySeconds?: (attempt: number) => number;
}

/**
 * Downloads one blob, resuming where an earlier attempt broke off. What arrives is kept
 * in the partial file before it is passed on, so a broken connection leaves every byte
 * received; the next attempt (here, after a wait, or in a later pull) streams the
 * partial file followed by the rest the registry sends for `Range: bytes=N-`. The store
 * hashes that whole stream, so the digest covers the kept prefix too. A registry that
 * ignores the range (200) or refuses it (416), or a whole that does not match, starts
 * the download over from byte 0.
 */
export async function downloadResumable(d: ResumableDownload): Promise<void> {
  const attempts = d.attempts ?? DOWNLOAD_ATTEMPTS;
  for (let attempt = 1; ; attempt++) {
    let offset = await d.partial.sizeOf(d.digest);
    if (offset > d.size) {
      await d.partial.remove(d.digest);
      offset = 0;
    }
    try {
      await downloadOnce(d, offset);
      await d.partial.remove(d.digest);
      return;
    } catch (e) {
      if (d.signal?.aborted) throw e;
      const isBadContent = e instanceof InvalidArgumentError;
      // A whole that does not match may be a stale prefix: drop it, and try from 0 once more.
      if (isBadContent) await d.partial.remove(d.digest);
      const isWorthRetrying = isBadContent ? offset > 0 : isTransportFailure(e);
      if (!isWorthRetrying || attempt >= attempts) throw e;
      if (!isBadContent) await waitToRetry(d, attempt);
    }
  }
}

async function downloadOnce(d: ResumableDownload, offset: number): Promise<void> {
  let res = await d.request(offset);
  if (offset > 0 && res.status === 200) {
    // The registry ignored the range and sends the whole blob: take it from byte 0.
    offset = 0;
  } else if (offset > 0 && !startsAt(res, offset)) {
    // A 416, or a range from another byte: ask again for all of it.
    await res.body?.cancel();
    await d.partial.remove(d.digest);
    offset = 0;
    res = await d.request(0);
  }
  if (!res.body) throw new UnavailableError(`blob ${d.digest}: empty response`);
  const counter = d.onAttempt(offset);
  const source = Readable.from(keptBytes(d, offset, res.body, counter), { objectMode: false });
  await d.store(source);
  counter.finish();
}

/** Whether the answer continues at `offset`: a 206 whose Content-Range starts there. */
function startsAt(res: Response, offset: number): boolean {
  if (res.status !== 206) return false;
  const match = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
  return match !== null && Number(match[1]) === offset;
}

/** The kept prefix, then each received chunk, written to the partial file before it goes on. */
async function* keptBytes(
  d: ResumableDownload,
  offset: number,
  body: ReadableStream<Uint8Array>,
  counter: { add(bytes: number): void },
): AsyncGenerator<Buffer> {
  const path = d.partial.pathOf(d.digest);
  if (offset > 0) {
    for await (const chunk of createReadStream(path, { start: 0, end: offset - 1 })) yield chunk as Buffer;
  }
  const file = await open(path, offset > 0 ? 'r+' : 'w', 0o600);
  try {
    await file.truncate(offset);
    let position = offset;
    counter.add(offset);
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      // A registry sending more than the manifest says is not to be trusted further.
      if (position + chunk.length > d.size) {
        throw new InvalidArgumentError(`blob ${d.digest}: more than the ${d.size} bytes announced`);
      }
      await file.write(chunk, 0, chunk.length, position);
      position += chunk.length;
      counter.add(chunk.length);
      yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    }
  } finally {
    await file.close();
  }
}

async function waitToRetry(d: ResumableDownload, attempt: number): Promise<void> {
  const seconds = d.retryDelaySeconds?.(attempt) ?? attempt;
  for (let left = seconds; left > 0; left--) {
    d.onRetryWait(left);
    await delay(1000, undefined, d.signal ? { signal: d.signal } : {});
  }
}

const TRANSPORT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/**
 * Whether `e` is the connection failing (reset, closed early, refused, a 5xx), which a
 * new attempt may get past, rather than an answer that would come again the same.
 */
export function isTransportFailure(e: unknown): boolean {
  for (let cause = e, depth = 0; cause instanceof Error && depth < 5; depth++) {
    if (cause instanceof UnavailableError) return true;
    if (cause instanceof BerthError) return false;
    const code = (cause as NodeJS.ErrnoException).code ?? '';
    // undici's own failures: a socket closed mid-body surfaces as `TypeError: terminated`.
    if (TRANSPORT_CODES.has(code) || code.startsWith('UND_ERR') || cause.message === 'terminated')
      return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}
