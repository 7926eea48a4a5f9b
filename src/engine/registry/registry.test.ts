import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { InvalidArgumentError } from '../../api/index.js';
import { openImageStore } from '../image/index.js';
import {
  parseChallenges,
  parseRegistryAuthHeader,
  parseRegistryConfigHeader,
  registryDomainOf,
} from './auth.js';
import { sha256Of } from './digest.js';
import { parseManifest } from './manifest.js';
import { progressBar, runBounded } from './progress.js';
import { isInsecureHost, registryErrorText } from './transport.js';

describe('parseChallenges', () => {
  const cases: [string, ReturnType<typeof parseChallenges>][] = [
    ['Basic realm="registry"', [{ scheme: 'basic', params: { realm: 'registry' } }]],
    [
      'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"',
      [
        {
          scheme: 'bearer',
          params: {
            realm: 'https://auth.example/token',
            service: 'registry.example',
            scope: 'repository:a/b:pull,push',
          },
        },
      ],
    ],
    ['Bearer realm=plain, service=x', [{ scheme: 'bearer', params: { realm: 'plain', service: 'x' } }]],
  ];
  for (const [header, expected] of cases) {
    test(header, () => assert.deepEqual(parseChallenges(header), expected));
  }
  test('no header, no challenge', () => assert.deepEqual(parseChallenges(null), []));
});

describe('parseRegistryAuthHeader', () => {
  const encode = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const cases: [string, string | undefined, ReturnType<typeof parseRegistryAuthHeader>][] = [
    ['absent', undefined, {}],
    ['empty object', encode({}), {}],
    [
      'password',
      encode({ username: 'u', password: 'p', serveraddress: 'h' }),
      { username: 'u', password: 'p' },
    ],
    ['identity token', encode({ identitytoken: 't' }), { identityToken: 't' }],
    [
      'config-file auth',
      encode({ auth: Buffer.from('u:p:q').toString('base64') }),
      { username: 'u', password: 'p:q' },
    ],
  ];
  for (const [name, header, expected] of cases) {
    test(name, () => {
      const { serverAddress: _, ...creds } = parseRegistryAuthHeader(header) as Record<string, string>;
      assert.deepEqual(creds, expected);
    });
  }
  test('garbage is a 400', () => assert.throws(() => parseRegistryAuthHeader('!!!'), InvalidArgumentError));
});

describe('parseRegistryConfigHeader', () => {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  test("every login by its registry's host, Docker Hub as docker.io", () => {
    const header = encode({
      'https://index.docker.io/v1/': { username: 'hub', password: 'h' },
      '127.0.0.1:5000': { username: 'local', password: 'l', serveraddress: '127.0.0.1:5000' },
      'https://registry.example/': { identitytoken: 'refresh' },
    });
    assert.deepEqual(
      parseRegistryConfigHeader(header),
      new Map([
        ['docker.io', { username: 'hub', password: 'h' }],
        ['127.0.0.1:5000', { username: 'local', password: 'l' }],
        ['registry.example', { identityToken: 'refresh' }],
      ]),
    );
  });

  test('absent or empty is no login; not base64 JSON is a clear 400', () => {
    assert.equal(parseRegistryConfigHeader(undefined).size, 0);
    assert.equal(parseRegistryConfigHeader(encode({})).size, 0);
    assert.throws(() => parseRegistryConfigHeader('%%%'), InvalidArgumentError);
  });
});

describe('isInsecureHost', () => {
  const cases: [string, string[], boolean][] = [
    ['127.0.0.1:5000', [], true],
    ['127.1.2.3', [], true],
    ['localhost:5000', [], true],
    ['[::1]:5000', [], true],
    ['registry.example', [], false],
    ['registry.example:5000', ['registry.example:5000'], true],
    ['10.1.2.3:5000', ['10.0.0.0/8'], true],
    ['11.1.2.3:5000', ['10.0.0.0/8'], false],
  ];
  for (const [host, insecure, expected] of cases) {
    test(`${host} with [${insecure.join(',')}]`, () =>
      assert.equal(isInsecureHost(host, insecure), expected));
  }
});

test('registryErrorText reads the registry JSON as docker prints it', () => {
  const body = JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] });
  assert.equal(registryErrorText(body, 404), 'manifest unknown: manifest unknown');
  assert.equal(registryErrorText('<html>', 502), 'unexpected status from registry: 502');
});

test('registryDomainOf', () => {
  assert.equal(registryDomainOf(undefined), 'docker.io');
  assert.equal(registryDomainOf('https://index.docker.io/v1/'), 'docker.io');
  assert.equal(registryDomainOf('http://127.0.0.1:5000/'), '127.0.0.1:5000');
  assert.equal(registryDomainOf('127.0.0.1:5000'), '127.0.0.1:5000');
});

describe('parseManifest', () => {
  const digest = `sha256:${'a'.repeat(64)}`;
  test('an index', () => {
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [{ mediaType: 'x', digest, size: 1, platform: { os: 'linux', architecture: 'amd64' } }],
      }),
    );
    assert.equal(parseManifest(bytes, '', 'm').kind, 'index');
  });
  test('schema 1 is refused', () => {
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'x' }));
    assert.throws(() => parseManifest(bytes, '', 'm'), /schema 1 are not supported/);
  });
  test('an unknown layer type is refused', () => {
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        config: { mediaType: 'c', digest, size: 1 },
        layers: [{ mediaType: 'application/x-unknown', digest, size: 1 }],
      }),
    );
    assert.throws(() => parseManifest(bytes, '', 'm'), /unsupported media type/);
  });
});

test('progressBar', () => {
  assert.match(progressBar(50, 100), /^\[=+> +\] {2}50B\/100B$/);
  assert.match(progressBar(100, 100), /^\[=+>\] {2}100B\/100B$/);
});

test('runBounded never runs more than the limit at once', async () => {
  let running = 0;
  let peak = 0;
  await runBounded([1, 2, 3, 4, 5, 6, 7], 3, async () => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setImmediate(r));
    running--;
  });
  assert.equal(peak, 3);
});

describe('image store blobs', () => {
  test('a blob is visible only when its content matches its digest', async () => {
    const root = await mkdtemp(join(tmpdir(), 'berth-registry-unit-'));
    try {
      const { images } = await openImageStore({ root, events: () => undefined });
      const data = Buffer.from('layer bytes');
      const digest = sha256Of(data);
      const wrong = sha256Of('something else');
      await assert.rejects(images.writeBlob(Readable.from([data]), wrong), InvalidArgumentError);
      assert.equal(await images.hasBlob(wrong), false);
      assert.deepEqual(await readdir(join(root, 'content', 'ingest')), []);
      assert.equal(await images.writeBlob(Readable.from([data]), digest), data.length);
      assert.equal(await images.hasBlob(digest), true);
      assert.deepEqual(await images.readBlob(digest), data);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
