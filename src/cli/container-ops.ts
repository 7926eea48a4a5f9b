import { createWriteStream } from 'node:fs';
import { lstat, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import type { ContainerStatsJson } from '../client/index.js';
import type { CliContext } from './context.js';
import { extractArchive, packLocal } from './cp-tar.js';
import { StatusError, UsageError } from './errors.js';
import { alignColumns, formatSignificant, humanSize, shortId } from './format.js';
import { renderList } from './list-format.js';
import { collect } from './options.js';

const STATS_HEADERS = {
  ID: 'CONTAINER ID',
  Container: 'CONTAINER',
  Name: 'NAME',
  CPUPerc: 'CPU %',
  MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %',
  NetIO: 'NET I/O',
  BlockIO: 'BLOCK I/O',
  PIDs: 'PIDS',
};
const STATS_DEFAULT_FORMAT =
  'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';
const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** go-units' BytesSize: 1024-based, four significant digits (docker's memory column). */
export function binarySize(bytes: number): string {
  let size = bytes;
  let unit = 0;
  while (size >= 1024 && unit < BINARY_UNITS.length - 1) {
    size /= 1024;
    unit++;
  }
  return `${formatSignificant(size, 4)}${BINARY_UNITS[unit]}`;
}

/** One row of `docker stats`, computed as the docker CLI does from a reading and the one before. */
export function statsRow(s: ContainerStatsJson, container: string, noTrunc: boolean): Record<string, string> {
  const cpu = s.cpu_stats ?? {};
  const pre = s.precpu_stats ?? {};
  const cpuDelta = (cpu.cpu_usage?.total_usage ?? 0) - (pre.cpu_usage?.total_usage ?? 0);
  const systemDelta = (cpu.system_cpu_usage ?? 0) - (pre.system_cpu_usage ?? 0);
  const cpus = cpu.online_cpus || cpu.cpu_usage?.percpu_usage?.length || 0;
  const cpuPercent = systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
  const memory = s.memory_stats ?? {};
  const usage = memory.usage ?? 0;
  // Page cache that can be dropped is not counted, as docker does (cgroup v1 then v2 key).
  const inactive = memory.stats?.total_inactive_file ?? memory.stats?.inactive_file ?? 0;
  const used = inactive < usage ? usage - inactive : usage;
  const limit = memory.limit ?? 0;
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(s.networks ?? {})) {
    rx += n.rx_bytes;
    tx += n.tx_bytes;
  }
  let read = 0;
  let write = 0;
  for (const entry of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    if (entry.op.toLowerCase() === 'read') read += entry.value;
    if (entry.op.toLowerCase() === 'write') write += entry.value;
  }
  const id = s.id ?? '';
  return {
    ID: noTrunc ? id : shortId(id),
    Container: container,
    Name: (s.name ?? '').replace(/^\//, '') || '--',
    CPUPerc: `${cpuPercent.toFixed(2)}%`,
    MemUsage: `${binarySize(used)} / ${binarySize(limit)}`,
    MemPerc: `${(limit > 0 ? (used / limit) * 100 : 0).toFixed(2)}%`,
    NetIO: `${humanSize(rx, 3)} / ${humanSize(tx, 3)}`,
    BlockIO: `${humanSize(read, 3)} / ${humanSize(write, 3)}`,
    PIDs: String(s.pids_stats?.current ?? 0),
  };
}

