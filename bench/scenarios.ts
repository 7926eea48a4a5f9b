/**
 * The scenarios of issue 7. Each one samples every engine in turn (A B C, A B C, …),
 * drops the warm-up rounds and keeps the rest; a failure aborts the run, because a
 * number measured on a failing command would mislead.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxRootfsEntries, dockerSaveTar, makeTar } from '../test/harness/index.js';
import { type BuildConfig, buildScenarios } from './build-scenarios.js';
import { type Engine, mustRun, type RuncFloor } from './engines.js';
import { totalRssMiB } from './processes.js';
import { type RegistryConfig, registryScenarios } from './registry-scenarios.js';
import { gap, type Measured, record, rounds, timed } from './sampling.js';

export interface BenchConfig extends BuildConfig, RegistryConfig {
  warmup: number;
  iterations: number;
  /** Rounds of the slow scenarios (parallel starts, save/load). */
  heavyIterations: number;
  parallelCount: number;
  parallelConcurrency: number;
  logLines: number;
  imageMiB: number;
  /** Where the big image, saved archives and build contexts go. */
  workDir: string;
}

/** `core`: issue 7's container scenarios; `build` and `registry`: the later issues'. */
export type ScenarioGroup = 'core' | 'build' | 'registry';
export const SCENARIO_GROUPS: readonly ScenarioGroup[] = ['core', 'build', 'registry'];

const IMAGE = 'busybox';
/** A shell that exits at once on SIGTERM, so `stop` measures the engine, not a 10 s grace period. */
const SLEEPER = ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"];

export async function loadBusybox(e: Engine, tarPath: string): Promise<void> {
  await mustRun(e, ['load', '-i', tarPath]);
}

export async function runScenarios(
  engines: readonly Engine[],
  floor: RuncFloor | undefined,
  cfg: BenchConfig,
  progress: (line: string) => void,
  groups: readonly ScenarioGroup[] = SCENARIO_GROUPS,
): Promise<Measured> {
  const m: Measured = { samples: {}, gaps: {} };
  if (groups.includes('core')) await coreScenarios(engines, floor, cfg, m, progress);
  if (groups.includes('build')) await buildScenarios(engines, cfg, m, progress);
  if (groups.includes('registry')) await registryScenarios(engines, cfg, m, progress);
  return m;
}

