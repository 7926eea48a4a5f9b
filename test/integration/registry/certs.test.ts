// Per-registry certificates (issue 9): berthd's `--certs-dir`, laid out as dockerd's
// /etc/docker/certs.d, against Debian's docker-registry serving TLS and mutual TLS on loopback.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  assertExit,
  assertOk,
  busyboxImage,
  type Daemon,
  type ImageInspect,
  pushedDigest,
  runProgram,
  startDaemon,
} from '../../harness/index.js';
import { type Distribution, startDistribution } from './distribution.js';

const USER = 'tlsuser';
const PASSWORD = 'tls-horse';

let work = '';
let certsDir = '';
let d: Daemon;
/** TLS with htpasswd. */
let tls: Distribution;
/** Mutual TLS: clients must show a certificate signed by the test CA. */
let mutual: Distribution;
let busyboxId = '';

async function openssl(args: string[]): Promise<void> {
  assertOk(await runProgram('openssl', args, { cwd: work }), `openssl ${args[0]}`);
}

/** A certificate signed by ca.crt, for `ext` (subjectAltName, extendedKeyUsage). */
async function signedCert(name: string, subject: string, ext: string): Promise<void> {
  writeFileSync(join(work, `${name}.ext`), `${ext}\n`);
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
  await openssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`]);
  await openssl([
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.crt`,
  ]);
}

async function selfSignedCa(name: string, subject: string): Promise<void> {
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
  await openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    `${name}.key`,
    '-subj',
    subject,
    '-days',
    '2',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    `${name}.crt`,
  ]);
}

/** Replaces certs.d/<host>/ with `files` (name -> file in the work dir, or literal text); none: no directory. */
function setCerts(host: string, files?: Record<string, string | { text: string }>): void {
  const dir = join(certsDir, host);
  rmSync(dir, { recursive: true, force: true });
  if (!files) return;
  mkdirSync(dir, { recursive: true });
  for (const [name, from] of Object.entries(files)) {
    writeFileSync(join(dir, name), typeof from === 'string' ? readFileSync(join(work, from)) : from.text);
  }
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'berth-certs-'));
  certsDir = join(work, 'certs.d');
  mkdirSync(certsDir);
  await selfSignedCa('ca', '/CN=berth test CA');
  await selfSignedCa('other-ca', '/CN=someone else');
  await signedCert('server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth');
  await signedCert('client', '/CN=berth client', 'extendedKeyUsage=clientAuth');
  const serverTls = { certFile: join(work, 'server.crt'), keyFile: join(work, 'server.key') };
  [tls, mutual] = await Promise.all([
    startDistribution({ user: USER, password: PASSWORD, tls: serverTls }),
    startDistribution({ tls: { ...serverTls, clientCaFile: join(work, 'ca.crt') } }),
  ]);
  d = await startDaemon({ extraArgs: ['--certs-dir', certsDir] });
  const image = await busyboxImage();
  busyboxId = image.imageId;
  assertOk(await d.docker(['load', '-i', image.path]), 'docker load');
});
after(async () => {
  await d?.stop();
  await tls?.stop();
  await mutual?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});
afterEach((t) => d?.dumpLogOnFailure(t));

describe('a TLS registry with its CA in certs.d', () => {
  test('docker login, push, rmi, pull: same digest and image', async () => {
    setCerts(tls.host, { 'ca.crt': 'ca.crt' });
    const login = assertOk(
      await d.docker(['login', '-u', USER, '--password-stdin', tls.host], { input: `${PASSWORD}\n` }),
      'docker login',
    );
    assert.match(login.stdout, /Login Succeeded/);
    const name = `${tls.host}/secure/busybox:1`;
    assertOk(await d.docker(['tag', busyboxId, name]), 'docker tag');
    const digest = pushedDigest(assertOk(await d.docker(['push', name]), 'docker push').stdout, '1');
    assertOk(await d.docker(['rmi', name]), 'docker rmi');
    const pull = assertOk(await d.docker(['pull', name]), 'docker pull');
    assert.match(pull.stdout, new RegExp(`^Digest: ${digest}$`, 'm'));
    assert.equal((await d.inspect<ImageInspect>(name)).Id, busyboxId);
  });

  test('a CA that did not sign the registry certificate: x509 error, exit 1', async () => {
    setCerts(tls.host, { 'ca.crt': 'other-ca.crt' });
    const r = assertExit(await d.docker(['pull', `${tls.host}/secure/busybox:1`]), 1, 'docker pull');
    assert.match(
      r.stderr,
      new RegExp(
        `Get "https://${tls.host}/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority`,
      ),
    );
  });

  test('no certs.d entry: a loopback registry is insecure, so TLS is used unverified, as dockerd does', async () => {
    setCerts(tls.host);
    const name = `${tls.host}/secure/busybox:1`;
    assertOk(await d.docker(['rmi', name]), 'docker rmi');
    assertOk(await d.docker(['pull', name]), 'docker pull');
  });
});

describe('a registry that requires client certificates', () => {
  test('with client.cert and client.key in certs.d, push and pull work', async () => {
    setCerts(mutual.host, { 'ca.crt': 'ca.crt', 'client.cert': 'client.crt', 'client.key': 'client.key' });
    const name = `${mutual.host}/mtls/busybox:1`;
    assertOk(await d.docker(['tag', busyboxId, name]), 'docker tag');
    const digest = pushedDigest(assertOk(await d.docker(['push', name]), 'docker push').stdout, '1');
    assertOk(await d.docker(['rmi', name]), 'docker rmi');
    const pull = assertOk(await d.docker(['pull', name]), 'docker pull');
    assert.match(pull.stdout, new RegExp(`^Digest: ${digest}$`, 'm'));
  });

  test('without a client certificate the registry refuses the connection, exit 1', async () => {
    setCerts(mutual.host, { 'ca.crt': 'ca.crt' });
    const r = assertExit(await d.docker(['pull', `${mutual.host}/mtls/busybox:1`]), 1, 'docker pull');
    assert.match(r.stderr, /remote error: tls: (certificate required|bad certificate)/);
  });

  test('a .cert without its .key names the file, exit 1', async () => {
    setCerts(mutual.host, { 'ca.crt': 'ca.crt', 'client.cert': 'client.crt' });
    const r = assertExit(await d.docker(['pull', `${mutual.host}/mtls/busybox:1`]), 1, 'docker pull');
    assert.match(
      r.stderr,
      /missing key client\.key for client certificate client\.cert\. CA certificates must use a \.crt extension/,
    );
  });

  test('a .key without its .cert, and a .crt that is no certificate, name the file', async () => {
    setCerts(mutual.host, { 'ca.crt': 'ca.crt', 'client.key': 'client.key' });
    const key = assertExit(await d.docker(['pull', `${mutual.host}/mtls/busybox:1`]), 1, 'docker pull');
    assert.match(key.stderr, /missing client certificate client\.cert for key client\.key/);

    setCerts(mutual.host, { 'ca.crt': { text: 'not a certificate\n' } });
    const crt = assertExit(await d.docker(['push', `${mutual.host}/mtls/busybox:1`]), 1, 'docker push');
    assert.match(crt.stderr, /ca\.crt: no PEM certificate found/);
    // The daemon is still there and fine.
    assertOk(await d.docker(['version']), 'docker version');
  });
});