function defineStats(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Display a live stream of container(s) resource usage statistics')
    .argument('[container...]')
    .option('-a, --all', 'Show all containers (default shows just running)')
    .option('--format <string>', 'Format output using a custom template')
    .option('--no-stream', 'Disable streaming stats and only pull the first result')
    .option('--no-trunc', 'Do not truncate output')
    .action(
      async (names: string[], flags: { all?: boolean; format?: string; stream: boolean; trunc: boolean }) => {
        const client = ctx.client();
        const targets =
          names.length > 0 ? names : (await client.containers.list({ all: !!flags.all })).map((c) => c.Id);
        const render = (readings: Map<string, ContainerStatsJson>) =>
          renderList(
            targets.flatMap((t) => {
              const s = readings.get(t);
              return s ? [statsRow(s, t, !flags.trunc)] : [];
            }),
            { format: flags.format ?? '', defaultFormat: STATS_DEFAULT_FORMAT, headers: STATS_HEADERS },
          );
        const readings = new Map<string, ContainerStatsJson>();
        if (!flags.stream) {
          const failures: string[] = [];
          await Promise.all(
            targets.map(async (t) => {
              try {
                readings.set(t, await client.containerOps.stats(t, { stream: false }));
              } catch (e) {
                failures.push(e instanceof Error ? e.message : String(e));
              }
            }),
          );
          if (failures.length > 0)
            throw new StatusError(1, failures.map((f) => `Error response from daemon: ${f}`).join('\n'));
          ctx.out(render(readings));
          return;
        }
        const streams = await Promise.all(
          targets.map(async (t) => ({ t, stream: await client.containerOps.stats(t, { stream: true }) })),
        );
        const isTty = ctx.io.stdout.isTTY === true;
        const timer = setInterval(() => {
          ctx.out(`${isTty ? '\x1b[2J\x1b[H' : ''}${render(readings)}`);
        }, 1000);
        try {
          await Promise.all(
            streams.map(async ({ t, stream }) => {
              for await (const s of stream) readings.set(t, s);
            }),
          );
        } finally {
          clearInterval(timer);
        }
      },
    );
}

function defineTop(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Display the running processes of a container')
    .argument('<container>')
    .argument('[ps OPTIONS...]')
    .allowUnknownOption()
    .action(async (container: string, psOptions: string[]) => {
      const table = await ctx.client().containerOps.top(container, { psArgs: psOptions.join(' ') });
      const lines = [table.Titles.join('\t'), ...(table.Processes ?? []).map((p) => p.join('\t'))];
      ctx.out(`${alignColumns(lines.join('\n'), { minWidth: 20, padding: 3 })}\n`);
    });
}

function defineDiff(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description("Inspect changes to files or directories on a container's filesystem")
    .argument('<container>')
    .action(async (container: string) => {
      const changes = await ctx.client().containerOps.changes(container);
      const kinds = ['C', 'A', 'D'];
      for (const change of changes) ctx.out(`${kinds[change.Kind] ?? '?'} ${change.Path}\n`);
    });
}

function defineExport(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description("Export a container's filesystem as a tar archive")
    .argument('<container>')
    .option('-o, --output <string>', 'Write to a file, instead of STDOUT')
    .action(async (container: string, flags: { output?: string }) => {
      if (!flags.output && ctx.io.stdout.isTTY) {
        throw new UsageError('cowardly refusing to save to a terminal. Use the -o flag or redirect');
      }
      const tar = await ctx.client().containerOps.export(container);
      await writeOut(ctx, tar, flags.output);
    });
}

async function writeOut(ctx: CliContext, stream: Readable, path: string | undefined): Promise<void> {
  if (path) {
    await pipeline(stream, createWriteStream(path));
    return;
  }
  for await (const chunk of stream) {
    if (!ctx.io.stdout.write(chunk as Buffer)) {
      await new Promise((resolve) => ctx.io.stdout.once('drain', resolve));
    }
  }
}

