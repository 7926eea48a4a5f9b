import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { StatusError } from './errors.js';
import { collect } from './options.js';
import { detachKeyBytes, streamAttached, terminalSizeOf } from './terminal.js';

interface ExecFlags {
  detach?: boolean;
  interactive?: boolean;
  tty?: boolean;
  env?: string[];
  workdir?: string;
  user?: string;
  privileged?: boolean;
  detachKeys?: string;
}

/** `berth exec`: docker's flags and flow (create, start attached or detached, then the exit code). */
export function defineExec(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Execute a command in a running container')
    .argument('<container>')
    .argument('<command>')
    .argument('[arg...]')
    .passThroughOptions()
    .option('-d, --detach', 'Detached mode: run command in the background')
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .option('-e, --env <list>', 'Set environment variables', collect)
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('--privileged', 'Give extended privileges to the command')
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('-u, --user <string>', 'Username or UID (format: "<name|uid>[:<group|gid>]")')
    .option('-w, --workdir <string>', 'Working directory inside the container')
    .action(async (container: string, command: string, args: string[], flags: ExecFlags) => {
      const client = ctx.client();
      const tty = !!flags.tty;
      const interactive = !!flags.interactive && !flags.detach;
      if (flags.detachKeys !== undefined) detachKeyBytes(flags.detachKeys);
      const { Id: id } = await client.exec.create(container, {
        Cmd: [command, ...args],
        Env: flags.env ?? [],
        WorkingDir: flags.workdir ?? '',
        User: flags.user ?? '',
        Privileged: !!flags.privileged,
        Tty: tty,
        AttachStdin: interactive,
        AttachStdout: !flags.detach,
        AttachStderr: !flags.detach,
        DetachKeys: flags.detachKeys ?? '',
      });
      if (flags.detach) {
        await client.exec.startDetached(id);
        return;
      }
      const attached = await client.exec.startAttached(id, { tty });
      const resize = (size: { height: number; width: number }) => client.exec.resize(id, size);
      const session = streamAttached(ctx, attached, {
        tty,
        stdin: interactive,
        detachKeys: flags.detachKeys,
        resize,
      });
      const size = tty ? terminalSizeOf(ctx) : undefined;
      // The process may not have its TTY yet; a failed resize leaves the default size, as with docker.
      if (size) await resize(size).catch(() => undefined);
      if ((await session) === 'detached') return;
      const info = await client.exec.inspect(id);
      if (info.ExitCode !== null && info.ExitCode !== 0) throw new StatusError(info.ExitCode);
    });
}
