/**
 * A stand-in daemon for client and CLI tests: an HTTP server on a temporary unix
 * socket that answers the routes a test gives it and records every request.
 * Test-only; nothing in the product imports it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RecordedRequest {
  method: string;
  /** The path without the `/v1.N` prefix. */
  path: string;
  version: string | undefined;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export type RouteHandler = (req: RecordedRequest, res: ServerResponse) => void | Promise<void>;
/** Answers an upgraded (hijacked) connection: write the 101 and then the stream. */
export type UpgradeHandler = (req: RecordedRequest, socket: Socket) => void;

export interface FakeDaemon {
  host: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(value));
}

function split(url: string): { path: string; version: string | undefined; query: URLSearchParams } {
  const parsed = new URL(url, 'http://fake');
  const match = /^\/v(\d+\.\d+)(\/.*)$/.exec(parsed.pathname);
  return {
    path: match ? match[2]! : parsed.pathname,
    version: match ? match[1] : undefined,
    query: parsed.searchParams,
  };
}

export async function startFakeDaemon(opts: {
  routes: Record<string, RouteHandler>;
  upgrades?: Record<string, UpgradeHandler>;
  apiVersion?: string;
}): Promise<FakeDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-fake-'));
  const socketPath = join(dir, 'd.sock');
  const requests: RecordedRequest[] = [];
  const routes: Record<string, RouteHandler> = {
    'GET /_ping': (_req, res) => {
      res.writeHead(200, { 'API-Version': opts.apiVersion ?? '1.56', OSType: 'linux' });
      res.end('OK');
    },
    ...opts.routes,
  };
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const recorded = {
      method: req.method ?? '',
      ...split(req.url ?? '/'),
      headers: req.headers,
      body: Buffer.concat(chunks),
    };
    requests.push(recorded);
    const handler = routes[`${recorded.method} ${recorded.path}`];
    if (!handler) {
      sendJson(res, 404, { message: `page not found: ${recorded.method} ${recorded.path}` });
      return;
    }
    await handler(recorded, res);
  });
  const hijacked = new Set<Socket>();
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    hijacked.add(socket);
    socket.on('close', () => hijacked.delete(socket));
    const recorded = {
      method: req.method ?? '',
      ...split(req.url ?? '/'),
      headers: req.headers,
      body: Buffer.alloc(0),
    };
    requests.push(recorded);
    const handler = opts.upgrades?.[`${recorded.method} ${recorded.path}`];
    if (!handler) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
      return;
    }
    handler(recorded, socket);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    host: `unix://${socketPath}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      for (const socket of hijacked) socket.destroy();
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
