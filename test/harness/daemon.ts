/**
 * startDaemon(): one private berthd per test file. It gets its own data root, exec
 * root, socket and host-global names (bridge, subnet, nft table, cgroup parent, netns
 * prefix), so it never meets another daemon, and stop() takes all of it away again,
 * even when the daemon died or never came up.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanUpHost } from './cleanup.js';
import { BERTH_BIN, BERTHD_BIN, findOnPath, requirePrerequisites } from './prerequisites.js';
import { assertOk, type RunOptions, type RunResult, runProgram, StopWaiting, waitFor } from './process.js';
import { type ContainerInspect, parseInspect } from './wire.js';

export interface DaemonOptions {
  /** Extra berthd flags, appended after the harness's own. */
  extraArgs?: string[];
  /** How long to wait for `GET /_ping` to answer. */
  readyTimeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as text. */
  body: string;
  /** The body parsed as JSON, when it is JSON. */
  json: unknown;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** The host-global names a test daemon owns. */
export interface DaemonNames {
  bridge: string;
  /** CIDR given to --bip, e.g. 10.123.45.1/24. */
  bip: string;
  /** The first three octets and a dot, e.g. `10.123.45.`: every bridge address starts with it. */
  subnetPrefix: string;
  gateway: string;
  nftTable: string;
  cgroupParent: string;
  netnsPrefix: string;
}

export interface CliOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  /** Extra environment for this one run. */
  env?: NodeJS.ProcessEnv;
}

export type CliName = 'berth' | 'docker';

export interface Daemon {
  /** Path of the unix socket. */
  socket: string;
  /** `unix://<socket>` */
  host: string;
  /** Environment for child processes: DOCKER_HOST and BERTH_HOST point at this daemon. */
  env: NodeJS.ProcessEnv;
  dataRoot: string;
  execRoot: string;
  logFile: string;
  names: DaemonNames;
  /** Pid of the current berthd process, if it is running. */
  readonly pid: number | undefined;
  isRunning(): boolean;
  /** Runs bin/berth against this daemon; never rejects on a non-zero exit. */
  berth(args: readonly string[], opts?: CliOptions): Promise<RunResult>;
  /** Runs the real docker CLI against this daemon; never rejects on a non-zero exit. */
  docker(args: readonly string[], opts?: CliOptions): Promise<RunResult>;
  /** Runs either CLI, for tests written once for both. */
  cli(which: CliName, args: readonly string[], opts?: CliOptions): Promise<RunResult>;
  /** `docker inspect REF` (any object kind), parsed; fails the test when the CLI does. */
  inspect<T = ContainerInspect>(ref: string): Promise<T>;
  /** Raw HTTP over the socket. A plain object body is sent as JSON; a string or Buffer as is. */
  request(method: string, path: string, body?: unknown, opts?: RequestOptions): Promise<HttpResponse>;
  /** Sends a signal to berthd and waits for it to exit (SIGKILL by default: live-restore tests). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts berthd again over the same roots and names and waits until it answers. */
  restart(): Promise<void>;
  /** The last lines of the daemon's log. */
  logTail(lines?: number): string;
  /** For afterEach: prints the log tail when the test failed. */
  dumpLogOnFailure(t: { name: string }): void;
  /** Removes containers, stops berthd and removes every trace of it from the host. */
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 10_000;
const DEFAULT_READY_TIMEOUT_MS = 30_000;

export async function startDaemon(opts: DaemonOptions = {}): Promise<Daemon> {
  requirePrerequisites();
  const daemon = new TestDaemon(opts);
  try {
    await daemon.launch();
  } catch (e) {
    const tail = daemon.logTail(60);
    try {
      await daemon.stop();
    } catch (cleanupError) {
      process.stderr.write(`berth test harness: cleanup after a failed start: ${String(cleanupError)}\n`);
    }
    throw new Error(
      `berthd did not start: ${e instanceof Error ? e.message : String(e)}\n--- berthd log (${daemon.logFile}):\n${tail}`,
      { cause: e },
    );
  }
  return daemon;
}

class TestDaemon implements Daemon {
  readonly socket: string;
  readonly host: string;
  readonly env: NodeJS.ProcessEnv;
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly logFile: string;
  readonly names: DaemonNames;
  private readonly tempDir: string;
  private readonly args: string[];
  private readonly readyTimeoutMs: number;
  private readonly dockerPath: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private isStopping = false;
  private isStopped = false;
  /** Set by kill(): the exit that follows is the test's doing. */
  private isExpectedSignal = false;
  /** A failed start is reported by startDaemon itself. */
  private isStarting = false;
  /** Exits we did not cause: a crash is worth showing even if every test passed. */
  private unexpectedExits: string[] = [];

