// Dependencies point one way (docs/architecture.md): a file may import another area
// only through that area's index.ts, and only areas below it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const SRC = resolve('src');

// Which areas each area may import. An engine subsystem is its own area.
const ALLOWED: Record<string, string[]> = {
  api: [],
  store: ['api'],
  platform: ['api'],
  client: ['api'],
  cli: ['client', 'api'],
  server: ['engine', 'api'],
  engine: ['engine/*', 'api', 'platform', 'store'],
  'engine/*': ['api', 'platform', 'store', 'engine/events', 'engine/*'],
  'registry-server': ['api', 'store'],
  'berth.ts': ['cli', 'api', 'registry-server'],
  'berthd.ts': ['engine', 'server', 'store', 'api'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

/** `engine/image/x.ts` -> `engine/image`; `engine/events.ts` -> `engine`; `berthd.ts` -> `berthd.ts`. */
function areaOf(file: string): string {
  const parts = relative(SRC, file).split('/');
  if (parts.length === 1) return parts[0] ?? '';
  if (parts[0] === 'engine' && parts.length > 2) return `engine/${parts[1]}`;
  return parts[0] ?? '';
}

function ruleOf(area: string): string[] {
  return ALLOWED[area] ?? ALLOWED[area.startsWith('engine/') ? 'engine/*' : ''] ?? [];
}

function isAllowed(from: string, to: string, target: string): boolean {
  return ruleOf(from).some((rule) => {
    if (rule === 'engine/events') return relative(SRC, target) === 'engine/events.ts';
    if (rule === 'engine/*') return to.startsWith('engine/');
    return rule === to;
  });
}

test('imports point down and across areas only through index.ts', () => {
  const problems: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = areaOf(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/from '(\.[^']+)'/g)) {
      const target = resolve(dirname(file), (match[1] ?? '').replace(/\.js$/, '.ts'));
      const to = areaOf(target);
      if (to === from) continue;
      const where = `${relative(SRC, file)} imports ${relative(SRC, target)}`;
      if (!isAllowed(from, to, target)) problems.push(`${where}: ${from} may not depend on ${to}`);
      else if (!target.endsWith('/index.ts') && relative(SRC, target) !== 'engine/events.ts') {
        problems.push(`${where}: import ${to} through its index.ts`);
      }
    }
  }
  assert.deepEqual(problems, []);
});
