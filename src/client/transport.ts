import { Agent, request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { API_VERSION, BerthError, compareApiVersions, MIN_API_VERSION } from '../api/index.js';
import { connectionErrorOf, errorFromStatus, messageOfBody } from './errors.js';
import { type DaemonAddress, parseHost } from './host.js';

export type QueryValue = string | number | boolean | string[] | undefined;
export type Query = Record<string, QueryValue>;

export interface Request {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD';
  path: string;
  query?: Query;
  /** A JSON value, or a byte stream sent as-is (tar archives). */
  body?: unknown;
  contentType?: string;
  /** Extra headers, such as X-Registry-Auth. */
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface UpgradedConnection {
  socket: Duplex;
  contentType: string | undefined;
}

/**
 * Docker's query conventions: booleans as 1 (false is left out, the daemon's default),
 * arrays as repeated keys.
 */
export function encodeQuery(query: Query | undefined): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === false) continue;
    if (value === true) params.append(key, '1');
    else if (Array.isArray(value)) for (const item of value) params.append(key, item);
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

function isReadable(value: unknown): value is Readable {
  return typeof value === 'object' && value !== null && typeof (value as Readable).pipe === 'function';
}

export async function readBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function errorOfResponse(res: IncomingMessage): Promise<BerthError> {
  const status = res.statusCode ?? 0;
  const body = await readBody(res);
  return errorFromStatus(status, messageOfBody(body, `${status} ${res.statusMessage ?? ''}`.trim()));
}

/** HTTP to one daemon, with the API version negotiated once on first use, as docker does. */
export class Transport {
  private readonly address: DaemonAddress;
  private readonly agent = new Agent({ keepAlive: true });
  private negotiated: Promise<string> | undefined;

  constructor(readonly host: string) {
    this.address = parseHost(host);
  }

  /** The `/v1.N` the requests use: the lower of ours and the daemon's. */
  apiVersion(): Promise<string> {
    this.negotiated ??= this.ping().then((headers) => {
      const theirs = headers['api-version'];
      // A daemon that does not say is assumed to be as old as we allow, as docker assumes.
      if (typeof theirs !== 'string' || theirs === '') return MIN_API_VERSION;
      return compareApiVersions(theirs, API_VERSION) < 0 ? theirs : API_VERSION;
    });
    return this.negotiated;
  }

  /** `GET /_ping`, unversioned; resolves to the response headers. */
  async ping(signal?: AbortSignal): Promise<IncomingMessage['headers']> {
    const res = await this.send({ method: 'GET', path: '/_ping', ...(signal ? { signal } : {}) }, false);
    await readBody(res);
    return res.headers;
  }

  /** Sends a request and resolves once a successful response's headers are in. */
  async send(req: Request, versioned = true): Promise<IncomingMessage> {
    const prefix = versioned ? `/v${await this.apiVersion()}` : '';
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const outgoing = httpRequest(this.optionsFor(req, prefix), resolve);
      outgoing.on('error', (e) => reject(connectionErrorOf(e, this.host) ?? e));
      this.writeBody(outgoing, req.body, reject);
    });
    if ((res.statusCode ?? 0) >= 300) throw await errorOfResponse(res);
    return res;
  }

  async json<T>(req: Request): Promise<T> {
    const res = await this.send(req);
    const body = await readBody(res);
    return (body.trim() === '' ? undefined : JSON.parse(body)) as T;
  }

  /** A request whose response is empty (204) or ignored. */
  async empty(req: Request): Promise<void> {
    await readBody(await this.send(req));
  }

  /**
   * Docker's connection hijack for attach and exec: the daemon answers 101 and the
   * socket then carries the container's stdio both ways.
   */
  async upgrade(req: Request): Promise<UpgradedConnection> {
    const prefix = `/v${await this.apiVersion()}`;
    return new Promise<UpgradedConnection>((resolve, reject) => {
      const options = this.optionsFor(req, prefix);
      options.headers = { ...options.headers, Connection: 'Upgrade', Upgrade: 'tcp' };
      const outgoing = httpRequest(options);
      outgoing.on('upgrade', (res, socket, head) => {
        if (head.length > 0) socket.unshift(head);
        resolve({ socket, contentType: res.headers['content-type'] });
      });
      outgoing.on('response', (res) => {
        if ((res.statusCode ?? 0) >= 300) errorOfResponse(res).then(reject, reject);
        else {
          res.resume();
          reject(new BerthError(`the daemon answered ${res.statusCode} instead of upgrading the connection`));
        }
      });
      outgoing.on('error', (e) => reject(connectionErrorOf(e, this.host) ?? e));
      // Exec start sends its options as a JSON body on the request it upgrades.
      if (req.body === undefined) outgoing.end();
      else outgoing.end(JSON.stringify(req.body));
    });
  }

  /** Drops idle keep-alive connections so a process or test can end. */
  close(): void {
    this.agent.destroy();
  }

  private optionsFor(req: Request, prefix: string): RequestOptions {
    const headers: Record<string, string> = { 'User-Agent': 'berth-cli', ...(req.headers ?? {}) };
    if (req.body !== undefined) {
      headers['Content-Type'] =
        req.contentType ?? (isReadable(req.body) ? 'application/x-tar' : 'application/json');
    }
    const where =
      this.address.kind === 'unix'
        ? { socketPath: this.address.socketPath }
        : { host: this.address.host, port: this.address.port };
    return {
      ...where,
      agent: this.agent,
      method: req.method,
      path: `${prefix}${req.path}${encodeQuery(req.query)}`,
      headers,
      ...(req.signal ? { signal: req.signal } : {}),
    };
  }

  private writeBody(
    outgoing: ReturnType<typeof httpRequest>,
    body: unknown,
    reject: (e: unknown) => void,
  ): void {
    if (body === undefined) {
      outgoing.end();
    } else if (isReadable(body)) {
      body.on('error', (e) => {
        outgoing.destroy(e);
        reject(e);
      });
      body.pipe(outgoing);
    } else {
      outgoing.end(JSON.stringify(body));
    }
  }
}
