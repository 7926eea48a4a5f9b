import type { Command } from 'commander';
import type { SystemDataUsage, VolumeInfo } from '../api/index.js';
import { confirm } from './confirm.js';
import type { CliContext } from './context.js';
import { StatusError, UsageError } from './errors.js';
import { humanSize, shortId, timeAgo } from './format.js';
import { forEachItem } from './items.js';
import { renderList, sortedKeys } from './list-format.js';
import { collect, parseFilters } from './options.js';
import { parseGoTemplate } from './template.js';

const VOLUME_HEADERS = {
  Name: 'VOLUME NAME',
  Driver: 'DRIVER',
  Scope: 'SCOPE',
  Mountpoint: 'MOUNTPOINT',
  Labels: 'LABELS',
  Links: 'LINKS',
  Size: 'SIZE',
  CreatedAt: 'CREATED',
};

function labelsText(labels: Record<string, string> | null | undefined): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** `-o key=value` pairs (`--opt`, `--label`) as a map; a bare key maps to ''. */
function keyValues(entries: string[] | undefined): Record<string, string> {
  const map: Record<string, string> = {};
  for (const entry of entries ?? []) {
    const eq = entry.indexOf('=');
    if (eq === 0) throw new UsageError(`invalid argument "${entry}": empty key`);
    if (eq === -1) map[entry] = '';
    else map[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return map;
}

function volumeRow(v: VolumeInfo) {
  return sortedKeys({
    Name: v.Name,
    Driver: v.Driver,
    Scope: v.Scope,
    Mountpoint: v.Mountpoint,
    Labels: labelsText(v.Labels),
    Links: v.UsageData ? String(v.UsageData.RefCount) : 'N/A',
    Size: v.UsageData && v.UsageData.Size >= 0 ? humanSize(v.UsageData.Size) : 'N/A',
    CreatedAt: v.CreatedAt,
  });
}

function defineCreate(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Create a volume')
    .argument('[name]')
    .option('-d, --driver <string>', 'Specify volume driver name', 'local')
    .option('--name <string>', 'Specify volume name')
    .option('--label <list>', 'Set metadata for a volume', collect)
    .option('-o, --opt <map>', 'Set driver specific options', collect)
    .action(
      async (
        arg: string | undefined,
        flags: { driver: string; name?: string; label?: string[]; opt?: string[] },
      ) => {
        if (arg !== undefined && flags.name !== undefined && arg !== flags.name) {
          throw new UsageError(
            `conflicting options: cannot specify a volume-name through both --name and as a positional arg`,
          );
        }
        const name = arg ?? flags.name;
        const volume = await ctx.client().volumes.create({
          ...(name !== undefined ? { Name: name } : {}),
          Driver: flags.driver,
          Labels: keyValues(flags.label),
          DriverOpts: keyValues(flags.opt),
        });
        ctx.out(`${volume.Name}\n`);
      },
    );
}

function defineLs(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('List volumes')
    .option('-f, --filter <filter>', "Provide filter values (e.g. 'dangling=true')", collect)
    .option('--format <string>', 'Format output using a custom template')
    .option('-q, --quiet', 'Only display volume names')
    .action(async (flags: { filter?: string[]; format?: string; quiet?: boolean }) => {
      const { Volumes } = await ctx.client().volumes.list({ filters: parseFilters(flags.filter) });
      const rows = (Volumes ?? []).map(volumeRow).sort((a, b) => a.Name.localeCompare(b.Name));
      const format = flags.quiet ? '{{.Name}}' : (flags.format ?? '');
      ctx.out(
        renderList(rows, { format, defaultFormat: 'table {{.Driver}}\t{{.Name}}', headers: VOLUME_HEADERS }),
      );
    });
}

function defineInspect(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Display detailed information on one or more volumes')
    .argument('<volume...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .action(async (names: string[], flags: { format?: string }) => {
      const found: VolumeInfo[] = [];
      const failures: string[] = [];
      for (const name of names) {
        try {
          found.push(await ctx.client().volumes.inspect(name));
        } catch (e) {
          failures.push(e instanceof Error ? e.message : String(e));
        }
      }
      if (flags.format) {
        const template = parseGoTemplate(flags.format);
        for (const v of found) ctx.out(`${template.execute(v)}\n`);
      } else {
        ctx.out(`${JSON.stringify(found, null, 4)}\n`);
      }
      if (failures.length > 0) throw new StatusError(1, failures.join('\n'));
    });
}

function defineRm(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Remove one or more volumes')
    .argument('<volume...>')
    .option('-f, --force', 'Force the removal of one or more volumes')
    .action(async (names: string[], flags: { force?: boolean }) => {
      await forEachItem(ctx, names, async (name) => {
        await ctx.client().volumes.remove(name, { force: !!flags.force });
        return name;
      });
    });
}

function definePrune(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Remove unused local volumes')
    .option('-a, --all', 'Remove all unused volumes, not just anonymous ones')
    .option('--filter <filter>', 'Provide filter values (e.g. "label=<label>")', collect)
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async (flags: { all?: boolean; filter?: string[]; force?: boolean }) => {
      const warning = flags.all
        ? 'WARNING! This will remove all local volumes not used by at least one container.'
        : 'WARNING! This will remove anonymous local volumes not used by at least one container.';
      if (!flags.force && !(await confirm(ctx, `${warning}\nAre you sure you want to continue?`))) return;
      const filters = parseFilters(flags.filter);
      if (flags.all) filters.all = ['true'];
      const report = await ctx.client().volumes.prune({ filters });
      const deleted = report.VolumesDeleted ?? [];
      if (deleted.length > 0) ctx.out(`Deleted Volumes:\n${deleted.map((n) => `${n}\n`).join('')}\n`);
      ctx.out(`Total reclaimed space: ${humanSize(report.SpaceReclaimed ?? 0)}\n`);
    });
}

