/**
 * Health checks: a probe run inside the container every interval, as Docker runs
 * them. Status goes starting -> healthy | unhealthy; failures inside the start
 * period do not count; the last five results are kept for inspect.
 */
import { randomBytes } from 'node:crypto';
import type { HealthConfig } from '../api/index.js';
import { InvalidArgumentError } from '../api/index.js';
import type { ContainerRuntime, LogLine, ReadLogOptions } from './runtime/index.js';

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

/** Docker's `State.Health`. */
export interface HealthState {
  Status: HealthStatus;
  FailingStreak: number;
  Log: HealthLogEntry[];
}

const NS_PER_MS = 1_000_000;
const DEFAULT_INTERVAL_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRIES = 3;
const MAX_LOG_ENTRIES = 5;
const MAX_OUTPUT_BYTES = 4096;
// Docker's exit code for a probe that ran past its timeout.
const TIMED_OUT_EXIT_CODE = -1;

/** The probe command, or undefined when the container has no health check. */
export function probeArgs(health: HealthConfig | undefined): string[] | undefined {
  const test = health?.Test ?? [];
  const [kind, ...rest] = test;
  if (kind === 'CMD' && rest.length > 0) return rest;
  if (kind === 'CMD-SHELL' && rest.length > 0) return ['/bin/sh', '-c', rest.join(' ')];
  return undefined;
}

/** The container's health check over the image's, field by field, as Docker merges them. */
export function mergeHealthcheck(
  request: HealthConfig | undefined,
  image: HealthConfig | undefined,
): HealthConfig | undefined {
  if (!request) return image;
  if (!image) return request;
  return {
    Test: request.Test && request.Test.length > 0 ? request.Test : (image.Test ?? []),
    Interval: request.Interval || image.Interval || 0,
    Timeout: request.Timeout || image.Timeout || 0,
    Retries: request.Retries || image.Retries || 0,
    StartPeriod: request.StartPeriod || image.StartPeriod || 0,
  };
}

export function validateHealthcheck(health: HealthConfig | undefined): void {
  if (!health) return;
  const test = health.Test ?? [];
  if (test.length > 0 && !['NONE', 'CMD', 'CMD-SHELL'].includes(test[0] ?? '')) {
    throw new InvalidArgumentError(
      `invalid healthcheck: the test must start with NONE, CMD or CMD-SHELL, got ${test[0]}`,
    );
  }
  for (const key of ['Interval', 'Timeout', 'StartPeriod'] as const) {
    const value = health[key] ?? 0;
    if (value !== 0 && value < NS_PER_MS) {
      throw new InvalidArgumentError(`${key} in Healthcheck cannot be less than 1ms`);
    }
  }
  if ((health.Retries ?? 0) < 0) throw new InvalidArgumentError('Retries in Healthcheck cannot be negative');
}

export interface ProbeTarget {
  id: string;
  health: HealthConfig;
  startedAt: string;
}

export interface HealthDeps {
  runtime: Pick<ContainerRuntime, 'exec' | 'removeExec'>;
  readLog: (path: string, opts: ReadLogOptions) => AsyncIterable<LogLine>;
  /** Current health of a container, or undefined when it is gone. */
  stateOf: (id: string) => HealthState | undefined;
  /** Called after every probe; `changed` when the status moved. */
  onResult: (id: string, state: HealthState, changed: boolean) => void;
  onError: (id: string, e: unknown) => void;
}

/** One timer per running container with a health check. */
export class HealthMonitor {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly deps: HealthDeps) {}

  /** Begins probing; the first probe runs one interval after the start, as in Docker. */
  start(target: ProbeTarget): void {
    this.stop(target.id);
    if (!probeArgs(target.health)) return;
    this.schedule(target);
  }

  stop(id: string): void {
    const timer = this.timers.get(id);
    if (timer) clearTimeout(timer);
    this.timers.delete(id);
  }

  stopAll(): void {
    for (const id of [...this.timers.keys()]) this.stop(id);
  }

  private schedule(target: ProbeTarget): void {
    const intervalMs = (target.health.Interval ?? 0) / NS_PER_MS || DEFAULT_INTERVAL_MS;
    const timer = setTimeout(() => {
      this.probe(target)
        .catch((e) => this.deps.onError(target.id, e))
        .finally(() => {
          if (this.timers.get(target.id) === timer) this.schedule(target);
        });
    }, intervalMs);
    this.timers.set(target.id, timer);
  }

  private async probe(target: ProbeTarget): Promise<void> {
    const args = probeArgs(target.health);
    const before = this.deps.stateOf(target.id);
    if (!args || !before) return;
    const timeoutMs = (target.health.Timeout ?? 0) / NS_PER_MS || DEFAULT_TIMEOUT_MS;
    const start = new Date();
    const execId = `health-${randomBytes(8).toString('hex')}`;
    let exitCode: number;
    let output = '';
    try {
      const process = await this.deps.runtime.exec({
        containerId: target.id,
        execId,
        args,
        env: [],
        cwd: '',
        user: '',
        terminal: false,
        privileged: false,
        stdin: false,
      });
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<number>((resolve) => {
        timer = setTimeout(() => {
          killQuietly(process.pid);
          resolve(TIMED_OUT_EXIT_CODE);
        }, timeoutMs);
      });
      exitCode = await Promise.race([process.exited, timedOut]);
      clearTimeout(timer);
      output =
        exitCode === TIMED_OUT_EXIT_CODE
          ? `Health check exceeded timeout (${timeoutMs / 1000}s)`
          : await readOutput(this.deps.readLog(process.logPath, {}));
    } catch (e) {
      exitCode = 1;
      output = e instanceof Error ? e.message : String(e);
    } finally {
      await this.deps.runtime.removeExec(execId).catch(() => undefined);
    }
    const current = this.deps.stateOf(target.id);
    if (!current) return;
    const next = nextHealth(current, {
      exitCode,
      inStartPeriod:
        start.getTime() - Date.parse(target.startedAt) < (target.health.StartPeriod ?? 0) / NS_PER_MS,
      retries: target.health.Retries || DEFAULT_RETRIES,
      entry: {
        Start: start.toISOString(),
        End: new Date().toISOString(),
        ExitCode: exitCode,
        Output: output,
      },
    });
    this.deps.onResult(target.id, next, next.Status !== current.Status);
  }
}

/** The health after one probe (pure). */
export function nextHealth(
  current: HealthState,
  probe: { exitCode: number; inStartPeriod: boolean; retries: number; entry: HealthLogEntry },
): HealthState {
  const log = [...current.Log, probe.entry].slice(-MAX_LOG_ENTRIES);
  if (probe.exitCode === 0) return { Status: 'healthy', FailingStreak: 0, Log: log };
  // Failures while the container is still starting up do not count against it.
  if (probe.inStartPeriod && current.Status === 'starting') return { ...current, Log: log };
  const streak = current.FailingStreak + 1;
  return { Status: streak >= probe.retries ? 'unhealthy' : current.Status, FailingStreak: streak, Log: log };
}

async function readOutput(lines: AsyncIterable<LogLine>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const line of lines) {
    if (size >= MAX_OUTPUT_BYTES) break;
    chunks.push(line.content);
    size += line.content.length;
  }
  return Buffer.concat(chunks).subarray(0, MAX_OUTPUT_BYTES).toString('utf8');
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone: the probe ended as its timeout fired.
  }
}
