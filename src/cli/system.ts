import { arch, platform } from 'node:os';
import type { Command } from 'commander';
import { API_VERSION, BERTH_VERSION, type EventMessage } from '../api/index.js';
import type { SystemInfo } from '../client/index.js';
import type { CliContext } from './context.js';
import { describeError, StatusError } from './errors.js';
import { alignColumns, formatRfc3339Nano, toApiTimestamp } from './format.js';
import { collect, parseFilters } from './options.js';
import { parseGoTemplate } from './template.js';

/** Go's names for the platform, which docker prints in OS/Arch. */
function goArch(): string {
  const names: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm' };
  return names[arch()] ?? arch();
}

function clientVersion() {
  return {
    Platform: { Name: 'berth' },
    Version: BERTH_VERSION,
    ApiVersion: API_VERSION,
    DefaultAPIVersion: API_VERSION,
    GitCommit: '',
    GoVersion: process.version,
    Os: platform(),
    Arch: goArch(),
    BuildTime: '',
    Context: 'default',
  };
}

function defineVersion(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Show the berth version information')
    .option('-f, --format <string>', 'Format output using a custom template')
    .action(async (flags: { format?: string }) => {
      const client = clientVersion();
      let server: unknown;
      let failure: unknown;
      try {
        const negotiated = await ctx.client().apiVersion();
        client.ApiVersion = negotiated;
        server = await ctx.client().version();
      } catch (e) {
        failure = e;
      }
      if (flags.format) {
        ctx.out(`${parseGoTemplate(flags.format).execute({ Client: client, Server: server ?? null })}\n`);
      } else {
        const lines = [
          'Client:',
          ` Version:\t${client.Version}`,
          ` API version:\t${client.ApiVersion}`,
          ` Node version:\t${client.GoVersion}`,
          ` OS/Arch:\t${client.Os}/${client.Arch}`,
          ` Context:\t${client.Context}`,
        ];
        if (server !== undefined) {
          const s = server as Record<string, string>;
          lines.push(
            '',
            `Server: ${(server as { Platform?: { Name?: string } }).Platform?.Name ?? ''}`,
            ' Engine:',
            `  Version:\t${s.Version}`,
            `  API version:\t${s.ApiVersion} (minimum version ${s.MinAPIVersion})`,
            `  Git commit:\t${s.GitCommit}`,
            `  Built:\t${s.BuildTime}`,
            `  OS/Arch:\t${s.Os}/${s.Arch}`,
          );
        }
        ctx.out(`${alignColumns(lines.join('\n'), { minWidth: 0, padding: 1 })}\n`);
      }
      if (failure !== undefined) throw new StatusError(1, describeError(failure));
    });
}

export function formatInfo(info: SystemInfo): string {
  const lines = [
    'Server:',
    ` Containers: ${info.Containers ?? 0}`,
    `  Running: ${info.ContainersRunning ?? 0}`,
    `  Paused: ${info.ContainersPaused ?? 0}`,
    `  Stopped: ${info.ContainersStopped ?? 0}`,
    ` Images: ${info.Images ?? 0}`,
    ` Server Version: ${info.ServerVersion ?? ''}`,
    ` Storage Driver: ${info.Driver ?? ''}`,
    ` Logging Driver: ${info.LoggingDriver ?? ''}`,
    ` Cgroup Driver: ${info.CgroupDriver ?? ''}`,
    ` Cgroup Version: ${info.CgroupVersion ?? ''}`,
    ` Default Runtime: ${info.DefaultRuntime ?? ''}`,
    ` Kernel Version: ${info.KernelVersion ?? ''}`,
    ` Operating System: ${info.OperatingSystem ?? ''}`,
    ` OSType: ${info.OSType ?? ''}`,
    ` Architecture: ${info.Architecture ?? ''}`,
    ` CPUs: ${info.NCPU ?? 0}`,
    ` Total Memory: ${humanBinarySize(info.MemTotal ?? 0)}`,
    ` Name: ${info.Name ?? ''}`,
    ` ID: ${info.ID ?? ''}`,
    ` Docker Root Dir: ${info.DockerRootDir ?? ''}`,
    ` Debug Mode: ${info.Debug ? 'true' : 'false'}`,
    ` Live Restore Enabled: ${info.LiveRestoreEnabled ? 'true' : 'false'}`,
  ];
  if (info.Labels && info.Labels.length > 0) lines.push(' Labels:', ...info.Labels.map((l) => `  ${l}`));
  return `${lines.join('\n')}\n`;
}

/** go-units' BytesSize (1024-based), which docker uses for Total Memory. */
function humanBinarySize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let size = bytes;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit++;
  }
  return `${Number(size.toPrecision(4))}${units[unit]}`;
}

function defineInfo(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Display system-wide information')
    .option('-f, --format <string>', 'Format output using a custom template')
    .action(async (flags: { format?: string }) => {
      const info = await ctx.client().info();
      if (flags.format) {
        ctx.out(`${parseGoTemplate(flags.format).execute(info)}\n`);
        return;
      }
      ctx.out(`Client:\n Version:    ${BERTH_VERSION}\n Context:    default\n\n`);
      ctx.out(formatInfo(info));
      for (const warning of info.Warnings ?? []) ctx.err(`${warning}\n`);
    });
}

/** Docker's default event line: time, type, action, actor and its sorted attributes. */
export function formatEvent(event: EventMessage): string {
  const time =
    event.timeNano !== undefined && event.timeNano !== 0
      ? `${formatRfc3339Nano(BigInt(event.timeNano))} `
      : event.time
        ? `${formatRfc3339Nano(BigInt(event.time) * 1_000_000_000n)} `
        : '';
  const attributes = event.Actor?.Attributes ?? {};
  const pairs = Object.keys(attributes)
    .sort()
    .map((k) => `${k}=${attributes[k]}`);
  const suffix = pairs.length > 0 ? ` (${pairs.join(', ')})` : '';
  return `${time}${event.Type} ${event.Action} ${event.Actor?.ID ?? ''}${suffix}\n`;
}

function defineEvents(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Get real time events from the server')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
    .option('--format <string>', 'Format output using a custom template')
    .option('--since <string>', 'Show all events created since timestamp')
    .option('--until <string>', 'Stream events until this timestamp')
    .action(async (flags: { filter?: string[]; format?: string; since?: string; until?: string }) => {
      const format = flags.format === 'json' ? '{{json .}}' : flags.format;
      const template = format ? parseGoTemplate(format) : undefined;
      const events = ctx.client().events({
        filters: parseFilters(flags.filter),
        ...(flags.since !== undefined ? { since: toApiTimestamp(flags.since, ctx.now()) } : {}),
        ...(flags.until !== undefined ? { until: toApiTimestamp(flags.until, ctx.now()) } : {}),
      });
      for await (const event of events) {
        ctx.out(template ? `${template.execute(event)}\n` : formatEvent(event));
      }
    });
}

export function registerSystemCommands(program: Command, ctx: CliContext): void {
  defineVersion(program.command('version'), ctx);
  defineInfo(program.command('info'), ctx);
  defineEvents(program.command('events'), ctx);
  const system = program.command('system').description('Manage berth');
  defineInfo(system.command('info'), ctx);
  defineEvents(system.command('events'), ctx);
}