/** `SIZE (PCT%)` as docker's df shows reclaimable space. */
function reclaimableText(reclaimable: number, total: number): string {
  if (total <= 0) return humanSize(reclaimable);
  return `${humanSize(reclaimable)} (${Math.round((reclaimable * 100) / total)}%)`;
}

function dfSummaryRows(df: SystemDataUsage) {
  const images = df.Images ?? [];
  const containers = df.Containers ?? [];
  const volumes = df.Volumes ?? [];
  const imageSize = images.reduce((s, i) => s + i.Size, 0);
  const imageReclaim = images.filter((i) => i.Containers <= 0).reduce((s, i) => s + i.Size, 0);
  const containerSize = containers.reduce((s, c) => s + (c.SizeRw ?? 0), 0);
  const isActive = (state: string) => state === 'running' || state === 'paused';
  const containerReclaim = containers
    .filter((c) => !isActive(c.State))
    .reduce((s, c) => s + (c.SizeRw ?? 0), 0);
  const volumeSize = volumes.reduce((s, v) => s + Math.max(v.UsageData?.Size ?? 0, 0), 0);
  const volumeReclaim = volumes
    .filter((v) => (v.UsageData?.RefCount ?? 0) === 0)
    .reduce((s, v) => s + Math.max(v.UsageData?.Size ?? 0, 0), 0);
  return [
    {
      Type: 'Images',
      TotalCount: String(images.length),
      Active: String(images.filter((i) => i.Containers > 0).length),
      Size: humanSize(df.LayersSize ?? imageSize),
      Reclaimable: reclaimableText(imageReclaim, imageSize),
    },
    {
      Type: 'Containers',
      TotalCount: String(containers.length),
      Active: String(containers.filter((c) => isActive(c.State)).length),
      Size: humanSize(containerSize),
      Reclaimable: reclaimableText(containerReclaim, containerSize),
    },
    {
      Type: 'Local Volumes',
      TotalCount: String(volumes.length),
      Active: String(volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length),
      Size: humanSize(volumeSize),
      Reclaimable: reclaimableText(volumeReclaim, volumeSize),
    },
    { Type: 'Build Cache', TotalCount: '0', Active: '0', Size: '0B', Reclaimable: '0B' },
  ];
}

