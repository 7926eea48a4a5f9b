import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildReport, renderMarkdown } from './report.js';

const META = { date: 'd', machine: {}, versions: {}, config: {} };

test('the table has a row for each scenario measured, and none for groups left out', () => {
  const cases: { samples: Record<string, Record<string, number[]>>; rows: string[]; absent: string[] }[] = [
    {
      samples: { push: { berth: [200], docker: [400] }, pull: { berth: [100] } },
      rows: ['| `push` to a local `docker-registry` | ms, lower is better | 200 (200–200) **0.50×** |'],
      absent: ['`run --rm busybox true`', '`build --no-cache`'],
    },
    {
      samples: { 'build-cached': { berth: [80] } },
      rows: ['| `build`, every step cached (small context) | ms, lower is better | 80.0 (80.0–80.0) |'],
      absent: ['`push`', '`pull`'],
    },
  ];
  for (const c of cases) {
    const md = renderMarkdown(buildReport({ samples: c.samples, gaps: {} }, {}, META));
    for (const row of c.rows) assert.ok(md.includes(row), `${row} in\n${md}`);
    for (const title of c.absent) assert.ok(!md.includes(title), `${title} absent from\n${md}`);
  }
});
