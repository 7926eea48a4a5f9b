import type { Readable } from 'node:stream';
import {
  compareApiVersions,
  DEFAULT_DETACH_KEYS,
  DetachKeyScanner,
  encodeFrame,
  InvalidArgumentError,
  MULTIPLEXED_STREAM_MEDIA_TYPE,
  parseDetachKeys,
  RAW_STREAM_MEDIA_TYPE,
  StreamKind,
} from '../../api/index.js';
import type { LogLine } from '../../engine/index.js';
import { BatchedWriter } from '../batched-writer.js';
import type { RequestContext } from '../context.js';

/** The stdin side of an engine session: what the hijacked connection writes into. */
export interface StdinSink {
  write(data: Buffer): Promise<void>;
  end(): void;
  close(): void;
}

export interface HijackOptions {
  tty: boolean;
  stdout: boolean;
  stderr: boolean;
  /** The output to send; it must end when `signal` aborts. */
  output(signal: AbortSignal): AsyncIterable<LogLine>;
  /** Present when the client attached stdin. */
  stdin?: {
    /** Opens the sink (perhaps once the container starts); undefined when there is none. */
    open(signal: AbortSignal): Promise<StdinSink | undefined>;
    /** The client's end of input closes the process's stdin (Docker's `StdinOnce`/exec without a TTY); otherwise it ends the attach. */
    closeOnEnd: boolean;
    detachKeys: Buffer;
  };
  /** Called with the connection before output flows, for errors a client should read in-stream. */
  onHijacked?(write: (text: string) => void): Promise<void>;
}

/** Docker's detach keys from a query or body; 400 with Docker's message when they do not parse. */
export function detachKeysOf(text: string | null | undefined, label: 'detach' | 'escape'): Buffer {
  const keys = text || DEFAULT_DETACH_KEYS;
  try {
    return parseDetachKeys(keys);
  } catch {
    throw new InvalidArgumentError(`Invalid ${label} keys (${keys}) provided`);
  }
}

/** A terminal size from `h` and `w`, as the resize routes take it. */
export function terminalSizeOf(query: URLSearchParams): { height: number; width: number } {
  const parse = (name: string) => {
    const text = query.get(name) ?? '';
    const n = Number(text);
    if (!/^\d+$/.test(text) || n > 65_535) {
      throw new InvalidArgumentError(`strconv.Atoi: parsing ${JSON.stringify(text)}: invalid syntax`);
    }
    return n;
  };
  return { height: parse('h'), width: parse('w') };
}

/**
 * Serves a container's or exec's stdio over a hijacked connection, as Docker does:
 * raw bytes with a TTY, stdout/stderr frames without; client bytes go to stdin until the
 * detach keys, and the connection ends when the output does.
 */
export async function serveHijacked(ctx: RequestContext, opts: HijackOptions): Promise<void> {
  const isMultiplexedMedia = !opts.tty && compareApiVersions(ctx.apiVersion, '1.42') >= 0;
  const { output: out, input } = ctx.reply.hijack(
    isMultiplexedMedia ? MULTIPLEXED_STREAM_MEDIA_TYPE : RAW_STREAM_MEDIA_TYPE,
  );
  const stop = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  const sendText = (text: string) => {
    const payload = Buffer.from(text);
    out.write(opts.tty ? payload : encodeFrame(StreamKind.Stdout, payload));
  };
  const stdinDone = opts.stdin
    ? pumpStdin(input, opts.stdin, signal, () => stop.abort())
    : ignoreInput(input);
  try {
    await opts.onHijacked?.(sendText);
    const writer = new BatchedWriter(out);
    for await (const line of opts.output(signal)) {
      if (line.stream === 'stdout' ? !opts.stdout : !opts.stderr) continue;
      const kind = line.stream === 'stdout' ? StreamKind.Stdout : StreamKind.Stderr;
      await writer.write(opts.tty ? line.content : encodeFrame(kind, line.content));
    }
    writer.flush();
  } finally {
    stop.abort();
    await stdinDone;
    if (!out.destroyed) out.end();
  }
}

function ignoreInput(input: Readable): Promise<void> {
  input.on('data', () => undefined);
  return Promise.resolve();
}

/**
 * Copies the client's bytes to the sink in order. Bytes that come before the sink is
 * open (a `run -i` sends its input before the container starts) wait for it.
 */
function pumpStdin(
  input: Readable,
  stdin: NonNullable<HijackOptions['stdin']>,
  signal: AbortSignal,
  endAttach: () => void,
): Promise<void> {
  const scanner = new DetachKeyScanner(stdin.detachKeys);
  let chain: Promise<StdinSink | undefined> = stdin.open(signal);
  let isFinished = false;
  const onData = (chunk: Buffer) => {
    if (isFinished) return;
    const { data, isDetached } = scanner.push(chunk);
    if (data.length > 0) {
      chain = chain.then(async (sink) => {
        await sink?.write(data);
        return sink;
      });
    }
    if (isDetached) finish(() => endAttach());
  };
  const onEnd = () => {
    if (isFinished) return;
    if (stdin.closeOnEnd) {
      isFinished = true;
      input.off('data', onData);
      chain = chain.then((sink) => {
        sink?.end();
        return sink;
      });
    } else {
      finish(() => endAttach());
    }
  };
  const finish = (then: () => void) => {
    isFinished = true;
    input.off('data', onData);
    then();
  };
  input.on('data', onData);
  input.on('end', onEnd);
  return new Promise<void>((resolve) => {
    const close = () => {
      isFinished = true;
      input.off('data', onData);
      input.off('end', onEnd);
      // Writes already accepted go first; a failed write or open only ends the stdin side.
      chain
        .then(
          (sink) => sink?.close(),
          () => undefined,
        )
        .finally(resolve);
    };
    if (signal.aborted) close();
    else signal.addEventListener('abort', close, { once: true });
  });
}
