/**
 * `berth registry serve|gc`: the registry's own process. bin/berth hands argv over
 * when it starts with `registry`; nothing here reaches the engine.
 */
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { type Authenticator, anonymous, htpasswdAuthenticator, htpasswdCheck } from './auth.js';
import { collectGarbage } from './gc.js';
import { createHandler } from './handler.js';
import { RegistryStorage } from './storage.js';
import { tokenAuthenticator } from './token.js';

export interface RegistryIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const DEFAULT_ROOT = '/var/lib/berth-registry';

const USAGE = `Usage:  berth registry COMMAND

Commands:
  serve   Serve an OCI distribution registry
  gc      Delete blobs no manifest references

serve options:
      --addr string        Address to listen on (default "0.0.0.0:5000")
      --root string        Storage directory (default "${DEFAULT_ROOT}")
      --htpasswd string    Require Basic auth against this htpasswd file (bcrypt entries)
      --auth string        "basic", or "token": issue Docker bearer tokens at /token to
                           users of --htpasswd (default "basic")
      --tls-cert string    Serve HTTPS with this certificate
      --tls-key string     ... and this key

gc options:
      --root string        Storage directory (default "${DEFAULT_ROOT}")
      --grace duration     Keep unreferenced blobs younger than this (default 1h)
      --upload-ttl duration  Remove uploads untouched for this long (default 168h)
      --dry-run            Only report what would be deleted
`;

class UsageError extends Error {}

/** `90s`, `15m`, `1h`, `0` -> milliseconds. */
export function parseDuration(s: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (match === null) throw new UsageError(`invalid duration ${JSON.stringify(s)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's'] ?? 1000;
  return Number(match[1]) * unit;
}

/** `host:port` -> its parts; `:5000` listens on every address. */
export function parseAddr(addr: string): { host: string; port: number } {
  const colon = addr.lastIndexOf(':');
  const host = addr.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(addr.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`invalid --addr ${JSON.stringify(addr)}: want host:port`);
  }
  return { host: host === '' ? '0.0.0.0' : host, port };
}

async function authenticatorOf(kind: string, htpasswd: string | undefined): Promise<Authenticator> {
  if (kind !== 'basic' && kind !== 'token') {
    throw new UsageError(`invalid --auth ${JSON.stringify(kind)}: want basic or token`);
  }
  if (kind === 'token') {
    if (htpasswd === undefined) throw new UsageError('--auth token needs --htpasswd');
    return tokenAuthenticator(await htpasswdCheck(htpasswd));
  }
  return htpasswd === undefined ? anonymous : await htpasswdAuthenticator(htpasswd);
}

async function serve(args: string[], io: RegistryIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      addr: { type: 'string', default: '0.0.0.0:5000' },
      root: { type: 'string', default: DEFAULT_ROOT },
      htpasswd: { type: 'string' },
      auth: { type: 'string', default: 'basic' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const { host, port } = parseAddr(values.addr);
  const certPath = values['tls-cert'];
  const keyPath = values['tls-key'];
  if ((certPath === undefined) !== (keyPath === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together');
  }
  const storage = new RegistryStorage(values.root);
  await storage.init();
  const auth = await authenticatorOf(values.auth, values.htpasswd);
  const handler = createHandler({ storage, auth, log: (line) => io.stderr.write(`${line}\n`) });
  const listener = (req: Parameters<typeof handler>[0], res: Parameters<typeof handler>[1]) => {
    void handler(req, res);
  };
  const server: Server =
    certPath !== undefined && keyPath !== undefined
      ? createHttpsServer({ cert: await readFile(certPath), key: await readFile(keyPath) }, listener)
      : createHttpServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  const scheme = certPath === undefined ? 'http' : 'https';
  const shown = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  io.stderr.write(`berth registry listening on ${scheme}://${shown}:${bound.port} (root ${values.root})\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      server.close(() => resolve());
      server.closeAllConnections();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  return 0;
}

async function gc(args: string[], io: RegistryIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      root: { type: 'string', default: DEFAULT_ROOT },
      grace: { type: 'string', default: '1h' },
      'upload-ttl': { type: 'string', default: '168h' },
      'dry-run': { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const storage = new RegistryStorage(values.root);
  const report = await collectGarbage(storage, {
    graceMs: parseDuration(values.grace),
    uploadTtlMs: parseDuration(values['upload-ttl']),
    dryRun: values['dry-run'],
  });
  for (const digest of report.deleted)
    io.stdout.write(`${values['dry-run'] ? 'would delete' : 'deleted'} ${digest}\n`);
  io.stdout.write(
    `${report.deleted.length} blobs deleted (${report.bytesFreed} bytes), ${report.kept} kept, ${report.uploadsRemoved} stale uploads removed\n`,
  );
  return 0;
}

/** Runs `registry <command> ...` (argv without the program name); resolves to the exit status. */
export async function registryMain(argv: string[], io: RegistryIo): Promise<number> {
  const [, command, ...rest] = argv;
  try {
    if (command === 'serve') return await serve(rest, io);
    if (command === 'gc') return await gc(rest, io);
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      io.stdout.write(USAGE);
      return 0;
    }
    throw new UsageError(`unknown command "registry ${command}"`);
  } catch (e) {
    const usage = e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    io.stderr.write(`berth registry: ${e instanceof Error ? e.message : String(e)}\n`);
    if (usage) io.stderr.write(`See 'berth registry --help'.\n`);
    return usage ? 125 : 1;
  }
}
