import { DEFAULT_DETACH_KEYS, DetachKeyScanner, parseDetachKeys } from '../api/index.js';
import { type AttachedContainer, copyFrames } from '../client/index.js';
import type { CliContext } from './context.js';
import { UsageError } from './errors.js';

type TerminalSize = { height: number; width: number };

interface RawCapable {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

interface SizedOutput {
  isTTY?: boolean;
  rows?: number;
  columns?: number;
  on?(event: 'resize', listener: () => void): unknown;
  off?(event: 'resize', listener: () => void): unknown;
}

export interface InteractiveOptions {
  tty: boolean;
  /** Copy our stdin to the container's. */
  stdin: boolean;
  /** The user's `--detach-keys`, or docker's default. */
  detachKeys?: string | undefined;
  /** Sends our terminal's size (at once and on every change) when the session has a TTY. */
  resize?: (size: TerminalSize) => Promise<void>;
}

/** Our terminal's size, when stdout is a terminal. */
export function terminalSizeOf(ctx: CliContext): TerminalSize | undefined {
  const stdout = ctx.io.stdout as NodeJS.WritableStream & SizedOutput;
  if (!stdout.isTTY || !stdout.rows || !stdout.columns) return undefined;
  return { height: stdout.rows, width: stdout.columns };
}

/** The detach keys' bytes; a string that does not parse is the user's mistake. */
export function detachKeyBytes(keys: string | undefined): Buffer {
  try {
    return parseDetachKeys(keys || DEFAULT_DETACH_KEYS);
  } catch (e) {
    throw new UsageError(`Invalid detach keys (${keys}) provided: ${(e as Error).message}`);
  }
}

/**
 * Runs an attached session until its output ends or the user types the detach keys,
 * with our terminal in raw mode for a TTY, as docker does. Resolves 'detached' or 'ended'.
 */
export async function streamAttached(
  ctx: CliContext,
  attached: AttachedContainer,
  opts: InteractiveOptions,
): Promise<'detached' | 'ended'> {
  const stdin = ctx.io.stdin as NodeJS.ReadableStream & RawCapable;
  const stdout = ctx.io.stdout as NodeJS.WritableStream & SizedOutput;
  const scanner = new DetachKeyScanner(detachKeyBytes(opts.detachKeys));
  const isRaw = opts.tty && opts.stdin && stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  if (isRaw) stdin.setRawMode?.(true);
  let onResize: (() => void) | undefined;
  if (opts.tty && opts.resize && stdout.isTTY) {
    const resize = opts.resize;
    onResize = () => {
      const size = terminalSizeOf(ctx);
      // A lost resize only leaves the old size; docker ignores these failures too.
      if (size) resize(size).catch(() => undefined);
    };
    onResize();
    stdout.on?.('resize', onResize);
  }
  let detach: () => void = () => undefined;
  const detached = new Promise<'detached'>((resolve) => {
    detach = () => resolve('detached');
  });
  const onData = (chunk: Buffer | string) => {
    const { data, isDetached } = scanner.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    if (data.length > 0) attached.input.write(data);
    if (isDetached) detach();
  };
  const onEnd = () => attached.input.end();
  if (opts.stdin) {
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.resume();
  }
  const output = copyFrames(attached.stream, attached.isMultiplexed, ctx.io).then(() => 'ended' as const);
  try {
    return await Promise.race([output, detached]);
  } finally {
    if (opts.stdin) {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.pause();
    }
    if (onResize) stdout.off?.('resize', onResize);
    if (isRaw) stdin.setRawMode?.(false);
    attached.close();
    output.catch(() => undefined); // a detach cuts the output short on purpose
  }
}