function dfVerbose(df: SystemDataUsage, nowMs: number): string {
  const images = (df.Images ?? []).map((i) => {
    const [repoTag = '<none>:<none>'] = i.RepoTags ?? [];
    const colon = repoTag.lastIndexOf(':');
    return {
      Repository: repoTag.slice(0, colon),
      Tag: repoTag.slice(colon + 1),
      ID: shortId(i.Id),
      CreatedSince: timeAgo(i.Created, nowMs),
      Size: humanSize(i.Size),
      SharedSize: humanSize(Math.max(i.SharedSize, 0)),
      UniqueSize: humanSize(i.Size - Math.max(i.SharedSize, 0)),
      Containers: String(i.Containers),
    };
  });
  const containers = (df.Containers ?? []).map((c) => ({
    ID: shortId(c.Id),
    Image: c.Image,
    Command: `"${c.Command}"`,
    LocalVolumes: String((c.Mounts ?? []).filter((m) => m.Type === 'volume').length),
    Size: humanSize(c.SizeRw ?? 0),
    RunningFor: timeAgo(c.Created, nowMs),
    Status: c.Status,
    Names: (c.Names ?? []).map((n) => n.replace(/^\//, '')).join(','),
  }));
  const volumes = (df.Volumes ?? []).map((v) => ({
    Name: v.Name,
    Links: String(v.UsageData?.RefCount ?? 0),
    Size: humanSize(Math.max(v.UsageData?.Size ?? 0, 0)),
  }));
  const table = (rows: Record<string, string>[], format: string, headers: Record<string, string>) =>
    rows.length === 0
      ? `${parseGoTemplate(format.replace(/^table /, '').replace(/\\t/g, '\t')).execute(headers)}\n`.replace(
          /\t/g,
          '   ',
        )
      : renderList(rows, { format, defaultFormat: format, headers });
  return [
    'Images space usage:\n\n',
    table(
      images,
      'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}',
      {
        Repository: 'REPOSITORY',
        Tag: 'TAG',
        ID: 'IMAGE ID',
        CreatedSince: 'CREATED',
        Size: 'SIZE',
        SharedSize: 'SHARED SIZE',
        UniqueSize: 'UNIQUE SIZE',
        Containers: 'CONTAINERS',
      },
    ),
    '\nContainers space usage:\n\n',
    table(
      containers,
      'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}',
      {
        ID: 'CONTAINER ID',
        Image: 'IMAGE',
        Command: 'COMMAND',
        LocalVolumes: 'LOCAL VOLUMES',
        Size: 'SIZE',
        RunningFor: 'CREATED',
        Status: 'STATUS',
        Names: 'NAMES',
      },
    ),
    '\nLocal Volumes space usage:\n\n',
    table(volumes, 'table {{.Name}}\t{{.Links}}\t{{.Size}}', {
      Name: 'VOLUME NAME',
      Links: 'LINKS',
      Size: 'SIZE',
    }),
    '\nBuild cache usage: 0B\n',
  ].join('');
}

function defineDf(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Show berth disk usage')
    .option('--format <string>', 'Format output using a custom template')
    .option('-v, --verbose', 'Show detailed information on space usage')
    .action(async (flags: { format?: string; verbose?: boolean }) => {
      const df = await ctx.client().diskUsage({ verbose: !!flags.verbose });
      if (flags.verbose && !flags.format) {
        ctx.out(dfVerbose(df, ctx.now()));
        return;
      }
      ctx.out(
        renderList(dfSummaryRows(df), {
          format: flags.format ?? '',
          defaultFormat: 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}',
          headers: {
            Type: 'TYPE',
            TotalCount: 'TOTAL',
            Active: 'ACTIVE',
            Size: 'SIZE',
            Reclaimable: 'RECLAIMABLE',
          },
        }),
      );
    });
}

/** `volume create|ls|inspect|rm|prune`, and `system df` on the existing `system` group. */
export function registerVolumeCommands(program: Command, ctx: CliContext): void {
  const volume = program.command('volume').description('Manage volumes');
  defineCreate(volume.command('create'), ctx);
  defineLs(volume.command('ls').aliases(['list']), ctx);
  defineInspect(volume.command('inspect'), ctx);
  defineRm(volume.command('rm').aliases(['remove']), ctx);
  definePrune(volume.command('prune'), ctx);
  const system = program.commands.find((c) => c.name() === 'system') ?? program.command('system');
  defineDf(system.command('df'), ctx);
}
