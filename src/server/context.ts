import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex, Readable, Writable } from 'node:stream';
import type { z } from 'zod';
import { InvalidArgumentError, messageOf } from '../api/index.js';

/** A reply to one request: an ordinary response, a stream, or a hijacked connection. */
export interface Reply {
  json(status: number, body: unknown): void;
  empty(status: number): void;
  /** Sends the headers now (clients wait on them) and returns the body stream. */
  stream(status: number, contentType: string, headers?: Record<string, string>): Writable;
  /** Takes over the connection as Docker's attach does: `101 UPGRADED` when the client asked, else `200`. */
  hijack(contentType: string): { output: Writable; input: Readable };
  readonly started: boolean;
}

export interface RequestContext {
  req: IncomingMessage;
  params: Record<string, string | undefined>;
  query: URLSearchParams;
  /** The API version the client asked for in the path, or ours. */
  apiVersion: string;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  reply: Reply;
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

const MAX_JSON_BODY_BYTES = 8 * 1024 * 1024;

export async function readBody(req: IncomingMessage, limit = MAX_JSON_BODY_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new InvalidArgumentError(`request body is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Parses and validates a JSON body; an empty body is `{}` as Docker allows for most routes. */
export async function readJson<T extends z.ZodType>(ctx: RequestContext, schema: T): Promise<z.infer<T>> {
  const text = (await readBody(ctx.req)).toString('utf8');
  let value: unknown = {};
  if (text.trim() !== '') {
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new InvalidArgumentError(`invalid JSON in request body: ${messageOf(e)}`);
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new InvalidArgumentError(
      `invalid request body${where}: ${issue?.message ?? 'does not match the schema'}`,
    );
  }
  return parsed.data;
}

/** A request header's value, the first one when the client sent it twice. */
export function headerOf(ctx: RequestContext, name: string): string | undefined {
  const value = ctx.req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

export function queryBool(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  return value !== null && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

export function queryInt(query: URLSearchParams, name: string): number | undefined {
  const value = query.get(name);
  if (value === null || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`invalid value for ${name}: ${value}`);
  return n;
}

/** A reply over Node's ServerResponse: the ordinary case. */
export function responseReply(res: ServerResponse): Reply {
  return {
    get started() {
      return res.headersSent;
    },
    json(status, body) {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(text),
      });
      res.end(text);
    },
    empty(status) {
      res.writeHead(status);
      res.end();
    },
    stream(status, contentType, headers = {}) {
      res.writeHead(status, { ...headers, 'Content-Type': contentType });
      res.flushHeaders();
      return res;
    },
    hijack(contentType) {
      res.writeHead(200, { 'Content-Type': contentType });
      res.flushHeaders();
      return { output: res, input: res.req };
    },
  };
}

/**
 * A reply over a raw socket, for requests that asked to upgrade (`Upgrade: tcp`):
 * Node hands those over before any response exists, so we write HTTP ourselves.
 */
export function socketReply(socket: Duplex): Reply {
  let started = false;
  const head = (status: number, headers: Record<string, string | number>) => {
    started = true;
    const reason = status === 101 ? 'UPGRADED' : (STATUS_CODES[status] ?? '');
    const lines = [`HTTP/1.1 ${status} ${reason}`];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  };
  return {
    get started() {
      return started;
    },
    json(status, body) {
      const text = JSON.stringify(body);
      head(status, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(text),
        Connection: 'close',
      });
      socket.end(text);
    },
    empty(status) {
      head(status, { 'Content-Length': 0, Connection: 'close' });
      socket.end();
    },
    stream(status, contentType, headers = {}) {
      head(status, { ...headers, 'Content-Type': contentType, Connection: 'close' });
      return socket;
    },
    hijack(contentType) {
      head(101, { 'Content-Type': contentType, Connection: 'Upgrade', Upgrade: 'tcp' });
      return { output: socket, input: socket };
    },
  };
}
