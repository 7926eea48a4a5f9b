/**
 * One benchmark run: starts the private engines, loads the same busybox image into
 * each, runs the scenarios interleaved, stops every engine (even after a failure) and
 * returns the report.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { busyboxImageTar, runProgram } from '../test/harness/index.js';
import {
  type Engine,
  type EngineName,
  type RuncFloor,
  rememberHostPaths,
  startBerth,
  startDocker,
  startPodman,
  startRuncFloor,
} from './engines.js';
import { type BenchReport, buildReport } from './report.js';
import { type BenchConfig, berthPhases, loadBusybox, runScenarios, type ScenarioGroup } from './scenarios.js';

export interface BenchOptions {
  engines: EngineName[];
  /** Include raw `runc run` as the floor. */
  withRunc: boolean;
  config: Omit<BenchConfig, 'workDir'>;
  /** Groups of scenarios to run; all when absent. */
  groups?: readonly ScenarioGroup[];
  progress?: (line: string) => void;
}

export const FULL_CONFIG: BenchOptions['config'] = {
  warmup: 2,
  iterations: 15,
  heavyIterations: 3,
  parallelCount: 50,
  parallelConcurrency: 10,
  logLines: 200_000,
  imageMiB: 200,
  buildIterations: 5,
  buildFiles: 100,
  bigContextFiles: 10_000,
  bigContextMiB: 100,
  pushLayerMiB: 4,
};

/** One iteration of everything, small enough for `npm test`. */
export const SMOKE_CONFIG: BenchOptions['config'] = {
  warmup: 0,
  iterations: 1,
  heavyIterations: 1,
  parallelCount: 10,
  parallelConcurrency: 5,
  logLines: 20_000,
  imageMiB: 8,
  buildIterations: 1,
  buildFiles: 20,
  bigContextFiles: 300,
  bigContextMiB: 3,
  pushLayerMiB: 1,
};

export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  const progress = opts.progress ?? (() => undefined);
  const workDir = mkdtempSync(join(tmpdir(), 'berth-bench-'));
  const engines: Engine[] = [];
  let floor: RuncFloor | undefined;
  let berthLog: string | undefined;
  const problems: string[] = [];
  const forgetHostPaths = rememberHostPaths();
  let report: BenchReport;
  try {
    for (const name of opts.engines) {
      progress(`starting ${name}`);
      if (name === 'berth') {
        const berth = await startBerth();
        berthLog = berth.logFile;
        engines.push(berth);
      } else engines.push(name === 'docker' ? await startDocker() : await startPodman());
    }
    if (opts.withRunc) floor = await startRuncFloor();
    const busybox = await busyboxImageTar();
    for (const e of engines) await loadBusybox(e, busybox);
    const versions: Record<string, string> = {};
    for (const e of engines) versions[e.name] = await e.version();
    versions.runc = floor
      ? await floor.version()
      : ((await runProgram('runc', ['--version'])).stdout.split('\n')[0] ?? '');
    versions.conmon = (await runProgram('conmon', ['--version'])).stdout.split('\n')[0] ?? '';
    versions.node = `node ${process.version}`;
    const measured = await runScenarios(engines, floor, { ...opts.config, workDir }, progress, opts.groups);
    // Read before stop(): the harness removes the daemon's log with its temp dir.
    const phases = berthLog ? berthPhases(berthLog) : {};
    report = buildReport(measured, phases, {
      date: new Date().toISOString(),
      machine: machine(),
      versions,
      config: { ...opts.config },
    });
  } finally {
    for (const e of engines.reverse()) {
      progress(`stopping ${e.name}`);
      await e.stop().catch((err: unknown) => problems.push(String(err)));
    }
    await floor?.stop().catch((err: unknown) => problems.push(String(err)));
    rmSync(workDir, { recursive: true, force: true });
    forgetHostPaths();
    if (problems.length > 0) process.stderr.write(`bench: clean-up problems:\n  ${problems.join('\n  ')}\n`);
  }
  // A leftover fails the run even when the numbers came out.
  if (problems.length > 0) throw new Error(`clean-up failed: ${problems.join('; ')}`);
  return report;
}

function machine(): Record<string, string> {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cpus: String(cpu.length),
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    kernel: release(),
  };
}
