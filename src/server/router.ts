import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import FindMyWay, { type HTTPVersion } from 'find-my-way';
import {
  API_VERSION,
  compareApiVersions,
  InvalidArgumentError,
  MIN_API_VERSION,
  messageOf,
  NotFoundError,
} from '../api/index.js';
import type { Logger } from '../engine/index.js';
import { type Handler, type Reply, type RequestContext, responseReply, socketReply } from './context.js';
import { isClientError, statusOf } from './errors.js';

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

const VERSION_PREFIX = /^\/v(\d+\.\d+)(\/.*)$/;

/**
 * Routes requests to handlers. Every route is served both bare and under `/v1.N`
 * for the versions we support, as dockerd does. Requests that ask to upgrade the
 * connection (attach) arrive on a raw socket and get the same treatment.
 */
export class ApiRouter {
  private readonly router = FindMyWay<HTTPVersion.V1>({ ignoreTrailingSlash: true, maxParamLength: 1024 });

  constructor(private readonly log: Logger) {}

  on(method: Method | Method[], path: string, handler: Handler): this {
    // find-my-way's own handler slot carries ours; we call it with our context.
    this.router.on(method, path, handler as never);
    return this;
  }

  handleRequest(req: IncomingMessage, res: ServerResponse): void {
    void this.dispatch(req, responseReply(res), () => res.destroy());
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex): void {
    void this.dispatch(req, socketReply(socket), () => socket.destroy());
  }

  private async dispatch(req: IncomingMessage, reply: Reply, abort: () => void): Promise<void> {
    const controller = new AbortController();
    req.socket.once('close', () => controller.abort());
    const started = Date.now();
    try {
      const url = new URL(req.url ?? '/', 'http://berthd');
      let path = decodeURIComponent(url.pathname);
      let apiVersion = API_VERSION;
      const versioned = VERSION_PREFIX.exec(path);
      if (versioned?.[1] && versioned[2]) {
        apiVersion = versioned[1];
        path = versioned[2];
        checkApiVersion(apiVersion);
      }
      const method = (req.method ?? 'GET') as Method;
      const found = this.router.find(method, path);
      if (!found) throw new NotFoundError(`page not found`);
      const ctx: RequestContext = {
        req,
        params: found.params,
        query: url.searchParams,
        apiVersion,
        signal: controller.signal,
        reply,
      };
      await (found.handler as unknown as Handler)(ctx);
      this.log.debug({ method, url: req.url, ms: Date.now() - started }, 'request');
    } catch (e) {
      const status = statusOf(e);
      if (isClientError(e)) this.log.debug({ url: req.url, status, err: messageOf(e) }, 'request refused');
      else this.log.error({ url: req.url, err: e }, 'request failed');
      if (!reply.started) {
        if (status === 304) reply.empty(304);
        else reply.json(status, { message: messageOf(e) });
      } else {
        abort();
      }
    }
  }
}

function checkApiVersion(version: string): void {
  if (compareApiVersions(version, API_VERSION) > 0) {
    throw new InvalidArgumentError(
      `client version ${version} is too new. Maximum supported API version is ${API_VERSION}`,
    );
  }
  if (compareApiVersions(version, MIN_API_VERSION) < 0) {
    throw new InvalidArgumentError(
      `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
    );
  }
}
