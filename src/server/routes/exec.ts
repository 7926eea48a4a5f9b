import { z } from 'zod';
import { InvalidArgumentError, messageOf } from '../../api/index.js';
import type { Engine, ExecConfig, ExecRecord, ExecSession } from '../../engine/index.js';
import { type RequestContext, readJson } from '../context.js';
import type { ApiRouter } from '../router.js';
import { detachKeysOf, serveHijacked, terminalSizeOf } from './hijack.js';

const execCreateSchema = z.looseObject({
  Cmd: z
    .union([z.array(z.string()), z.string().transform((s) => [s])])
    .nullable()
    .optional(),
  Env: z.array(z.string()).nullable().optional(),
  WorkingDir: z.string().optional(),
  User: z.string().optional(),
  Privileged: z.boolean().optional(),
  Tty: z.boolean().optional(),
  AttachStdin: z.boolean().optional(),
  AttachStdout: z.boolean().optional(),
  AttachStderr: z.boolean().optional(),
  DetachKeys: z.string().optional(),
});

const execStartSchema = z.looseObject({
  Detach: z.boolean().optional(),
  Tty: z.boolean().optional(),
});

const MAX_START_BODY_BYTES = 64 * 1024;

/**
 * The body of a request that asked to upgrade: Node hands the connection over right
 * after the headers, so the body (the docker CLI sends one with exec start) is read
 * from the socket here, and anything past it is left for the stdin pump.
 */
async function readUpgradeBody(ctx: RequestContext): Promise<unknown> {
  const length = Number(ctx.req.headers['content-length'] ?? '0');
  if (!Number.isInteger(length) || length < 0 || length > MAX_START_BODY_BYTES) {
    throw new InvalidArgumentError(`invalid request body length: ${ctx.req.headers['content-length']}`);
  }
  if (length === 0) return {};
  const socket = ctx.req.socket;
  const chunks: Buffer[] = [];
  let size = 0;
  await new Promise<void>((resolve, reject) => {
    const onReadable = () => {
      for (
        let chunk = socket.read() as Buffer | null;
        chunk !== null;
        chunk = socket.read() as Buffer | null
      ) {
        const needed = length - size;
        if (chunk.length > needed) socket.unshift(chunk.subarray(needed));
        chunks.push(chunk.subarray(0, needed));
        size += Math.min(chunk.length, needed);
        if (size === length) {
          cleanup();
          resolve();
          return;
        }
      }
    };
    const onEnd = () => {
      cleanup();
      reject(new InvalidArgumentError('request body ended early'));
    };
    const cleanup = () => {
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
    };
    socket.on('readable', onReadable);
    socket.on('end', onEnd);
    onReadable();
  });
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InvalidArgumentError(`invalid JSON in request body: ${messageOf(e)}`);
  }
}

async function readStartBody(ctx: RequestContext): Promise<z.infer<typeof execStartSchema>> {
  if (ctx.req.headers.upgrade === undefined) return readJson(ctx, execStartSchema);
  const parsed = execStartSchema.safeParse(await readUpgradeBody(ctx));
  if (!parsed.success)
    throw new InvalidArgumentError(`invalid request body: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

async function create(engine: Engine, ctx: RequestContext): Promise<void> {
  const body = await readJson(ctx, execCreateSchema);
  const config: ExecConfig = {
    Cmd: body.Cmd ?? [],
    Env: body.Env ?? [],
    WorkingDir: body.WorkingDir ?? '',
    User: body.User ?? '',
    Privileged: body.Privileged ?? false,
    Tty: body.Tty ?? false,
    AttachStdin: body.AttachStdin ?? false,
    AttachStdout: body.AttachStdout ?? false,
    AttachStderr: body.AttachStderr ?? false,
    DetachKeys: body.DetachKeys ?? '',
  };
  const id = engine.exec.create(ctx.params.id ?? '', config);
  ctx.reply.json(201, { Id: id });
}

async function start(engine: Engine, ctx: RequestContext): Promise<void> {
  const id = ctx.params.id ?? '';
  const body = await readStartBody(ctx);
  const record = engine.exec.get(id);
  if (body.Detach) {
    await engine.exec.start(id, { detach: true, signal: ctx.signal });
    ctx.reply.empty(200);
    return;
  }
  const { config } = record;
  const detachKeys = detachKeysOf(config.DetachKeys, 'escape');
  let session: ExecSession | undefined;
  let announce: (s: ExecSession | undefined) => void = () => undefined;
  const started = new Promise<ExecSession | undefined>((resolve) => {
    announce = resolve;
  });
  await serveHijacked(ctx, {
    tty: config.Tty,
    stdout: config.AttachStdout,
    stderr: config.AttachStderr,
    // Docker starts the process after the hijack and reports a failure in the stream.
    async onHijacked(write) {
      try {
        session = await engine.exec.start(id, { detach: false, signal: ctx.signal });
      } catch (e) {
        write(`${messageOf(e)}\r\n`);
      } finally {
        announce(session);
      }
    },
    async *output() {
      if (session) yield* session.output;
    },
    ...(config.AttachStdin
      ? {
          stdin: {
            open: async () => (await started)?.stdin,
            // Docker closes an exec's stdin when the client's ends, unless it has a TTY.
            closeOnEnd: !config.Tty,
            detachKeys,
          },
        }
      : {}),
  });
}

function inspectOf(record: ExecRecord): Record<string, unknown> {
  const [entrypoint = '', ...args] = record.config.Cmd;
  return {
    CanRemove: false,
    ContainerID: record.containerId,
    DetachKeys: record.config.DetachKeys,
    ExitCode: record.exitCode,
    ID: record.id,
    OpenStderr: record.config.AttachStderr,
    OpenStdin: record.config.AttachStdin,
    OpenStdout: record.config.AttachStdout,
    ProcessConfig: {
      arguments: args,
      entrypoint,
      privileged: record.config.Privileged,
      tty: record.config.Tty,
      user: record.config.User,
    },
    Running: record.isRunning,
    Pid: record.pid,
  };
}

export function addExecRoutes(router: ApiRouter, engine: Engine): void {
  router
    .on('POST', '/containers/:id/exec', (ctx) => create(engine, ctx))
    .on('POST', '/exec/:id/start', (ctx) => start(engine, ctx))
    .on('GET', '/exec/:id/json', (ctx) =>
      ctx.reply.json(200, inspectOf(engine.exec.get(ctx.params.id ?? ''))),
    )
    .on('POST', '/exec/:id/resize', async (ctx) => {
      await engine.exec.resize(ctx.params.id ?? '', terminalSizeOf(ctx.query));
      ctx.reply.empty(200);
    });
}
