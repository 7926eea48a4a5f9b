import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rootCertificates } from 'node:tls';
import { InvalidArgumentError } from '../../api/index.js';
import { agentOptionsOf, readRegistryCerts, registryAgentFor } from './certs.js';
import { httpFetch, networkErrorText, registryAgent } from './http.js';

let work = '';
let certPem = '';
let keyPem = '';
/** A valid key that does not belong to certPem. */
let otherKeyPem = '';

before(() => {
  work = mkdtempSync(join(tmpdir(), 'berth-certs-unit-'));
  // openssl is a test prerequisite (scripts/setup --test); node cannot make certificates.
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat([
      '-keyout',
      'k.pem',
      '-out',
      'c.pem',
      '-subj',
      '/CN=berth-unit',
      '-days',
      '1',
    ]),
    { cwd: work, stdio: 'ignore' },
  );
  certPem = readFileSync(join(work, 'c.pem'), 'utf8');
  keyPem = readFileSync(join(work, 'k.pem'), 'utf8');
  otherKeyPem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    .privateKey.export({ type: 'sec1', format: 'pem' })
    .toString();
});
after(() => rmSync(work, { recursive: true, force: true }));

/** A fresh certs dir with `host`'s directory holding `files`. */
function certsDirWith(host: string, files: Record<string, string>): string {
  const dir = mkdtempSync(join(work, 'd-'));
  mkdirSync(join(dir, host));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, host, name), text);
  return dir;
}

describe('readRegistryCerts', () => {
  const host = '127.0.0.1:5000';
  const ok: [string, () => Record<string, string>, number, number][] = [
    ['an empty directory', () => ({}), 0, 0],
    ['a CA', () => ({ 'ca.crt': certPem }), 1, 0],
    [
      'two CAs and a client pair',
      () => ({ 'a.crt': certPem, 'b.crt': certPem, 'c.cert': certPem, 'c.key': keyPem }),
      2,
      1,
    ],
    ['files of other kinds are ignored', () => ({ README: 'hello', 'ca.pem': 'x' }), 0, 0],
  ];
  for (const [what, files, cas, clients] of ok) {
    test(what, async () => {
      const certs = await readRegistryCerts(certsDirWith(host, files()), host);
      assert.equal(certs?.extraCas.length, cas);
      assert.equal(certs?.clients.length, clients);
    });
  }

  const bad: [string, () => Record<string, string>, RegExp][] = [
    [
      'a .cert without its .key',
      () => ({ 'client.cert': certPem }),
      /^missing key client\.key for client certificate client\.cert\. CA certificates must use a \.crt extension$/,
    ],
    [
      'a .key without its .cert',
      () => ({ 'client.key': keyPem }),
      /^missing client certificate client\.cert for key client\.key$/,
    ],
    [
      'a .crt that holds no certificate',
      () => ({ 'ca.crt': 'hello\n' }),
      /ca\.crt: no PEM certificate found$/,
    ],
    [
      'a .crt with a broken certificate',
      () => ({ 'ca.crt': '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' }),
      /ca\.crt: /,
    ],
    [
      "a key that is not the certificate's",
      () => ({ 'c.cert': certPem, 'c.key': otherKeyPem }),
      /c\.cert with key c\.key: /,
    ],
  ];
  for (const [what, files, message] of bad) {
    test(what, async () => {
      await assert.rejects(readRegistryCerts(certsDirWith(host, files()), host), (e: unknown) => {
        assert.ok(e instanceof InvalidArgumentError);
        assert.match(e.message, message);
        return true;
      });
    });
  }

  test('no directory for the host: undefined', async () => {
    assert.equal(await readRegistryCerts(work, 'elsewhere:443'), undefined);
  });

  test('an IPv6 host is looked up without brackets, as dockerd does', async () => {
    const certs = await readRegistryCerts(certsDirWith('::1:5000', { 'ca.crt': certPem }), '[::1]:5000');
    assert.equal(certs?.extraCas.length, 1);
  });
});

test('agent options keep the system CAs besides the extra ones', () => {
  const options = agentOptionsOf({ dir: '', extraCas: [certPem], clients: [] });
  assert.equal(options.ca?.length, rootCertificates.length + 1);
  assert.equal(options.cert, undefined);
  assert.deepEqual(agentOptionsOf({ dir: '', extraCas: [], clients: [] }), {});
});

test('registryAgentFor is cached until a file changes', async () => {
  const host = 'reg.example:443';
  const dir = certsDirWith(host, { 'ca.crt': certPem });
  const first = await registryAgentFor(dir, host);
  assert.ok(first);
  assert.equal(await registryAgentFor(dir, host), first);
  writeFileSync(join(dir, host, 'extra.crt'), certPem);
  const second = await registryAgentFor(dir, host);
  assert.ok(second && second !== first);
  rmSync(join(dir, host), { recursive: true });
  assert.equal(await registryAgentFor(dir, host), undefined);
});

test('a registry asking for a client certificate: served with one, the TLS alert without', async () => {
  const server = createServer(
    { cert: certPem, key: keyPem, ca: [certPem], requestCert: true, rejectUnauthorized: true },
    (_req, res) => res.end('{}'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/v2/`;
  // The test certificate names no host: what is checked here is the client side.
  const withCert = registryAgent({ rejectUnauthorized: false, cert: certPem, key: keyPem });
  const without = registryAgent({ rejectUnauthorized: false });
  try {
    const res = await httpFetch(url, { method: 'GET', headers: {}, dispatcher: withCert });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    await assert.rejects(
      httpFetch(url, { method: 'GET', headers: {}, dispatcher: without }),
      (e: unknown) => {
        assert.equal(networkErrorText(e), 'remote error: tls: certificate required');
        return true;
      },
    );
  } finally {
    await Promise.all([withCert.close(), without.close()]);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

describe('networkErrorText', () => {
  const cases: [object, string][] = [
    [
      { code: 'SELF_SIGNED_CERT_IN_CHAIN', message: 'self-signed certificate in certificate chain' },
      'tls: failed to verify certificate: x509: certificate signed by unknown authority',
    ],
    [
      { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', message: 'ssl alert' },
      'remote error: tls: certificate required',
    ],
    [
      { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1' },
      'connect ECONNREFUSED 127.0.0.1:1',
    ],
  ];
  for (const [error, text] of cases) {
    test(text, () =>
      assert.equal(networkErrorText(Object.assign(new Error((error as Error).message), error)), text),
    );
  }
});