  constructor(opts: DaemonOptions) {
    const hex = randomBytes(3).toString('hex');
    this.tempDir = mkdtempSync(join(tmpdir(), `berth-test-${hex}-`));
    this.dataRoot = join(this.tempDir, 'data');
    // Short, because unix socket paths must stay under 108 bytes.
    this.execRoot = `/run/bt-${hex}`;
    this.socket = join(this.execRoot, 'berth.sock');
    this.host = `unix://${this.socket}`;
    this.logFile = join(this.tempDir, 'berthd.log');
    const a = randomInt(100, 251);
    const b = randomInt(0, 256);
    this.names = {
      bridge: `bt${hex}`,
      bip: `10.${a}.${b}.1/24`,
      subnetPrefix: `10.${a}.${b}.`,
      gateway: `10.${a}.${b}.1`,
      nftTable: `bt_${hex}`,
      cgroupParent: `/bt-${hex}`,
      netnsPrefix: `bt${hex}-`,
    };
    this.args = [
      '--host',
      this.host,
      '--data-root',
      this.dataRoot,
      '--exec-root',
      this.execRoot,
      '--pidfile',
      join(this.execRoot, 'berthd.pid'),
      '--log-level',
      'debug',
      '--bridge',
      this.names.bridge,
      '--bip',
      this.names.bip,
      '--nft-table',
      this.names.nftTable,
      '--cgroup-parent',
      this.names.cgroupParent,
      '--netns-prefix',
      this.names.netnsPrefix,
      // User-defined network bridges: cleanup.ts removes every bridge with this prefix.
      '--bridge-prefix',
      `${this.names.bridge}-`,
      // Tests reach registries on this machine only; a pull of a missing image never leaves it.
      '--allow-registry',
      '127.0.0.0/8',
      '--allow-registry',
      'localhost',
      ...(opts.extraArgs ?? []),
    ];
    this.readyTimeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    this.dockerPath = findOnPath('docker') ?? 'docker';
    const dockerConfig = join(this.tempDir, 'docker-config');
    mkdirSync(dockerConfig);
    const env: NodeJS.ProcessEnv = { ...process.env };
    // A user's docker context or TLS settings must not redirect the CLI elsewhere.
    for (const k of ['DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_API_VERSION'])
      delete env[k];
    Object.assign(env, {
      DOCKER_HOST: this.host,
      BERTH_HOST: this.host,
      DOCKER_CONFIG: dockerConfig,
      DOCKER_CLI_HINTS: 'false',
      NO_COLOR: '1',
    });
    this.env = env;
  }

  get pid(): number | undefined {
    return this.isRunning() ? this.child?.pid : undefined;
  }

