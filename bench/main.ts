/**
 * `npm run bench`: berth, Docker, Podman and raw runc side by side; writes
 * docs/benchmarks.md and docs/benchmarks.json. `--smoke` runs one small iteration
 * of every scenario against berth alone and writes nothing unless --out is given.
 * `--only core,build,registry` runs just those groups of scenarios.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../test/harness/index.js';
import type { EngineName } from './engines.js';
import { renderMarkdown, writeReport } from './report.js';
import { FULL_CONFIG, runBench, SMOKE_CONFIG } from './run.js';
import { SCENARIO_GROUPS, type ScenarioGroup } from './scenarios.js';

const ENGINE_NAMES: EngineName[] = ['berth', 'docker', 'podman'];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      engines: { type: 'string' },
      iterations: { type: 'string' },
      out: { type: 'string' },
      only: { type: 'string' },
    },
  });
  const engines = (values.engines?.split(',') ?? (values.smoke ? ['berth'] : ENGINE_NAMES)).map((n) => {
    if (!ENGINE_NAMES.includes(n as EngineName))
      throw new Error(`unknown engine ${n}; known: ${ENGINE_NAMES.join(', ')}`);
    return n as EngineName;
  });
  const groups = values.only?.split(',').map((g) => {
    if (!SCENARIO_GROUPS.includes(g as ScenarioGroup))
      throw new Error(`unknown scenario group ${g}; known: ${SCENARIO_GROUPS.join(', ')}`);
    return g as ScenarioGroup;
  });
  const config = { ...(values.smoke ? SMOKE_CONFIG : FULL_CONFIG) };
  if (values.iterations) config.iterations = Number(values.iterations);
  const started = Date.now();
  const report = await runBench({
    engines,
    withRunc: !values.smoke && (groups === undefined || groups.includes('core')),
    config,
    ...(groups ? { groups } : {}),
    progress: (line) =>
      process.stderr.write(`bench: ${line} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`),
  });
  const outDir = values.out ?? (values.smoke ? undefined : join(REPO_ROOT, 'docs'));
  if (outDir) {
    writeReport(report, join(outDir, 'benchmarks.md'), join(outDir, 'benchmarks.json'));
    process.stderr.write(`bench: wrote ${join(outDir, 'benchmarks.md')} and benchmarks.json\n`);
  }
  process.stdout.write(`${renderMarkdown(report)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
