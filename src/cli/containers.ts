import type { Command } from 'commander';
import { copyFrames } from '../client/index.js';
import { attachStartAndWait, runFailure } from './attach.js';
import type { CliContext } from './context.js';
import { StatusError, UsageError } from './errors.js';
import { toApiTimestamp } from './format.js';
import { forEachItem } from './items.js';
import { parseInteger } from './options.js';

export function defineStart(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Start one or more stopped containers')
    .argument('<container...>')
    .option('-a, --attach', 'Attach STDOUT/STDERR and forward signals')
    .option('-i, --interactive', "Attach container's STDIN")
    .action(async (containers: string[], flags: { attach?: boolean; interactive?: boolean }) => {
      if (!flags.attach && !flags.interactive) {
        await forEachItem(ctx, containers, async (c) => {
          await ctx.client().containers.start(c);
          return c;
        });
        return;
      }
      if (containers.length > 1)
        throw new UsageError('you cannot start and attach multiple containers at once');
      const container = await ctx.client().containers.inspect(containers[0]!);
      const status = await attachStartAndWait(ctx, container.Id, {
        tty: !!container.Config.Tty,
        interactive: !!flags.interactive && !!container.Config.OpenStdin,
        autoRemove: !!container.HostConfig.AutoRemove,
        onStartError: (e) => runFailure(e, 'start', 1),
      });
      if (status !== 0) throw new StatusError(status);
    });
}

export function defineStop(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Stop one or more running containers')
    .argument('<container...>')
    .option('-s, --signal <string>', 'Signal to send to the container')
    .option('-t, --time <int>', 'Seconds to wait before killing the container', parseInteger)
    .action(async (containers: string[], flags: { signal?: string; time?: number }) => {
      await forEachItem(ctx, containers, async (c) => {
        await ctx.client().containers.stop(c, {
          ...(flags.time !== undefined ? { timeoutSeconds: flags.time } : {}),
          ...(flags.signal !== undefined ? { signal: flags.signal } : {}),
        });
        return c;
      });
    });
}

export function defineKill(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Kill one or more running containers')
    .argument('<container...>')
    .option('-s, --signal <string>', 'Signal to send to the container')
    .action(async (containers: string[], flags: { signal?: string }) => {
      await forEachItem(ctx, containers, async (c) => {
        await ctx.client().containers.kill(c, flags.signal !== undefined ? { signal: flags.signal } : {});
        return c;
      });
    });
}

export function defineRm(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Remove one or more containers')
    .argument('<container...>')
    .option('-f, --force', 'Force the removal of a running container (uses SIGKILL)')
    .option('-v, --volumes', 'Remove anonymous volumes associated with the container')
    .action(async (containers: string[], flags: { force?: boolean; volumes?: boolean }) => {
      await forEachItem(ctx, containers, async (c) => {
        await ctx.client().containers.remove(c, { force: !!flags.force, volumes: !!flags.volumes });
        return c;
      });
    });
}

export function defineWait(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Block until one or more containers stop, then print their exit codes')
    .argument('<container...>')
    .action(async (containers: string[]) => {
      await forEachItem(ctx, containers, async (c) => {
        const result = await ctx.client().containers.wait(c);
        return String(result.StatusCode);
      });
    });
}

interface LogsFlags {
  follow?: boolean;
  tail?: string;
  timestamps?: boolean;
  since?: string;
  until?: string;
}

export function defineLogs(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Fetch the logs of a container')
    .argument('<container>')
    .option('-f, --follow', 'Follow log output')
    .option(
      '--since <string>',
      'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
    )
    .option('-n, --tail <string>', 'Number of lines to show from the end of the logs', 'all')
    .option('-t, --timestamps', 'Show timestamps')
    .option(
      '--until <string>',
      'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
    )
    .action(async (container: string, flags: LogsFlags) => {
      const client = ctx.client();
      // Docker reads the TTY setting first: only a container without one has framed logs.
      const info = await client.containers.inspect(container);
      const logs = await client.containers.logs(info.Id, {
        follow: !!flags.follow,
        timestamps: !!flags.timestamps,
        tail: flags.tail ?? 'all',
        tty: !!info.Config.Tty,
        ...(flags.since !== undefined ? { since: toApiTimestamp(flags.since, ctx.now()) } : {}),
        ...(flags.until !== undefined ? { until: toApiTimestamp(flags.until, ctx.now()) } : {}),
      });
      await copyFrames(logs.stream, logs.isMultiplexed, ctx.io);
    });
}
