import type { Writable } from 'node:stream';
import { InvalidArgumentError, messageOf } from '../../api/index.js';
import type { Engine } from '../../engine/index.js';
import { credentialsOf, type ProgressSink, parseRegistryAuthHeader } from '../../engine/index.js';
import { headerOf, type RequestContext, readBody } from '../context.js';
import type { ApiRouter } from '../router.js';

function credentialsOfRequest(ctx: RequestContext) {
  return parseRegistryAuthHeader(headerOf(ctx, 'x-registry-auth'));
}

/**
 * Runs a pull or push as dockerd does: the 200 and the first progress line go out
 * together, so a failure before any progress is an ordinary error response (404 for
 * a missing tag), and one after it is an `errorDetail` line, which docker prints and
 * turns into exit status 1.
 */
async function withProgress(
  ctx: RequestContext,
  work: (progress: ProgressSink) => Promise<void>,
): Promise<void> {
  let out: Writable | undefined;
  const open = (): Writable => {
    out ??= ctx.reply.stream(200, 'application/json');
    return out;
  };
  try {
    await work((message) => open().write(`${JSON.stringify(message)}\n`));
  } catch (e) {
    if (out === undefined) throw e;
    const message = messageOf(e);
    out.end(`${JSON.stringify({ errorDetail: { message }, error: message })}\n`);
    return;
  }
  open().end();
}

/** `POST /images/create?fromImage=&tag=`: a pull. */
export async function pullFromRegistry(
  engine: Engine,
  ctx: RequestContext,
  fromImage: string,
): Promise<void> {
  const credentials = credentialsOfRequest(ctx);
  await withProgress(ctx, async (progress) => {
    await engine.registry.pull(fromImage, ctx.query.get('tag') || undefined, {
      credentials,
      progress,
      signal: ctx.signal,
    });
  });
}

/** `POST /images/{name}/push?tag=` */
export async function pushToRegistry(engine: Engine, ctx: RequestContext, name: string): Promise<void> {
  const credentials = credentialsOfRequest(ctx);
  await withProgress(ctx, (progress) =>
    engine.registry.push(name, ctx.query.get('tag') || undefined, {
      credentials,
      progress,
      signal: ctx.signal,
    }),
  );
}

/** `POST /auth`: docker login asks the daemon to check credentials against the registry. */
async function auth(engine: Engine, ctx: RequestContext): Promise<void> {
  const text = (await readBody(ctx.req)).toString('utf8');
  let body: unknown = {};
  try {
    if (text.trim() !== '') body = JSON.parse(text);
  } catch (e) {
    throw new InvalidArgumentError(`invalid JSON in request body: ${messageOf(e)}`);
  }
  const { serverAddress, ...credentials } = credentialsOf(body);
  await engine.registry.login(serverAddress, credentials);
  ctx.reply.json(200, { Status: 'Login Succeeded', IdentityToken: '' });
}

export function addRegistryRoutes(router: ApiRouter, engine: Engine): void {
  router.on('POST', '/auth', (ctx) => auth(engine, ctx));
}