function parseBool(value: string | undefined): boolean {
  if (value === undefined || value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new UsageError(
    `invalid argument "${value}" for "-p, --pause" flag: strconv.ParseBool: parsing "${value}": invalid syntax`,
  );
}

function defineCommit(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description("Create a new image from a container's changes")
    .argument('<container>')
    .argument('[repository[:tag]]')
    .option('-a, --author <string>', 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
    .option('-c, --change <value>', 'Apply Dockerfile instruction to the created image', collect, [])
    .option('-m, --message <string>', 'Commit message')
    .option('-p, --pause [bool]', 'Pause container during commit', (v: string) => String(parseBool(v)))
    .action(
      async (
        container: string,
        reference: string | undefined,
        flags: { author?: string; change: string[]; message?: string; pause?: string | boolean },
      ) => {
        const { repo, tag } = splitReference(reference ?? '');
        const result = await ctx.client().containerOps.commit(container, {
          ...(repo ? { repo } : {}),
          ...(tag ? { tag } : {}),
          ...(flags.author ? { author: flags.author } : {}),
          ...(flags.message ? { comment: flags.message } : {}),
          changes: flags.change,
          pause: flags.pause === undefined || flags.pause === true || flags.pause === 'true',
        });
        ctx.out(`${result.Id}\n`);
      },
    );
}

function splitReference(ref: string): { repo: string; tag: string } {
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/')) return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repo: ref, tag: '' };
}

/** `CONTAINER:PATH` -> its parts; a local path (which may hold a colon after a slash) gives undefined. */
export function splitCopyArg(arg: string): { container: string; path: string } | undefined {
  if (arg.startsWith('/') || arg.startsWith('.')) return undefined;
  const colon = arg.indexOf(':');
  if (colon <= 0) return undefined;
  return { container: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

const GO_MODE_DIR = 2 ** 31;
const GO_MODE_SYMLINK = 2 ** 27;

function defineCp(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Copy files/folders between a container and the local filesystem')
    .usage(
      '[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n       berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
    )
    .argument('<source>')
    .argument('<destination>')
    .option('-a, --archive', 'Archive mode (copy all uid/gid information)')
    .option('-L, --follow-link', 'Always follow symbol link in SRC_PATH')
    .option('-q, --quiet', 'Suppress progress output during copy')
    .action(
      async (source: string, destination: string, flags: { archive?: boolean; followLink?: boolean }) => {
        const from = splitCopyArg(source);
        const to = splitCopyArg(destination);
        if (from && to) throw new UsageError('copying between containers is not supported');
        if (!from && !to) throw new UsageError('must specify at least one container source');
        const ops = ctx.client().containerOps;
        if (from) {
          let path = from.path;
          if (flags.followLink) {
            const s = await ops.statPath(from.container, path);
            if (s.linkTarget) path = s.linkTarget;
          }
          const { stat: srcStat, tar } = await ops.getArchive(from.container, path);
          if (destination === '-') {
            await writeOut(ctx, tar, undefined);
            return;
          }
          const contentsOnly = path.endsWith('/.');
          const destStat = await lstat(destination).catch(() => undefined);
          let targetDir: string;
          let rename: string | undefined;
          if (destStat?.isDirectory()) {
            targetDir = destination;
          } else {
            if (destination.endsWith('/'))
              throw new UsageError(`destination directory "${destination}" must exist`);
            if (destStat && (srcStat.mode & GO_MODE_DIR) !== 0) {
              throw new UsageError(`cannot copy a directory to a file: ${destination}`);
            }
            targetDir = posix.dirname(destination);
            rename = posix.basename(destination);
          }
          await extractArchive(tar, targetDir, {
            ...(rename !== undefined && !contentsOnly ? { rename: { from: srcStat.name, to: rename } } : {}),
            ...(contentsOnly && rename !== undefined ? { into: rename } : {}),
          });
          return;
        }
        const target = to as { container: string; path: string };
        if (source === '-') {
          await ops.putArchive(target.container, target.path, ctx.io.stdin as unknown as Readable, {
            noOverwriteDirNonDir: true,
            copyUidGid: !!flags.archive,
          });
          return;
        }
        const local = await stat(source).catch(() => undefined);
        if (!local) throw new UsageError(`could not find the file ${source}: no such file or directory`);
        let destDir = target.path;
        let name = posix.basename(posix.resolve(source));
        const dest = await ops.statPath(target.container, target.path).catch(() => undefined);
        const isDestDir =
          dest !== undefined && ((dest.mode & GO_MODE_DIR) !== 0 || (dest.mode & GO_MODE_SYMLINK) !== 0);
        if (!isDestDir) {
          if (target.path.endsWith('/')) {
            throw new UsageError(`destination directory "${target.path}" must exist`);
          }
          destDir = posix.dirname(posix.join('/', target.path));
          name = posix.basename(target.path);
        }
        if (source.endsWith('/.') && isDestDir) name = '.';
        const tar = packLocal(source, name);
        await ops.putArchive(target.container, destDir, tar, {
          noOverwriteDirNonDir: true,
          copyUidGid: !!flags.archive,
        });
      },
    );
}

/** stats, top, diff, export, commit, cp: top-level and under `container`. */
export function registerContainerOpsCommands(program: Command, ctx: CliContext): void {
  const defs: [string, (cmd: Command, ctx: CliContext) => Command][] = [
    ['stats', defineStats],
    ['top', defineTop],
    ['diff', defineDiff],
    ['export', defineExport],
    ['commit', defineCommit],
    ['cp', defineCp],
  ];
  const group = program.commands.find((c) => c.name() === 'container');
  for (const [name, define] of defs) {
    define(program.command(name), ctx);
    if (group) define(group.command(name), ctx);
  }
}
