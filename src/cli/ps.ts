import type { Command } from 'commander';
import type { ContainerSummary, MountPoint, PortSummary } from '../api/index.js';
import type { CliContext } from './context.js';
import { ellipsis, formatGoTime, humanSize, shortId, timeAgo } from './format.js';
import { type ListRow, renderList, sortedKeys } from './list-format.js';
import { collect, parseFilters, parseInteger } from './options.js';

const PS_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Names: 'NAMES',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  Networks: 'NETWORKS',
  LocalVolumes: 'LOCAL VOLUMES',
};

/** `0.0.0.0:8080->80/tcp, 443/tcp`; docker also folds consecutive ports into ranges, which we do not yet. */
export function formatPorts(ports: PortSummary[]): string {
  return [...ports]
    .sort((a, b) => a.PrivatePort - b.PrivatePort || (a.PublicPort ?? 0) - (b.PublicPort ?? 0))
    .map((p) => {
      if (p.PublicPort === undefined || p.PublicPort === 0) return `${p.PrivatePort}/${p.Type}`;
      const ip = p.IP?.includes(':') ? `[${p.IP}]` : (p.IP ?? '');
      return `${ip}:${p.PublicPort}->${p.PrivatePort}/${p.Type}`;
    })
    .join(', ');
}

function mountName(m: MountPoint, trunc: boolean): string {
  const name = m.Name ?? m.Source;
  return trunc && m.Type === 'volume' ? ellipsis(name, 15) : name;
}

/** The fields `docker ps --format` offers for one container. */
export function containerRow(c: ContainerSummary, opts: { trunc: boolean; nowMs: number }): ListRow {
  const names = c.Names.map((n) => n.replace(/^\//, '')).filter((n) => !opts.trunc || !n.includes('/'));
  const image = opts.trunc && c.Image.startsWith('sha256:') ? shortId(c.Image) : c.Image;
  const labels = c.Labels ?? {};
  let size = humanSize(c.SizeRw ?? 0, 3);
  if ((c.SizeRootFs ?? 0) > 0) size += ` (virtual ${humanSize(c.SizeRootFs ?? 0, 3)})`;
  const row = sortedKeys({
    Command: JSON.stringify(opts.trunc ? ellipsis(c.Command, 20) : c.Command),
    CreatedAt: formatGoTime(c.Created),
    ID: opts.trunc ? shortId(c.Id) : c.Id,
    Image: image,
    Labels: Object.keys(labels)
      .sort()
      .map((k) => `${k}=${labels[k]}`)
      .join(','),
    LocalVolumes: String((c.Mounts ?? []).filter((m) => m.Type === 'volume' && m.Driver === 'local').length),
    Mounts: (c.Mounts ?? []).map((m) => mountName(m, opts.trunc)).join(','),
    Names: names.join(','),
    Networks: Object.keys(c.NetworkSettings?.Networks ?? {})
      .sort()
      .join(','),
    Ports: formatPorts(c.Ports ?? []),
    RunningFor: timeAgo(c.Created, opts.nowMs),
    Size: size,
    State: c.State,
    Status: c.Status,
  });
  return { ...row, Label: (key: unknown) => labels[String(key)] ?? '' };
}

interface PsFlags {
  all?: boolean;
  quiet?: boolean;
  filter?: string[];
  format?: string;
  trunc: boolean;
  last?: number;
  latest?: boolean;
  size?: boolean;
}

export function definePs(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('List containers')
    .option('-a, --all', 'Show all containers (default shows just running)')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
    .option('--format <string>', 'Format output using a custom template')
    .option('-n, --last <int>', 'Show n last created containers (includes all states)', parseInteger)
    .option('-l, --latest', 'Show the latest created container (includes all states)')
    .option('--no-trunc', "Don't truncate output")
    .option('-q, --quiet', 'Only display container IDs')
    .option('-s, --size', 'Display total file sizes')
    .action(async (flags: PsFlags) => {
      const limit = flags.latest ? 1 : flags.last !== undefined && flags.last > 0 ? flags.last : undefined;
      const containers = await ctx.client().containers.list({
        all: !!flags.all || limit !== undefined,
        ...(limit !== undefined ? { limit } : {}),
        size: !!flags.size,
        filters: parseFilters(flags.filter),
      });
      let defaultFormat =
        'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';
      if (flags.size) defaultFormat += '\t{{.Size}}';
      const format = flags.quiet ? '{{.ID}}' : (flags.format ?? '');
      const rows = containers.map((c) => containerRow(c, { trunc: flags.trunc, nowMs: ctx.now() }));
      ctx.out(renderList(rows, { format, defaultFormat, headers: PS_HEADERS }));
    });
}
