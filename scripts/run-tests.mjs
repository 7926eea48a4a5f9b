// Runs every compiled test file with node's test runner: unit tests beside the code
// first, then the integration suites (each starts its own berthd).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function findTests(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (name.endsWith('.test.js')) found.push(path);
  }
  return found.sort();
}

const only = process.argv.slice(2);
const unit = [...findTests('dist/src'), ...findTests('dist/bench')];
const integration = findTests('dist/test');
const files =
  only.length > 0
    ? [...unit, ...integration].filter((f) => only.some((o) => f.includes(o)))
    : [...unit, ...integration];
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
