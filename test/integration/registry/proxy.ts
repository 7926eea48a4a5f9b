/**
 * A loopback HTTP proxy in front of a registry under test: it records every request a
 * client makes, and lets a test change a request's path or take over an answer (cut a
 * blob short, stall it) to see what the client does.
 */
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  range?: string;
  contentRange?: string;
}

export interface RegistryProxy {
  /** `127.0.0.1:PORT` */
  host: string;
  /** Every request so far, in order; a test may replace it with an empty list. */
  seen: SeenRequest[];
  stop(): Promise<void>;
}

export interface ProxyHooks {
  /** The path to send upstream instead of the one asked for. */
  rewritePath?(req: IncomingMessage, path: string): string;
  /** Takes over an upstream answer whose head is already sent; false leaves it to be passed on whole. */
  relay?(req: IncomingMessage, answer: IncomingMessage, res: ServerResponse): boolean;
  /** Answers a request itself, never sending it upstream; false sends it on. */
  respond?(req: IncomingMessage, res: ServerResponse): boolean;
}

/** Starts a proxy to `target` (`127.0.0.1:PORT`) on a free loopback port. */
export async function startRegistryProxy(target: string, hooks: ProxyHooks = {}): Promise<RegistryProxy> {
  const [targetHost, targetPort] = target.split(':') as [string, string];
  const proxy: RegistryProxy = { host: '', seen: [], stop: async () => undefined };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    proxy.seen.push({
      method: req.method ?? '',
      url,
      ...(req.headers.range !== undefined ? { range: req.headers.range } : {}),
      ...(req.headers['content-range'] !== undefined ? { contentRange: req.headers['content-range'] } : {}),
    });
    if (hooks.respond?.(req, res)) {
      req.resume();
      return;
    }
    const path = hooks.rewritePath?.(req, url) ?? url;
    const upstream = request(
      { host: targetHost, port: Number(targetPort), method: req.method, path, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (!hooks.relay?.(req, answer, res)) answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}
