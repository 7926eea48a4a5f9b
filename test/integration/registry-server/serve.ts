/**
 * `berth registry serve` for the tests: on 127.0.0.1 with a port the kernel picks, its
 * storage in a temp dir, htpasswd (bcrypt) auth when asked. stop() ends it and removes
 * every file; kill() ends it with SIGKILL and keeps the root, to restart on it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BERTH_BIN, runProgram, waitFor } from '../../harness/index.js';
import { StopWaiting } from '../../harness/process.js';

export interface BerthRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  /** `http://127.0.0.1:PORT` */
  url: string;
  root: string;
  /** Ends the server with SIGKILL, as a crash would; the root stays. */
  kill(): Promise<void>;
  /** Starts the server again on the same root and port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  log(): string;
}

export interface RegistryOptions {
  user?: string;
  password?: string;
  /** `token`: issue bearer tokens at /token to the htpasswd user (`--auth token`). */
  auth?: 'token';
  /** Serve HTTPS with this PEM certificate and key (paths). */
  tls?: { cert: string; key: string };
}

export async function startBerthRegistry(opts: RegistryOptions = {}): Promise<BerthRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-regserve-'));
  const root = join(dir, 'root');
  const args = ['registry', 'serve', '--root', root];
  if (opts.user !== undefined && opts.password !== undefined) {
    const r = await runProgram('htpasswd', ['-Bbn', opts.user, opts.password]);
    if (r.code !== 0) throw new Error(`htpasswd failed: ${r.stderr}`);
    writeFileSync(join(dir, 'htpasswd'), `${r.stdout.trim()}\n`);
    args.push('--htpasswd', join(dir, 'htpasswd'));
  }
  if (opts.auth !== undefined) args.push('--auth', opts.auth);
  if (opts.tls !== undefined) args.push('--tls-cert', opts.tls.cert, '--tls-key', opts.tls.key);
  let child: ChildProcess | undefined;
  let output = '';
  let port = 0;

  const launch = async () => {
    output = '';
    const proc = spawn(process.execPath, [BERTH_BIN, ...args, '--addr', `127.0.0.1:${port}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    proc.stdout?.on('data', (b: Buffer) => {
      output += b.toString();
    });
    proc.stderr?.on('data', (b: Buffer) => {
      output += b.toString();
    });
    port = await waitFor(
      'berth registry serve to listen',
      () => {
        if (proc.exitCode !== null) throw new StopWaiting(`berth registry serve exited: ${output}`);
        const match = /listening on https?:\/\/127\.0\.0\.1:(\d+)/.exec(output);
        return match === null ? undefined : Number(match[1]);
      },
      { timeoutMs: 15_000 },
    );
  };
  const end = async (signal: NodeJS.Signals) => {
    const proc = child;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await exited;
  };
  await launch();
  const host = `127.0.0.1:${port}`;
  return {
    host,
    url: `${opts.tls === undefined ? 'http' : 'https'}://${host}`,
    root,
    kill: () => end('SIGKILL'),
    restart: launch,
    stop: async () => {
      await end('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => output,
  };
}
