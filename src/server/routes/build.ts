import type { Writable } from 'node:stream';
import { InvalidArgumentError, messageOf } from '../../api/index.js';
import {
  type BuildRequest,
  type Engine,
  parseRegistryConfigHeader,
  StepFailedError,
} from '../../engine/index.js';
import { headerOf, queryBool, queryInt, type RequestContext } from '../context.js';
import type { ApiRouter } from '../router.js';

function jsonParam<T>(query: URLSearchParams, name: string, fallback: T): T {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  try {
    return JSON.parse(raw) as T;
  } catch (e) {
    throw new InvalidArgumentError(`invalid ${name} parameter: ${messageOf(e)}`, { cause: e });
  }
}

function requestOf(ctx: RequestContext): BuildRequest {
  const { query } = ctx;
  const shmSizeBytes = queryInt(query, 'shmsize');
  const memoryBytes = queryInt(query, 'memory');
  const cpusetCpus = query.get('cpusetcpus');
  // Docker's `rm` defaults to true; the CLI always sends it.
  const rm = query.get('rm');
  return {
    context: ctx.req,
    dockerfile: query.get('dockerfile') || 'Dockerfile',
    tags: query.getAll('t').filter((t) => t !== ''),
    buildArgs: jsonParam(query, 'buildargs', {}),
    noCache: queryBool(query, 'nocache'),
    target: query.get('target') ?? '',
    labels: jsonParam(query, 'labels', {}),
    remove: rm === null || rm === '' ? true : queryBool(query, 'rm'),
    forceRemove: queryBool(query, 'forcerm'),
    networkMode: query.get('networkmode') || 'default',
    extraHosts: (query.get('extrahosts') ?? '').split(',').filter((h) => h !== ''),
    ...(shmSizeBytes ? { shmSizeBytes } : {}),
    ...(memoryBytes ? { memoryBytes } : {}),
    ...(cpusetCpus ? { cpusetCpus } : {}),
    registryCredentials: parseRegistryConfigHeader(headerOf(ctx, 'x-registry-config')),
    signal: ctx.signal,
  };
}

/**
 * `POST /build`, the classic builder's protocol: the body is the context tar. As
 * dockerd does, an error before the first output line is an ordinary error response,
 * and one after it an `errorDetail` line (with the exit code of a failed RUN).
 */
async function build(engine: Engine, ctx: RequestContext): Promise<void> {
  const request = requestOf(ctx);
  const isQuiet = queryBool(ctx.query, 'q');
  let out: Writable | undefined;
  const write = (message: object) => {
    out ??= ctx.reply.stream(200, 'application/json');
    out.write(`${JSON.stringify(message)}\n`);
  };
  try {
    await engine.build.builder.build(request, {
      stream: (text) => {
        if (!isQuiet) write({ stream: text });
      },
      aux: (value) => write({ aux: value }),
    });
  } catch (e) {
    // The body may not have been read to its end: drop the rest rather than stall the client.
    ctx.req.resume();
    if (out === undefined && !(e instanceof StepFailedError)) throw e;
    const message = messageOf(e);
    const code = e instanceof StepFailedError ? e.exitCode : 1;
    write({ errorDetail: { code, message }, error: message });
  }
  (out as Writable | undefined)?.end();
}

async function prune(engine: Engine, ctx: RequestContext): Promise<void> {
  const { deleted, spaceReclaimed } = await engine.build.builder.prune();
  ctx.reply.json(200, { CachesDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: spaceReclaimed });
}

export function addBuildRoutes(router: ApiRouter, engine: Engine): void {
  router.on('POST', '/build', (ctx) => build(engine, ctx));
  router.on('POST', '/build/prune', (ctx) => prune(engine, ctx));
}
