import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, NotFoundError } from '../../api/index.js';
import type { Engine } from '../../engine/index.js';
import { queryBool, type RequestContext } from '../context.js';
import { parseFilters } from '../filters.js';
import type { ApiRouter } from '../router.js';
import { imageInspectOf, imageSummaryOf } from '../wire.js';
import { pullFromRegistry, pushToRegistry } from './registry.js';

const IMAGE_FILTERS = ['dangling', 'label', 'reference', 'before', 'since', 'until'];

function usedBy(engine: Engine): (imageId: string) => string | undefined {
  return (imageId) => engine.containers.userOfImage(imageId)?.id;
}

async function list(engine: Engine, ctx: RequestContext): Promise<void> {
  const filters = parseFilters(ctx.query.get('filters'), IMAGE_FILTERS);
  const images = await engine.images.list({ all: queryBool(ctx.query, 'all'), filters });
  const containers = engine.containers.list();
  ctx.reply.json(
    200,
    images.map((image) => imageSummaryOf(image, containers.filter((c) => c.imageId === image.id).length)),
  );
}

async function load(engine: Engine, ctx: RequestContext): Promise<void> {
  // The whole archive is checked before we answer, so a bad one gets a 400 and changes nothing.
  const lines = await engine.images.load(ctx.req, ctx.signal);
  const out = ctx.reply.stream(200, 'application/json');
  for (const line of lines) out.write(`${JSON.stringify({ stream: `${line}\n` })}\n`);
  out.end();
}

async function save(engine: Engine, ctx: RequestContext, names: string[]): Promise<void> {
  if (names.length === 0) throw new InvalidArgumentError('no image names given');
  const tar = await engine.images.save(names);
  const out = ctx.reply.stream(200, 'application/x-tar');
  await pipeline(tar, out);
}

async function create(engine: Engine, ctx: RequestContext): Promise<void> {
  const { query } = ctx;
  const fromSrc = query.get('fromSrc');
  if (fromSrc === null) {
    await pullFromRegistry(engine, ctx, query.get('fromImage') ?? '');
    return;
  }
  if (fromSrc !== '-')
    throw new InvalidArgumentError('only imports from the request body (fromSrc=-) are supported');
  const repo = query.get('repo') ?? '';
  const image = await engine.images.importRootfs(ctx.req, {
    ...(repo ? { repo } : {}),
    ...(query.get('tag') ? { tag: query.get('tag') ?? '' } : {}),
    changes: query.getAll('changes'),
    ...(query.get('message') ? { message: query.get('message') ?? '' } : {}),
  });
  const out = ctx.reply.stream(200, 'application/json');
  out.end(`${JSON.stringify({ status: image.id })}\n`);
}

async function prune(engine: Engine, ctx: RequestContext): Promise<void> {
  const filters = parseFilters(ctx.query.get('filters'), IMAGE_FILTERS);
  const dangling = filters.dangling?.[0];
  const { dangling: _, ...rest } = filters;
  const result = await engine.images.prune({
    danglingOnly: dangling === undefined || dangling === 'true' || dangling === '1',
    filters: rest,
    usedBy: usedBy(engine),
  });
  ctx.reply.json(200, {
    ImagesDeleted: result.deleted.length > 0 ? result.deleted : null,
    SpaceReclaimed: result.spaceReclaimed,
  });
}

/**
 * `/images/{name}/...`: names hold slashes (`registry:5000/team/app:1`), so the
 * operation is the last path segment and the name is everything before it.
 */
async function byName(engine: Engine, ctx: RequestContext): Promise<void> {
  const rest = ctx.params['*'] ?? '';
  const method = ctx.req.method;
  if (method === 'DELETE') {
    const items = await engine.images.remove(rest, {
      force: queryBool(ctx.query, 'force'),
      noprune: queryBool(ctx.query, 'noprune'),
      usedBy: usedBy(engine),
      isRunning: (id) => engine.containers.isRunning(id),
    });
    ctx.reply.json(200, items);
    return;
  }
  const slash = rest.lastIndexOf('/');
  const name = rest.slice(0, slash);
  const operation = rest.slice(slash + 1);
  if (slash <= 0) throw new NotFoundError('page not found');
  if (method === 'GET' && operation === 'json') {
    const image = await engine.images.resolve(name);
    // dockerd dropped ContainerConfig at API 1.45, but docker-compose 1.29 negotiates the
    // newest version and still indexes ContainerConfig when it recreates a container
    // (its KeyError with Docker 25+): keep sending it, the image's config stands in.
    ctx.reply.json(200, { ...imageInspectOf(image), ContainerConfig: image.config.config ?? {} });
  } else if (method === 'GET' && operation === 'history') {
    ctx.reply.json(200, await engine.images.history(name));
  } else if (method === 'GET' && operation === 'get') {
    await save(engine, ctx, [name]);
  } else if (method === 'POST' && operation === 'push') {
    await pushToRegistry(engine, ctx, name);
  } else if (method === 'POST' && operation === 'tag') {
    const repo = ctx.query.get('repo');
    if (!repo) throw new InvalidArgumentError('repository name must have at least one component');
    await engine.images.tag(name, repo, ctx.query.get('tag') || undefined);
    ctx.reply.empty(201);
  } else {
    throw new NotFoundError('page not found');
  }
}

export function addImageRoutes(router: ApiRouter, engine: Engine): void {
  router
    .on('GET', '/images/json', (ctx) => list(engine, ctx))
    .on('POST', '/images/load', (ctx) => load(engine, ctx))
    .on('GET', '/images/get', (ctx) => save(engine, ctx, ctx.query.getAll('names')))
    .on('POST', '/images/create', (ctx) => create(engine, ctx))
    .on('POST', '/images/prune', (ctx) => prune(engine, ctx))
    .on(['GET', 'POST', 'DELETE'], '/images/*', (ctx) => byName(engine, ctx));
}
