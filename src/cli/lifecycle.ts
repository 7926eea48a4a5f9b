/** `pause`, `unpause`, `restart`, `rename`, `update` and `container prune`. */
import type { Command } from 'commander';
import { confirm } from './confirm.js';
import type { CliContext } from './context.js';
import { humanSize } from './format.js';
import { forEachItem } from './items.js';
import { collect, parseFilters, parseInteger } from './options.js';
import { addLimitFlags, limitsOf, type ResourceFlags } from './resource-flags.js';
import { parseRestartPolicy } from './run-flags.js';

function definePause(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Pause all processes within one or more containers')
    .argument('<container...>')
    .action(async (containers: string[]) => {
      await forEachItem(ctx, containers, async (c) => {
        await ctx.client().containers.pause(c);
        return c;
      });
    });
}

function defineUnpause(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Unpause all processes within one or more containers')
    .argument('<container...>')
    .action(async (containers: string[]) => {
      await forEachItem(ctx, containers, async (c) => {
        await ctx.client().containers.unpause(c);
        return c;
      });
    });
}

function defineRestart(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Restart one or more containers')
    .argument('<container...>')
    .option('-t, --time <int>', 'Seconds to wait before killing the container', parseInteger)
    .action(async (containers: string[], flags: { time?: number }) => {
      await forEachItem(ctx, containers, async (c) => {
        await ctx
          .client()
          .containers.restart(c, flags.time !== undefined ? { timeoutSeconds: flags.time } : {});
        return c;
      });
    });
}

function defineRename(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Rename a container')
    .argument('<container>')
    .argument('<new-name>')
    .action(async (container: string, newName: string) => {
      await ctx.client().containers.rename(container, newName);
    });
}

function defineUpdate(cmd: Command, ctx: CliContext): Command {
  return addLimitFlags(
    cmd
      .description('Update configuration of one or more containers')
      .argument('<container...>')
      .option('--restart <string>', 'Restart policy to apply when a container exits'),
  ).action(async (containers: string[], flags: ResourceFlags & { restart?: string }) => {
    const changes = limitsOf(flags);
    if (flags.restart !== undefined) changes.RestartPolicy = parseRestartPolicy(flags.restart);
    await forEachItem(ctx, containers, async (c) => {
      await ctx.client().containers.update(c, changes);
      return c;
    });
  });
}

function definePrune(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Remove all stopped containers')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collect)
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async (flags: { filter?: string[]; force?: boolean }) => {
      const warning = 'WARNING! This will remove all stopped containers.';
      if (!flags.force && !(await confirm(ctx, `${warning}\nAre you sure you want to continue?`))) return;
      const report = await ctx.client().containers.prune({ filters: parseFilters(flags.filter) });
      const deleted = report.ContainersDeleted ?? [];
      if (deleted.length > 0) ctx.out(`Deleted Containers:\n${deleted.join('\n')}\n\n`);
      ctx.out(`Total reclaimed space: ${humanSize(report.SpaceReclaimed ?? 0)}\n`);
    });
}

/** Registers the commands at the top level and under `container`. */
export function registerLifecycleCommands(program: Command, container: Command, ctx: CliContext): void {
  const commands: [string, (cmd: Command, ctx: CliContext) => Command][] = [
    ['pause', definePause],
    ['unpause', defineUnpause],
    ['restart', defineRestart],
    ['rename', defineRename],
    ['update', defineUpdate],
  ];
  for (const [name, define] of commands) {
    define(program.command(name), ctx);
    define(container.command(name), ctx);
  }
  definePrune(container.command('prune'), ctx);
}