async function coreScenarios(
  engines: readonly Engine[],
  floor: RuncFloor | undefined,
  cfg: BenchConfig,
  m: Measured,
  progress: (line: string) => void,
): Promise<void> {
  const { warmup, iterations } = cfg;

  progress('run --rm busybox true (bridge)');
  await rounds(warmup, iterations, engines, async (e, keep) => {
    const { ms } = await timed(() => mustRun(e, ['run', '--rm', ...e.runFlags, IMAGE, 'true']));
    if (keep) record(m, 'run-rm-bridge', e.name, ms);
  });

  progress('run --rm --network none busybox true, and runc run');
  for (let i = 0; i < warmup + iterations; i++) {
    for (const e of engines) {
      const { ms } = await timed(() =>
        mustRun(e, ['run', '--rm', '--network', 'none', ...e.runFlags, IMAGE, 'true']),
      );
      if (i >= warmup) record(m, 'run-rm-none', e.name, ms);
    }
    if (floor) {
      const { ms } = await timed(() => floor.runTrue());
      if (i >= warmup) record(m, 'run-rm-none', 'runc', ms);
    }
  }

  progress('run -d until running, then stop');
  await rounds(warmup, iterations, engines, async (e, keep) => {
    const run = await timed(() => mustRun(e, ['run', '-d', ...e.runFlags, IMAGE, ...SLEEPER]));
    const id = run.value.stdout.trim();
    const stop = await timed(() => mustRun(e, ['stop', id]));
    await mustRun(e, ['rm', id]);
    if (keep) {
      record(m, 'run-d', e.name, run.ms);
      record(m, 'stop', e.name, stop.ms);
    }
  });

  progress(`${cfg.parallelCount} parallel starts, ${cfg.parallelConcurrency} at a time, and memory`);
  await rounds(Math.min(warmup, 1), cfg.heavyIterations, engines, async (e, keep) => {
    const idleBefore = totalRssMiB(e.processes());
    const ids: string[] = [];
    const wall = await timed(async () => {
      let next = 0;
      const worker = async () => {
        while (next < cfg.parallelCount) {
          next++;
          const r = await mustRun(e, ['run', '-d', ...e.runFlags, IMAGE, 'sleep', '3600']);
          ids.push(r.stdout.trim());
        }
      };
      await Promise.all(Array.from({ length: cfg.parallelConcurrency }, worker));
    });
    const busy = totalRssMiB(e.processes());
    await mustRun(e, ['rm', '-f', ...ids], 300_000);
    const idleAfter = totalRssMiB(e.processes());
    if (keep) {
      record(m, 'parallel-wall', e.name, wall.ms / 1000);
      record(m, 'memory-per-container', e.name, (busy - idleBefore) / cfg.parallelCount);
      record(m, 'idle-rss-before', e.name, idleBefore);
      record(m, 'idle-rss-after', e.name, idleAfter);
    }
  });

  progress('exec c true');
  const execReady = new Map<string, string>();
  for (const e of engines) {
    const id = (await mustRun(e, ['run', '-d', ...e.runFlags, IMAGE, ...SLEEPER])).stdout.trim();
    const probe = await e.cli(['exec', id, 'true']);
    if (probe.code === 0) execReady.set(e.name, id);
    else {
      gap(
        m,
        'exec',
        e.name,
        `n/a: exec failed (${probe.stderr.trim().split('\n')[0] ?? `exit ${probe.code}`})`,
      );
      await mustRun(e, ['rm', '-f', id]);
    }
  }
  const execEngines = engines.filter((e) => execReady.has(e.name));
  await rounds(warmup, iterations, execEngines, async (e, keep) => {
    const { ms } = await timed(() => mustRun(e, ['exec', execReady.get(e.name)!, 'true']));
    if (keep) record(m, 'exec', e.name, ms);
  });
  for (const e of execEngines) await mustRun(e, ['rm', '-f', execReady.get(e.name)!]);

  progress(`logs of ${cfg.logLines} lines`);
  await rounds(Math.min(warmup, 1), cfg.heavyIterations, engines, async (e, keep) => {
    const id = (
      await mustRun(e, ['run', '-d', ...e.runFlags, IMAGE, 'seq', '1', String(cfg.logLines)])
    ).stdout.trim();
    await mustRun(e, ['wait', id]);
    const logs = await timed(() => mustRun(e, ['logs', id]));
    const lines = logs.value.stdout.split('\n').length - 1;
    if (lines !== cfg.logLines)
      throw new Error(`${e.name}: logs printed ${lines} lines, not ${cfg.logLines}`);
    await mustRun(e, ['rm', id]);
    if (keep) record(m, 'logs', e.name, cfg.logLines / (logs.ms / 1000));
  });

  progress(`save and load of a ${cfg.imageMiB} MiB image`);
  const big = await bigImageTar(cfg);
  const bigMB = statSync(big.path).size / 1e6;
  await rounds(Math.min(warmup, 1), cfg.heavyIterations, engines, async (e, keep) => {
    const load = await timed(() => mustRun(e, ['load', '-i', big.path], 300_000));
    const out = join(cfg.workDir, `saved-${e.name}.tar`);
    const save = await timed(() => mustRun(e, ['save', '-o', out, big.tag], 300_000));
    const savedMB = statSync(out).size / 1e6;
    rmSync(out, { force: true });
    await mustRun(e, ['rmi', big.tag]);
    if (keep) {
      record(m, 'load', e.name, bigMB / (load.ms / 1000));
      record(m, 'save', e.name, savedMB / (save.ms / 1000));
    }
  });
  rmSync(big.path, { force: true });
}

/** busybox plus one layer of random (incompressible) bytes, as a docker-save archive. */
async function bigImageTar(cfg: BenchConfig): Promise<{ path: string; tag: string }> {
  const tag = 'bench-big:latest';
  const base = await makeTar(busyboxRootfsEntries());
  const payload = await makeTar([{ name: 'payload.bin', content: randomBytes(cfg.imageMiB * 1024 * 1024) }]);
  const { tar } = await dockerSaveTar(tag, [base, payload]);
  const path = join(cfg.workDir, 'bench-big.tar');
  writeFileSync(path, tar);
  return { path, tag };
}

/** Phase timings berthd logged at debug level ('container started'), by phase name. */
export function berthPhases(logFile: string): Record<string, number[]> {
  const phases: Record<string, number[]> = {};
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.startsWith('{') || !line.includes('"container started"')) continue;
    let entry: { msg?: string; phases?: Record<string, number> };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue; // A line cut short by a crash; the others still count.
    }
    if (entry.msg !== 'container started' || !entry.phases) continue;
    for (const [name, ms] of Object.entries(entry.phases)) {
      phases[name] ??= [];
      phases[name].push(ms);
    }
  }
  return phases;
}
