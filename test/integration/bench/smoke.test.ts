// The benchmark suite (issue 7) in smoke mode: one small iteration of every scenario
// against a private berthd, so `npm run bench` cannot rot between full runs.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeReport } from '../../../bench/report.js';
import { runBench, SMOKE_CONFIG } from '../../../bench/run.js';

const outDir = mkdtempSync(join(tmpdir(), 'berth-bench-smoke-'));
after(() => rmSync(outDir, { recursive: true, force: true }));

test('the bench runs every scenario once against berth and writes its table', {
  timeout: 120_000,
}, async () => {
  const report = await runBench({ engines: ['berth'], withRunc: false, config: SMOKE_CONFIG });

  for (const s of report.scenarios) {
    const berth = s.engines.berth;
    assert.ok(berth, `no berth figure for ${s.id}`);
    // exec may not exist yet; the bench then says so instead of a number.
    if ('gap' in berth) assert.match(berth.gap, /^n\/a/, `${s.id}: ${berth.gap}`);
    else assert.ok(Number.isFinite(berth.median) && berth.median >= 0, `${s.id}: median ${berth.median}`);
  }
  const runRm = report.scenarios.find((s) => s.id === 'run-rm-bridge')?.engines.berth;
  assert.ok(runRm && !('gap' in runRm) && runRm.median > 0, 'run --rm true has a positive time');
  assert.ok(
    ['snapshotMount', 'network', 'conmonRuncCreate', 'runcStart'].every((p) => p in report.berthPhasesMs),
    `berthd logged the start phases: ${JSON.stringify(Object.keys(report.berthPhasesMs))}`,
  );

  writeReport(report, join(outDir, 'benchmarks.md'), join(outDir, 'benchmarks.json'));
  const md = readFileSync(join(outDir, 'benchmarks.md'), 'utf8');
  assert.match(md, /\| `run --rm busybox true` \(bridge\) \| ms, lower is better \| \d/);
  assert.ok(existsSync(join(outDir, 'benchmarks.json')));
});
