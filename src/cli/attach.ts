import type { WaitCondition } from '../client/index.js';
import { copyFrames } from '../client/index.js';
import type { CliContext } from './context.js';
import { describeError, StatusError } from './errors.js';

export interface AttachOptions {
  tty: boolean;
  interactive: boolean;
  autoRemove: boolean;
  /** How a failed start ends the command: `run` has its own statuses and wording. */
  onStartError(e: unknown): StatusError;
}

/**
 * The foreground half of `run` and `start -a`, in docker's order: attach first so no
 * output is lost, register the wait before starting so a quick exit is not missed,
 * then start. Resolves to the container's exit status.
 */
export async function attachStartAndWait(ctx: CliContext, id: string, opts: AttachOptions): Promise<number> {
  const client = ctx.client();
  const attached = await client.containers.attach(id, { stdin: opts.interactive, tty: opts.tty });
  const condition: WaitCondition = opts.autoRemove ? 'removed' : 'next-exit';
  let pending: Awaited<ReturnType<typeof client.containers.startWait>>;
  try {
    pending = await client.containers.startWait(id, { condition });
  } catch (e) {
    attached.close();
    throw e;
  }
  const output = copyFrames(attached.stream, attached.isMultiplexed, ctx.io);
  const stdin = ctx.io.stdin;
  if (opts.interactive) stdin.pipe(attached.input);
  try {
    await client.containers.start(id);
  } catch (e) {
    attached.close();
    await output.catch(() => undefined); // the start error is the one to report
    throw opts.onStartError(e);
  }
  try {
    await output;
    const result = await pending.result;
    if (result.Error?.Message)
      throw new StatusError(125, `Error waiting for container: ${result.Error.Message}`);
    return result.StatusCode;
  } finally {
    if (opts.interactive) stdin.unpipe(attached.input);
    attached.close();
  }
}

/** Docker's statuses for a container that could not start: 127 not found, 126 not runnable. */
export function startFailureStatus(message: string): number {
  if (/executable file not found|no such file or directory|cannot find the file specified/.test(message))
    return 127;
  if (/permission denied|is a directory/.test(message)) return 126;
  return 125;
}

/** `berth: <error>` plus the help hint, as `docker run` prints its failures. */
export function runFailure(e: unknown, command: 'run' | 'create' | 'start', status: number): StatusError {
  if (e instanceof StatusError) return e;
  return new StatusError(
    status,
    `berth: ${describeError(e)}\n\nRun 'berth ${command} --help' for more information`,
  );
}
