import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateContainerName, normalizeContainerName } from './names.js';

test('container names follow Docker rules', () => {
  for (const ok of ['web', '/web', 'a1', 'my_app.v2-x']) assert.match(normalizeContainerName(ok), /^\//);
  for (const bad of ['', 'a', '-web', 'we b', 'wé', '/']) {
    assert.throws(() => normalizeContainerName(bad), /Invalid container name/, bad);
  }
});

test('generated names avoid taken ones', () => {
  const taken = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const name = generateContainerName((n) => taken.has(n));
    assert.ok(!taken.has(name));
    assert.doesNotThrow(() => normalizeContainerName(name));
    taken.add(name);
  }
});
