import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { type ImageRuntimeConfig, InvalidArgumentError } from '../../api/index.js';
import type { Engine, PathStat, ResourceSample, StatsReading } from '../../engine/index.js';
import { ZERO_TIME } from '../../engine/index.js';
import { queryBool, type RequestContext, readJson } from '../context.js';
import type { ApiRouter } from '../router.js';

// Docker's collector samples once a second; a non-streamed reading waits one interval so CPU % has a base.
const STATS_INTERVAL_MS = 1000;
const PATH_STAT_HEADER = 'X-Docker-Container-Path-Stat';

const commitConfigSchema = z.looseObject({}).nullable();

/** Docker's stats JSON (cgroup v1 shape) for one reading and the one before it. */
export function statsJsonOf(reading: StatsReading, previous: ResourceSample | undefined): object {
  const now = reading.sample;
  return {
    read: now ? now.read.toISOString() : ZERO_TIME,
    preread: previous ? previous.read.toISOString() : ZERO_TIME,
    pids_stats: now
      ? { current: now.pids.current, ...(now.pids.limit ? { limit: now.pids.limit } : {}) }
      : {},
    blkio_stats: {
      io_service_bytes_recursive: now ? now.blkio.serviceBytes : null,
      io_serviced_recursive: now ? now.blkio.serviced : null,
      io_queue_recursive: null,
      io_service_time_recursive: null,
      io_wait_time_recursive: null,
      io_merged_recursive: null,
      io_time_recursive: null,
      sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStatsOf(now),
    precpu_stats: cpuStatsOf(previous),
    memory_stats: now
      ? {
          usage: now.memory.usage,
          max_usage: now.memory.maxUsage,
          stats: now.memory.stats,
          failcnt: now.memory.failcnt,
          limit: now.memory.limit,
        }
      : {},
    name: reading.name,
    id: reading.id,
    ...(now
      ? {
          networks: Object.fromEntries(
            Object.entries(now.networks).map(([name, n]) => [
              name,
              {
                rx_bytes: n.rxBytes,
                rx_packets: n.rxPackets,
                rx_errors: n.rxErrors,
                rx_dropped: n.rxDropped,
                tx_bytes: n.txBytes,
                tx_packets: n.txPackets,
                tx_errors: n.txErrors,
                tx_dropped: n.txDropped,
              },
            ]),
          ),
        }
      : {}),
  };
}

function cpuStatsOf(sample: ResourceSample | undefined): object {
  if (!sample)
    return {
      cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
      throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
    };
  const { cpu } = sample;
  return {
    cpu_usage: {
      total_usage: cpu.totalNs,
      percpu_usage: cpu.perCpuNs,
      usage_in_kernelmode: cpu.systemNs,
      usage_in_usermode: cpu.userNs,
    },
    system_cpu_usage: sample.systemCpuNs,
    online_cpus: sample.onlineCpus,
    throttling_data: {
      periods: cpu.throttling.periods,
      throttled_periods: cpu.throttling.throttledPeriods,
      throttled_time: cpu.throttling.throttledTimeNs,
    },
  };
}

/** Go's os.FileMode bits from a Unix st_mode: the docker CLI decodes the path stat with them. */
export function goFileModeOf(mode: number): number {
  const GO = {
    dir: 2 ** 31,
    symlink: 2 ** 27,
    device: 2 ** 26,
    namedPipe: 2 ** 25,
    socket: 2 ** 24,
    setuid: 2 ** 23,
    setgid: 2 ** 22,
    charDevice: 2 ** 21,
    sticky: 2 ** 20,
  };
  let result = mode & 0o777;
  switch (mode & 0o170000) {
    case 0o040000:
      result += GO.dir;
      break;
    case 0o120000:
      result += GO.symlink;
      break;
    case 0o010000:
      result += GO.namedPipe;
      break;
    case 0o140000:
      result += GO.socket;
      break;
    case 0o060000:
      result += GO.device;
      break;
    case 0o020000:
      result += GO.device + GO.charDevice;
      break;
  }
  if (mode & 0o4000) result += GO.setuid;
  if (mode & 0o2000) result += GO.setgid;
  if (mode & 0o1000) result += GO.sticky;
  return result;
}

export function pathStatHeaderOf(stat: PathStat): string {
  const json = JSON.stringify({
    name: stat.name,
    size: stat.size,
    mode: goFileModeOf(stat.mode),
    mtime: stat.mtime.toISOString(),
    linkTarget: stat.linkTarget,
  });
  return Buffer.from(json).toString('base64');
}

async function stats(engine: Engine, ctx: RequestContext): Promise<void> {
  const ops = engine.containerOps;
  const id = ctx.params.id ?? '';
  const isStream = ctx.query.get('stream') === null || queryBool(ctx.query, 'stream');
  const isOneShot = !isStream && queryBool(ctx.query, 'one-shot');
  let reading = await ops.stats(id);
  if (!isStream) {
    let previous: ResourceSample | undefined;
    if (!isOneShot && reading.sample) {
      previous = reading.sample;
      await sleep(STATS_INTERVAL_MS, undefined, { signal: ctx.signal });
      reading = await ops.stats(id);
    }
    ctx.reply.json(200, statsJsonOf(reading, previous));
    return;
  }
  const out = ctx.reply.stream(200, 'application/json');
  let previous: ResourceSample | undefined;
  try {
    for (;;) {
      out.write(`${JSON.stringify(statsJsonOf(reading, previous))}\n`);
      previous = reading.sample;
      await sleep(STATS_INTERVAL_MS, undefined, { signal: ctx.signal });
      reading = await ops.stats(id);
    }
  } catch (e) {
    if (!ctx.signal.aborted) throw e;
  }
  out.end();
}

async function commit(engine: Engine, ctx: RequestContext): Promise<void> {
  const { query } = ctx;
  const config = (await readJson(ctx, commitConfigSchema)) as ImageRuntimeConfig | null;
  const text = (name: string) => query.get(name) || undefined;
  const repo = text('repo');
  const tag = text('tag');
  const comment = text('comment');
  const author = text('author');
  const image = await engine.containerOps.commit(query.get('container') ?? '', {
    ...(repo ? { repo } : {}),
    ...(tag ? { tag } : {}),
    ...(comment ? { comment } : {}),
    ...(author ? { author } : {}),
    changes: query.getAll('changes').filter((c) => c !== ''),
    // Docker pauses unless told not to (API 1.13 and later).
    pause: query.get('pause') === null || query.get('pause') === '' || queryBool(query, 'pause'),
    ...(config ? { config } : {}),
  });
  ctx.reply.json(201, { Id: image.id });
}

export function addContainerOpsRoutes(router: ApiRouter, engine: Engine): void {
  const ops = engine.containerOps;
  router
    .on('GET', '/containers/:id/stats', (ctx) => stats(engine, ctx))
    .on('GET', '/containers/:id/top', async (ctx) => {
      const table = await ops.top(ctx.params.id ?? '', ctx.query.get('ps_args') ?? '');
      ctx.reply.json(200, { Titles: table.titles, Processes: table.processes });
    })
    .on('GET', '/containers/:id/changes', async (ctx) => {
      const changes = await ops.changes(ctx.params.id ?? '');
      ctx.reply.json(
        200,
        changes.map((c) => ({ Path: c.path, Kind: c.kind })),
      );
    })
    .on('GET', '/containers/:id/export', async (ctx) => {
      const tar = await ops.exportRootfs(ctx.params.id ?? '');
      await pipeline(tar, ctx.reply.stream(200, 'application/x-tar'));
    })
    .on('HEAD', '/containers/:id/archive', async (ctx) => {
      const stat = await ops.statPath(ctx.params.id ?? '', requiredPath(ctx));
      ctx.reply.stream(200, 'application/json', { [PATH_STAT_HEADER]: pathStatHeaderOf(stat) }).end();
    })
    .on('GET', '/containers/:id/archive', async (ctx) => {
      const { stat, tar } = await ops.getArchive(ctx.params.id ?? '', requiredPath(ctx));
      const out = ctx.reply.stream(200, 'application/x-tar', { [PATH_STAT_HEADER]: pathStatHeaderOf(stat) });
      await pipeline(tar, out);
    })
    .on('PUT', '/containers/:id/archive', async (ctx) => {
      await ops.putArchive(ctx.params.id ?? '', requiredPath(ctx), ctx.req, {
        noOverwriteDirNonDir: queryBool(ctx.query, 'noOverwriteDirNonDir'),
        copyUidGid: queryBool(ctx.query, 'copyUIDGID'),
      });
      ctx.reply.empty(200);
    })
    .on('POST', '/commit', (ctx) => commit(engine, ctx));
}

function requiredPath(ctx: RequestContext): string {
  const path = ctx.query.get('path');
  if (path === null || path === '') throw new InvalidArgumentError('path parameter is required');
  return path;
}
