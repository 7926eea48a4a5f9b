import type { Writable } from 'node:stream';
import { z } from 'zod';
import type { ContainerCreateRequest, HostConfig } from '../../api/index.js';
import {
  compareApiVersions,
  encodeFrame,
  InvalidArgumentError,
  MULTIPLEXED_STREAM_MEDIA_TYPE,
  messageOf,
  NotModifiedError,
  RAW_STREAM_MEDIA_TYPE,
  StreamKind,
} from '../../api/index.js';
import type { ContainerRecord, Engine, LogLine, WaitCondition } from '../../engine/index.js';
import { BatchedWriter } from '../batched-writer.js';
import { queryBool, queryInt, type RequestContext, readJson } from '../context.js';
import { type Filters, matchesAny, matchesLabels, parseFilters, parseTimestamp } from '../filters.js';
import type { ApiRouter } from '../router.js';
import { containerInspectOf, containerSummaryOf } from '../wire.js';
import { detachKeysOf, serveHijacked, terminalSizeOf } from './hijack.js';

// Docker accepts a string where it documents a list for Cmd and Entrypoint (strslice).
const stringList = z
  .union([z.array(z.string()), z.string().transform((s) => [s])])
  .nullable()
  .optional();

const hostConfigSchema = z.looseObject({
  NetworkMode: z.string().optional(),
  AutoRemove: z.boolean().optional(),
  Privileged: z.boolean().optional(),
  ReadonlyRootfs: z.boolean().optional(),
  Memory: z.number().int().nonnegative().optional(),
  NanoCpus: z.number().int().nonnegative().optional(),
  CpuShares: z.number().int().nonnegative().optional(),
  PidsLimit: z.number().int().nullable().optional(),
  CapAdd: z.array(z.string()).nullable().optional(),
  CapDrop: z.array(z.string()).nullable().optional(),
  Dns: z.array(z.string()).nullable().optional(),
  DnsSearch: z.array(z.string()).nullable().optional(),
  DnsOptions: z.array(z.string()).nullable().optional(),
  ExtraHosts: z.array(z.string()).nullable().optional(),
});

const createSchema = z.looseObject({
  Image: z.string().optional(),
  Cmd: stringList,
  Entrypoint: stringList,
  Env: z.array(z.string()).nullable().optional(),
  Labels: z.record(z.string(), z.string()).nullable().optional(),
  WorkingDir: z.string().optional(),
  User: z.string().optional(),
  Hostname: z.string().optional(),
  Domainname: z.string().optional(),
  Tty: z.boolean().optional(),
  OpenStdin: z.boolean().optional(),
  StdinOnce: z.boolean().optional(),
  StopSignal: z.string().optional(),
  StopTimeout: z.number().int().nullable().optional(),
  HostConfig: hostConfigSchema.nullable().optional(),
});

const CONTAINER_FILTERS = [
  'id',
  'name',
  'label',
  'status',
  'exited',
  'ancestor',
  'before',
  'since',
  'network',
  'health',
];
const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];

