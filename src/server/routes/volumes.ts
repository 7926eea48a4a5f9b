import { z } from 'zod';
import { InvalidArgumentError, type VolumeInfo } from '../../api/index.js';
import type { Engine, Volume } from '../../engine/index.js';
import { queryBool, type RequestContext, readJson } from '../context.js';
import { type Filters, matchesAny, matchesLabels, parseFilters } from '../filters.js';
import type { ApiRouter } from '../router.js';

const createSchema = z.looseObject({
  Name: z.string().optional(),
  Driver: z.string().optional(),
  DriverOpts: z.record(z.string(), z.string()).nullable().optional(),
  Labels: z.record(z.string(), z.string()).nullable().optional(),
});

const LIST_FILTERS = ['dangling', 'driver', 'label', 'name'];
const PRUNE_FILTERS = ['label', 'label!', 'all'];

export function volumeInfoOf(volume: Volume): VolumeInfo {
  return {
    CreatedAt: volume.createdAt,
    Driver: volume.driver,
    Labels: volume.labels,
    Mountpoint: volume.mountpoint,
    Name: volume.name,
    Options: volume.options,
    Scope: 'local',
  };
}

/** Docker's boolean filter values: true/1 and false/0. */
function filterBool(name: string, value: string): boolean {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new InvalidArgumentError(`invalid filter '${name}=${value}'`);
}

function matchesVolume(engine: Engine, volume: Volume, filters: Filters): boolean {
  return (
    matchesAny(
      filters.dangling,
      (d) => filterBool('dangling', d) === (engine.volumes.usersOf(volume.name).length === 0),
    ) &&
    matchesAny(filters.driver, (d) => d === volume.driver) &&
    matchesAny(filters.name, (n) => volume.name.includes(n)) &&
    matchesLabels(volume.labels, filters.label)
  );
}

function list(engine: Engine, ctx: RequestContext): void {
  const filters = parseFilters(ctx.query.get('filters'), LIST_FILTERS);
  const volumes = engine.volumes.list().filter((v) => matchesVolume(engine, v, filters));
  ctx.reply.json(200, { Volumes: volumes.map(volumeInfoOf), Warnings: null });
}

async function create(engine: Engine, ctx: RequestContext): Promise<void> {
  const body = await readJson(ctx, createSchema);
  const volume = await engine.volumes.create({
    ...(body.Name !== undefined ? { name: body.Name } : {}),
    ...(body.Driver !== undefined ? { driver: body.Driver } : {}),
    labels: body.Labels ?? {},
    options: body.DriverOpts ?? {},
  });
  ctx.reply.json(201, volumeInfoOf(volume));
}

async function prune(engine: Engine, ctx: RequestContext): Promise<void> {
  const filters = parseFilters(ctx.query.get('filters'), PRUNE_FILTERS);
  const all = (filters.all ?? []).some((v) => filterBool('all', v));
  const result = await engine.volumes.prune({
    all,
    ...(filters.label ? { label: filters.label } : {}),
    ...(filters['label!'] ? { labelNot: filters['label!'] } : {}),
  });
  ctx.reply.json(200, {
    VolumesDeleted: result.deleted.length > 0 ? result.deleted : null,
    SpaceReclaimed: result.spaceReclaimed,
  });
}

export function addVolumeRoutes(router: ApiRouter, engine: Engine): void {
  router
    .on('GET', '/volumes', (ctx) => list(engine, ctx))
    .on('POST', '/volumes/create', (ctx) => create(engine, ctx))
    .on('POST', '/volumes/prune', (ctx) => prune(engine, ctx))
    .on('GET', '/volumes/:name', (ctx) => {
      ctx.reply.json(200, volumeInfoOf(engine.volumes.get(ctx.params.name ?? '')));
    })
    .on('DELETE', '/volumes/:name', async (ctx) => {
      await engine.volumes.remove(ctx.params.name ?? '', { force: queryBool(ctx.query, 'force') });
      ctx.reply.empty(204);
    });
}
