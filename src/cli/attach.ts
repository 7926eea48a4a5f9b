import type { Command } from 'commander';
import type { WaitCondition } from '../client/index.js';
import type { CliContext } from './context.js';
import { describeError, StatusError, UsageError } from './errors.js';
import { detachKeyBytes, streamAttached, terminalSizeOf } from './terminal.js';

export interface AttachOptions {
  tty: boolean;
  interactive: boolean;
  autoRemove: boolean;
  detachKeys?: string | undefined;
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
  detachKeyBytes(opts.detachKeys); // a bad string fails before anything starts
  const attached = await client.containers.attach(id, {
    stdin: opts.interactive,
    tty: opts.tty,
    ...(opts.detachKeys ? { detachKeys: opts.detachKeys } : {}),
  });
  const condition: WaitCondition = opts.autoRemove ? 'removed' : 'next-exit';
  let pending: Awaited<ReturnType<typeof client.containers.startWait>>;
  try {
    pending = await client.containers.startWait(id, { condition });
  } catch (e) {
    attached.close();
    throw e;
  }
  // Output flows from before the start, so nothing the container prints is lost.
  const session = streamAttached(ctx, attached, {
    tty: opts.tty,
    stdin: opts.interactive,
    detachKeys: opts.detachKeys,
    resize: (size) => client.containers.resize(id, size),
  });
  try {
    await client.containers.start(id);
  } catch (e) {
    attached.close();
    await session.catch(() => undefined); // the start error is the one to report
    throw opts.onStartError(e);
  }
  const size = opts.tty ? terminalSizeOf(ctx) : undefined;
  // The container's TTY exists only now; a failed resize leaves the default size, as with docker.
  if (size) await client.containers.resize(id, size).catch(() => undefined);
  if ((await session) === 'detached') return 0;
  const result = await pending.result;
  if (result.Error?.Message)
    throw new StatusError(125, `Error waiting for container: ${result.Error.Message}`);
  return result.StatusCode;
}

interface AttachFlags {
  stdin: boolean;
  sigProxy: boolean;
  detachKeys?: string;
}

/** Signals docker's attach passes on to a container without a TTY. */
const PROXIED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

export function defineAttach(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Attach local standard input, output, and error streams to a running container')
    .argument('<container>')
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .option('--no-stdin', 'Do not attach STDIN')
    .option('--sig-proxy [bool]', 'Proxy all received signals to the process', parseBool, true)
    .action(async (container: string, flags: AttachFlags) => {
      const client = ctx.client();
      const info = await client.containers.inspect(container);
      if (!info.State.Running)
        throw new StatusError(1, 'You cannot attach to a stopped container, start it first');
      if (info.State.Paused)
        throw new StatusError(1, 'You cannot attach to a paused container, unpause it first');
      const tty = !!info.Config.Tty;
      const interactive = flags.stdin && !!info.Config.OpenStdin;
      detachKeyBytes(flags.detachKeys);
      const pending = await client.containers.startWait(info.Id, { condition: 'not-running' });
      const attached = await client.containers.attach(info.Id, {
        stdin: interactive,
        tty,
        ...(flags.detachKeys ? { detachKeys: flags.detachKeys } : {}),
      });
      const forward = (signal: NodeJS.Signals) => {
        client.containers.kill(info.Id, { signal }).catch((e: unknown) => ctx.err(`${describeError(e)}\n`));
      };
      const isProxying = flags.sigProxy && !tty;
      if (isProxying) for (const signal of PROXIED_SIGNALS) process.on(signal, forward);
      try {
        const how = await streamAttached(ctx, attached, {
          tty,
          stdin: interactive,
          detachKeys: flags.detachKeys,
          resize: (size) => client.containers.resize(info.Id, size),
        });
        if (how === 'detached') return;
      } finally {
        if (isProxying) for (const signal of PROXIED_SIGNALS) process.off(signal, forward);
      }
      const result = await pending.result;
      if (result.StatusCode !== 0) throw new StatusError(result.StatusCode);
    });
}

function parseBool(value: string): boolean {
  if (['true', '1', 't', 'T', 'TRUE', 'True'].includes(value)) return true;
  if (['false', '0', 'f', 'F', 'FALSE', 'False'].includes(value)) return false;
  throw new UsageError(
    `invalid argument "${value}" for "--sig-proxy" flag: strconv.ParseBool: parsing "${value}": invalid syntax`,
  );
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