function matchesContainer(engine: Engine, record: ContainerRecord, filters: Filters): boolean {
  for (const status of filters.status ?? []) {
    if (!STATUSES.includes(status)) throw new InvalidArgumentError(`invalid filter 'status=${status}'`);
  }
  return (
    matchesAny(filters.id, (id) => record.id.startsWith(id)) &&
    matchesAny(filters.name, (name) => new RegExp(name.replace(/^\//, '')).test(record.name.slice(1))) &&
    matchesLabels(record.config.Labels ?? {}, filters.label) &&
    matchesAny(filters.status, (s) => s === record.state.status) &&
    matchesAny(filters.health, (h) => (record.state.health?.Status ?? 'none') === h) &&
    matchesAny(
      filters.exited,
      (code) => record.state.status === 'exited' && String(record.state.exitCode) === code,
    ) &&
    matchesAny(
      filters.ancestor,
      (a) => record.imageRef === a || record.imageId === a || record.imageId.startsWith(`sha256:${a}`),
    ) &&
    matchesAny(filters.network, (n) => (record.hostConfig.NetworkMode ?? 'bridge') === n) &&
    matchesAny(filters.before, (ref) => record.created < engine.containers.get(ref).created) &&
    matchesAny(filters.since, (ref) => record.created > engine.containers.get(ref).created)
  );
}

async function sizesOf(engine: Engine, record: ContainerRecord): Promise<{ rw: number; rootFs: number }> {
  const rw = await engine.rootfs.sizeRw(record.id).catch(() => 0);
  const image = await engine.images.resolve(record.imageId).catch(() => undefined);
  return { rw, rootFs: rw + (image?.size ?? 0) };
}

async function list(engine: Engine, ctx: RequestContext): Promise<void> {
  const { query } = ctx;
  const filters = parseFilters(query.get('filters'), CONTAINER_FILTERS);
  const all = queryBool(query, 'all');
  const limit = queryInt(query, 'limit');
  let records = engine.containers
    .list()
    .filter((r) => all || filters.status || r.state.status === 'running' || r.state.status === 'paused')
    .filter((r) => matchesContainer(engine, r, filters));
  if (limit !== undefined && limit > 0) records = records.slice(0, limit);
  const withSize = queryBool(query, 'size');
  const summaries = await Promise.all(
    records.map(async (r) => containerSummaryOf(r, withSize ? await sizesOf(engine, r) : undefined)),
  );
  ctx.reply.json(200, summaries);
}

async function inspect(engine: Engine, ctx: RequestContext): Promise<void> {
  const record = engine.containers.get(ctx.params.id ?? '');
  const sizes = queryBool(ctx.query, 'size') ? await sizesOf(engine, record) : undefined;
  const paths = { logPath: engine.containers.logPathOf(record), ...engine.containers.etcFilesOf(record) };
  const execIds = engine.exec.idsOf(record.id);
  ctx.reply.json(200, {
    ...containerInspectOf(record, paths, sizes),
    ExecIDs: execIds.length > 0 ? execIds : null,
  });
}

async function create(engine: Engine, ctx: RequestContext): Promise<void> {
  const body = (await readJson(ctx, createSchema)) as ContainerCreateRequest;
  const name = ctx.query.get('name') ?? undefined;
  const { id, warnings } = await engine.containers.create(body, name || undefined);
  ctx.reply.json(201, { Id: id, Warnings: warnings });
}

function stopTimeoutOf(ctx: RequestContext): number | undefined {
  return queryInt(ctx.query, 't');
}

async function wait(engine: Engine, ctx: RequestContext): Promise<void> {
  const condition = (ctx.query.get('condition') || 'not-running') as WaitCondition;
  if (!['not-running', 'next-exit', 'removed'].includes(condition)) {
    throw new InvalidArgumentError(`invalid condition: "${condition}"`);
  }
  const pending = engine.containers.wait(ctx.params.id ?? '', condition);
  // Clients wait for the headers before they start the container, so send them now.
  const out = ctx.reply.stream(200, 'application/json');
  try {
    const code = await pending;
    out.end(`${JSON.stringify({ StatusCode: code, Error: null })}\n`);
  } catch (e) {
    out.end(`${JSON.stringify({ StatusCode: -1, Error: { Message: messageOf(e) } })}\n`);
  }
}

/** Writes log lines as Docker does: framed per stream without a TTY, raw with one. */
async function pipeLines(
  lines: AsyncIterable<LogLine>,
  out: Writable,
  opts: { tty: boolean; stdout: boolean; stderr: boolean; timestamps: boolean },
): Promise<void> {
  const writer = new BatchedWriter(out);
  for await (const line of lines) {
    if (line.stream === 'stdout' ? !opts.stdout : !opts.stderr) continue;
    const payload = opts.timestamps
      ? Buffer.concat([Buffer.from(`${line.time} `), line.content])
      : line.content;
    const kind = line.stream === 'stdout' ? StreamKind.Stdout : StreamKind.Stderr;
    await writer.write(opts.tty ? payload : encodeFrame(kind, payload));
  }
  writer.flush();
}

async function logs(engine: Engine, ctx: RequestContext): Promise<void> {
  const { query } = ctx;
  const record = engine.containers.get(ctx.params.id ?? '');
  const stdout = queryBool(query, 'stdout');
  const stderr = queryBool(query, 'stderr');
  if (!stdout && !stderr)
    throw new InvalidArgumentError('Bad parameters: you must choose at least one stream');
  const tailText = query.get('tail');
  const tail = tailText === null || tailText === '' || tailText === 'all' ? undefined : Number(tailText);
  if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) {
    throw new InvalidArgumentError(`invalid value for tail: ${tailText}`);
  }
  const since = query.get('since');
  const until = query.get('until');
  const lines = engine.containers.logs(record.id, {
    follow: queryBool(query, 'follow'),
    ...(tail !== undefined ? { tail } : {}),
    ...(since && since !== '0' ? { sinceSeconds: parseTimestamp(since, 'since') } : {}),
    ...(until && until !== '0' ? { untilSeconds: parseTimestamp(until, 'until') } : {}),
    signal: ctx.signal,
  });
  const tty = record.config.Tty === true;
  const contentType =
    tty || compareApiVersions(ctx.apiVersion, '1.42') < 0
      ? RAW_STREAM_MEDIA_TYPE
      : MULTIPLEXED_STREAM_MEDIA_TYPE;
  const out = ctx.reply.stream(200, contentType);
  await pipeLines(lines, out, { tty, stdout, stderr, timestamps: queryBool(query, 'timestamps') });
  out.end();
}

async function attach(engine: Engine, ctx: RequestContext): Promise<void> {
  const { query } = ctx;
  const record = engine.containers.get(ctx.params.id ?? '');
  const detachKeys = detachKeysOf(query.get('detachKeys'), 'detach');
  const tty = record.config.Tty === true;
  const withLogs = queryBool(query, 'logs');
  const withStream = queryBool(query, 'stream');
  const stdin = queryBool(query, 'stdin')
    ? {
        open: (signal: AbortSignal) => engine.stdio.openStdin(record.id, signal),
        closeOnEnd: record.config.StdinOnce === true && !tty,
        detachKeys,
      }
    : undefined;
  await serveHijacked(ctx, {
    tty,
    stdout: queryBool(query, 'stdout'),
    stderr: queryBool(query, 'stderr'),
    async *output(signal) {
      if (withLogs) yield* engine.containers.logs(record.id, { signal });
      if (withStream) yield* engine.containers.attachOutput(record.id, signal);
    },
    ...(stdin ? { stdin } : {}),
  });
}

/** `POST /containers/prune`: stopped containers, narrowed by `until` and `label` filters. */
async function prune(engine: Engine, ctx: RequestContext): Promise<void> {
  const filters = parseFilters(ctx.query.get('filters'), ['until', 'label', 'label!']);
  const until = filters.until?.[0];
  const untilSeconds = until === undefined ? undefined : parseUntil(until);
  const result = await engine.containers.prune(
    (record) =>
      (untilSeconds !== undefined && Date.parse(record.created) / 1000 > untilSeconds) ||
      !matchesLabels(record.config.Labels ?? {}, filters.label) ||
      (filters['label!'] !== undefined && matchesLabels(record.config.Labels ?? {}, filters['label!'])),
  );
  ctx.reply.json(200, {
    ContainersDeleted: result.deleted.length > 0 ? result.deleted : null,
    SpaceReclaimed: result.spaceReclaimed,
  });
}

/** `until` takes a timestamp or a Go duration before now (`24h`, `10m`). */
function parseUntil(value: string): number {
  const duration = /^(\d+(?:\.\d+)?)(h|m|s)$/.exec(value);
  if (duration) {
    const unit = { h: 3600, m: 60, s: 1 }[duration[2] as 'h' | 'm' | 's'];
    return Date.now() / 1000 - Number(duration[1]) * unit;
  }
  return parseTimestamp(value, 'until');
}

export function addContainerRoutes(router: ApiRouter, engine: Engine): void {
  const { containers } = engine;
  router
    .on('GET', '/containers/json', (ctx) => list(engine, ctx))
    .on('POST', '/containers/create', (ctx) => create(engine, ctx))
    .on('GET', '/containers/:id/json', (ctx) => inspect(engine, ctx))
    .on('POST', '/containers/:id/start', async (ctx) => {
      await containers.start(ctx.params.id ?? '');
      ctx.reply.empty(204);
    })
    .on('POST', '/containers/:id/stop', async (ctx) => {
      const signal = ctx.query.get('signal') ?? undefined;
      const timeoutSeconds = stopTimeoutOf(ctx);
      await containers.stop(ctx.params.id ?? '', {
        ...(signal ? { signal } : {}),
        ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
      });
      ctx.reply.empty(204);
    })
    .on('POST', '/containers/:id/restart', async (ctx) => {
      const id = ctx.params.id ?? '';
      const timeoutSeconds = stopTimeoutOf(ctx);
      await containers
        .stop(id, timeoutSeconds !== undefined ? { timeoutSeconds } : {})
        .catch((e: unknown) => {
          if (e instanceof NotModifiedError) return;
          throw e;
        });
      await containers.start(id);
      ctx.reply.empty(204);
    })
    .on('POST', '/containers/:id/kill', async (ctx) => {
      await containers.kill(ctx.params.id ?? '', ctx.query.get('signal') || 'SIGKILL');
      ctx.reply.empty(204);
    })
    .on('DELETE', '/containers/:id', async (ctx) => {
      await containers.remove(ctx.params.id ?? '', {
        force: queryBool(ctx.query, 'force'),
        volumes: queryBool(ctx.query, 'v'),
      });
      ctx.reply.empty(204);
    })
    .on('POST', '/containers/:id/pause', async (ctx) => {
      await containers.pause(ctx.params.id ?? '');
      ctx.reply.empty(204);
    })
    .on('POST', '/containers/:id/unpause', async (ctx) => {
      await containers.unpause(ctx.params.id ?? '');
      ctx.reply.empty(204);
    })
    .on('POST', '/containers/:id/rename', async (ctx) => {
      await containers.rename(ctx.params.id ?? '', ctx.query.get('name') ?? '');
      ctx.reply.empty(204);
    })
    .on('POST', '/containers/:id/update', async (ctx) => {
      const changes = (await readJson(ctx, hostConfigSchema)) as HostConfig;
      const warnings = await containers.update(ctx.params.id ?? '', changes);
      ctx.reply.json(200, { Warnings: warnings });
    })
    .on('POST', '/containers/prune', (ctx) => prune(engine, ctx))
    .on('POST', '/containers/:id/wait', (ctx) => wait(engine, ctx))
    .on('GET', '/containers/:id/logs', (ctx) => logs(engine, ctx))
    .on('POST', '/containers/:id/attach', (ctx) => attach(engine, ctx))
    .on('POST', '/containers/:id/resize', async (ctx) => {
      await engine.stdio.resize(ctx.params.id ?? '', terminalSizeOf(ctx.query));
      ctx.reply.empty(200);
    });
}
