/**
 * Turns measurements into docs/benchmarks.json and the generated part of
 * docs/benchmarks.md (between the markers), leaving the hand-written analysis around
 * it untouched.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Measured } from './sampling.js';
import { formatNumber, ratioOf, type Summary, summarize } from './stats.js';

export interface ScenarioInfo {
  id: string;
  title: string;
  unit: string;
  isHigherBetter: boolean;
}

export const SCENARIOS: ScenarioInfo[] = [
  { id: 'run-rm-bridge', title: '`run --rm busybox true` (bridge)', unit: 'ms', isHigherBetter: false },
  { id: 'run-rm-none', title: '`run --rm --network none busybox true`', unit: 'ms', isHigherBetter: false },
  { id: 'run-d', title: '`run -d` until running', unit: 'ms', isHigherBetter: false },
  { id: 'stop', title: '`stop`', unit: 'ms', isHigherBetter: false },
  { id: 'parallel-wall', title: 'parallel `run -d` starts, wall time', unit: 's', isHigherBetter: false },
  { id: 'memory-per-container', title: 'memory per running container', unit: 'MiB', isHigherBetter: false },
  { id: 'idle-rss-before', title: 'daemon idle RSS, before', unit: 'MiB', isHigherBetter: false },
  { id: 'idle-rss-after', title: 'daemon idle RSS, after', unit: 'MiB', isHigherBetter: false },
  { id: 'exec', title: '`exec c true`', unit: 'ms', isHigherBetter: false },
  { id: 'logs', title: '`logs` throughput', unit: 'lines/s', isHigherBetter: true },
  { id: 'load', title: '`load` throughput', unit: 'MB/s', isHigherBetter: true },
  { id: 'save', title: '`save` throughput', unit: 'MB/s', isHigherBetter: true },
  {
    id: 'build-cold',
    title: '`build --no-cache` (small context)',
    unit: 'ms',
    isHigherBetter: false,
  },
  {
    id: 'build-cached',
    title: '`build`, every step cached (small context)',
    unit: 'ms',
    isHigherBetter: false,
  },
  {
    id: 'build-big-cached',
    title: '`build`, every step cached (large context)',
    unit: 'ms',
    isHigherBetter: false,
  },
  { id: 'push', title: '`push` to a local `docker-registry`', unit: 'ms', isHigherBetter: false },
  { id: 'pull', title: '`pull` from a local `docker-registry`', unit: 'ms', isHigherBetter: false },
];

export const ENGINE_COLUMNS = ['berth', 'docker', 'podman', 'runc'] as const;

export interface BenchReport {
  date: string;
  machine: Record<string, string>;
  versions: Record<string, string>;
  config: Record<string, number>;
  scenarios: {
    id: string;
    title: string;
    unit: string;
    isHigherBetter: boolean;
    engines: Record<string, (Summary & { ratioToDocker?: number }) | { gap: string }>;
  }[];
  berthPhasesMs: Record<string, Summary>;
}

export function buildReport(
  measured: Measured,
  phases: Record<string, number[]>,
  meta: Pick<BenchReport, 'date' | 'machine' | 'versions' | 'config'>,
): BenchReport {
  const scenarios = SCENARIOS.map((s) => {
    const byEngine = measured.samples[s.id] ?? {};
    const docker = summarize(byEngine.docker ?? []);
    const engines: BenchReport['scenarios'][number]['engines'] = {};
    for (const name of ENGINE_COLUMNS) {
      const why = measured.gaps[s.id]?.[name];
      if (why !== undefined) {
        engines[name] = { gap: why };
        continue;
      }
      const summary = summarize(byEngine[name] ?? []);
      if (!summary) continue;
      const ratio = ratioOf(summary, docker);
      engines[name] = ratio === undefined ? summary : { ...summary, ratioToDocker: ratio };
    }
    return { ...s, engines };
  });
  const berthPhasesMs: Record<string, Summary> = {};
  for (const [name, samples] of Object.entries(phases)) {
    const summary = summarize(samples);
    if (summary) berthPhasesMs[name] = summary;
  }
  return { ...meta, scenarios, berthPhasesMs };
}

function cell(v: BenchReport['scenarios'][number]['engines'][string] | undefined): string {
  if (v === undefined) return '–';
  if ('gap' in v) return v.gap;
  const range = `${formatNumber(v.median)} (${formatNumber(v.min)}–${formatNumber(v.max)})`;
  return v.ratioToDocker === undefined ? range : `${range} **${v.ratioToDocker.toFixed(2)}×**`;
}

export function renderMarkdown(r: BenchReport): string {
  const columns = ENGINE_COLUMNS.filter((name) => r.scenarios.some((s) => s.engines[name] !== undefined));
  const lines = [
    `Run of ${r.date} on ${r.machine.cpu ?? '?'} (${r.machine.cpus ?? '?'} CPUs, ${r.machine.memory ?? '?'}), kernel ${r.machine.kernel ?? '?'}.`,
    '',
    `Versions: ${Object.values(r.versions).join('; ')}.`,
    '',
    `Settings: ${Object.entries(r.config)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
    '',
    "Each cell: median (min–max) and, in bold, the ratio of the median to Docker's.",
    '',
    `| scenario | unit | ${columns.join(' | ')} |`,
    `|---|---|${columns.map(() => '---').join('|')}|`,
  ];
  // A run of some groups only (--only) has no figure at all for the others.
  for (const s of r.scenarios.filter((x) => Object.keys(x.engines).length > 0)) {
    const better = s.isHigherBetter ? 'higher is better' : 'lower is better';
    lines.push(
      `| ${s.title} | ${s.unit}, ${better} | ${columns.map((c) => cell(s.engines[c])).join(' | ')} |`,
    );
  }
  const phaseNames = Object.keys(r.berthPhasesMs);
  if (phaseNames.length > 0) {
    lines.push(
      '',
      `berthd's start path, per phase (ms, from its debug log, over every container started in the run):`,
      '',
      '| phase | median | min | max |',
      '|---|---|---|---|',
    );
    for (const name of phaseNames) {
      const p = r.berthPhasesMs[name]!;
      lines.push(`| ${name} | ${formatNumber(p.median)} | ${formatNumber(p.min)} | ${formatNumber(p.max)} |`);
    }
  }
  return lines.join('\n');
}

const BEGIN = '<!-- bench:begin (written by npm run bench) -->';
const END = '<!-- bench:end -->';

/** Writes the JSON and replaces the generated part of the Markdown page (or makes the page). */
export function writeReport(r: BenchReport, mdPath: string, jsonPath: string): void {
  writeFileSync(jsonPath, `${JSON.stringify(r, null, 2)}\n`);
  const generated = `${BEGIN}\n${renderMarkdown(r)}\n${END}`;
  const page = existsSync(mdPath) ? readFileSync(mdPath, 'utf8') : `# Benchmarks\n\n${BEGIN}\n${END}\n`;
  const from = page.indexOf(BEGIN);
  const to = page.indexOf(END);
  const next =
    from >= 0 && to > from
      ? `${page.slice(0, from)}${generated}${page.slice(to + END.length)}`
      : `${page.trimEnd()}\n\n${generated}\n`;
  writeFileSync(mdPath, next);
}