  isRunning(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async launch(): Promise<void> {
    mkdirSync(this.execRoot, { recursive: true, mode: 0o700 });
    const logFd = openSync(this.logFile, 'a');
    writeFileSync(
      logFd,
      `--- berth test harness: ${process.execPath} ${BERTHD_BIN} ${this.args.join(' ')}\n`,
    );
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [BERTHD_BIN, ...this.args], {
        stdio: ['ignore', logFd, logFd],
        env: { ...process.env },
      });
    } finally {
      closeSync(logFd);
    }
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        if (!this.isStopping && !this.isExpectedSignal && !this.isStarting) {
          this.unexpectedExits.push(
            `berthd (pid ${child.pid}) exited on its own: code ${code}, signal ${signal}`,
          );
        }
        resolve();
      });
      child.on('error', (e) => {
        this.unexpectedExits.push(`berthd could not be spawned: ${e.message}`);
        resolve();
      });
    });
    this.isExpectedSignal = false;
    this.isStarting = true;
    await waitFor(
      `berthd to answer GET /_ping on ${this.socket}`,
      async () => {
        if (!this.isRunning()) {
          // An early exit is final; say so rather than "timed out".
          throw new StopWaiting(
            `berthd exited during start-up (code ${child.exitCode}, signal ${child.signalCode})`,
          );
        }
        const r = await this.request('GET', '/_ping', undefined, { timeoutMs: 2000 });
        return r.status === 200;
      },
      { timeoutMs: this.readyTimeoutMs, intervalMs: 50 },
    );
    // Start-up is over: from now on an exit nobody asked for is a crash worth reporting.
    this.isStarting = false;
  }

  berth(args: readonly string[], opts: CliOptions = {}): Promise<RunResult> {
    // `--` ends node's own options: Node 20 otherwise checks a `--env-file` meant for berth.
    return runProgram(process.execPath, ['--', BERTH_BIN, ...args], this.runOptions(opts));
  }

  docker(args: readonly string[], opts: CliOptions = {}): Promise<RunResult> {
    return runProgram(this.dockerPath, args, this.runOptions(opts));
  }

  async inspect<T = ContainerInspect>(ref: string): Promise<T> {
    return parseInspect<T>(assertOk(await this.docker(['inspect', ref]), `docker inspect ${ref}`).stdout);
  }

  cli(which: CliName, args: readonly string[], opts: CliOptions = {}): Promise<RunResult> {
    return which === 'berth' ? this.berth(args, opts) : this.docker(args, opts);
  }

  private runOptions(opts: CliOptions): RunOptions {
    const r: RunOptions = { env: opts.env ? { ...this.env, ...opts.env } : this.env };
    if (opts.input !== undefined) r.input = opts.input;
    if (opts.timeoutMs !== undefined) r.timeoutMs = opts.timeoutMs;
    return r;
  }

  request(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<HttpResponse> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    let payload: Buffer | undefined;
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (Buffer.isBuffer(body)) payload = body;
    else if (typeof body === 'string') payload = Buffer.from(body);
    else if (body !== undefined) {
      payload = Buffer.from(JSON.stringify(body));
      headers['Content-Type'] ??= 'application/json';
    }
    if (payload !== undefined) headers['Content-Length'] = String(payload.length);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { socketPath: this.socket, method, path, headers, timeout: timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = text === '' ? undefined : JSON.parse(text);
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || !this.isRunning()) throw new Error('berthd is not running');
    this.isExpectedSignal = true;
    child.kill(signal);
    await this.waitExit(STOP_GRACE_MS, `berthd to exit after ${signal}`);
  }

  async restart(): Promise<void> {
    if (this.isRunning()) await this.kill('SIGTERM');
    // A SIGKILLed daemon leaves its socket file; the new one must replace it, not us.
    await this.launch();
  }

  logTail(lines = 40): string {
    try {
      const all = readFileSync(this.logFile, 'utf8').split('\n');
      return all.slice(-lines - 1).join('\n');
    } catch {
      return '(no log)';
    }
  }

  dumpLogOnFailure(t: { name: string; passed?: boolean }): void {
    // Suites have no `passed`; only a test that failed is worth the noise.
    if (t.passed !== false) return;
    process.stderr.write(
      `\n--- berthd log tail (${this.logFile}) after failed test "${t.name}":\n${this.logTail()}\n---\n`,
    );
  }

  private async waitExit(timeoutMs: number, what: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), timeoutMs);
    });
    const r = await Promise.race([this.exited.then(() => 'exited' as const), deadline]);
    clearTimeout(timer);
    if (r === 'late') throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }

  async stop(): Promise<void> {
    if (this.isStopped) return;
    this.isStopped = true;
    const problems: string[] = [];
    const step = async (what: string, fn: () => Promise<void> | void) => {
      try {
        await fn();
      } catch (e) {
        problems.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
      }
    };

    if (this.isRunning()) {
      await step('removing containers', async () => {
        const ps = await this.docker(['ps', '-aq', '--no-trunc'], { timeoutMs: 20_000 });
        if (ps.code !== 0) throw new Error(`docker ps -aq exited ${ps.code}: ${ps.stderr.trim()}`);
        const ids = ps.stdout.split('\n').filter((s) => s.trim() !== '');
        if (ids.length === 0) return;
        const rm = await this.docker(['rm', '-f', ...ids], { timeoutMs: 30_000 });
        if (rm.code !== 0) throw new Error(`docker rm -f exited ${rm.code}: ${rm.stderr.trim()}`);
      });
    }
    this.isStopping = true;
    if (this.isRunning()) {
      await step('stopping berthd', async () => {
        this.child?.kill('SIGTERM');
        try {
          await this.waitExit(STOP_GRACE_MS, 'berthd to exit after SIGTERM');
        } catch (e) {
          this.child?.kill('SIGKILL');
          await this.waitExit(5000, 'berthd to exit after SIGKILL');
          throw e;
        }
      });
    }
    problems.push(...this.unexpectedExits);

    problems.push(
      ...(await cleanUpHost({
        roots: [this.execRoot, this.tempDir],
        bridge: this.names.bridge,
        nftTable: this.names.nftTable,
        cgroupParent: this.names.cgroupParent,
        netnsPrefix: this.names.netnsPrefix,
      })),
    );
    const tail = problems.length > 0 ? this.logTail(40) : '';
    await step('removing directories', () => {
      rmSync(this.execRoot, { recursive: true, force: true });
      rmSync(this.tempDir, { recursive: true, force: true });
    });

    if (problems.length > 0) {
      const msg = `berth test harness: cleanup of daemon ${this.names.bridge} found problems:\n  - ${problems.join('\n  - ')}`;
      process.stderr.write(`${msg}\n--- berthd log tail:\n${tail}\n`);
      throw new Error(msg);
    }
  }
}
