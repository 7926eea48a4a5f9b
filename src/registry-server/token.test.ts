import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { htpasswdCheck } from './auth.js';
import { createHandler } from './handler.js';
import { RegistryStorage } from './storage.js';
import { parseScopes, TokenIssuer, tokenAuthenticator } from './token.js';

const USER = 'alice';
const PASSWORD = 's3cret';

let dir: string;
let server: Server;
let base: string;
/** The clock the server's issuer reads; tests move it to expire tokens. */
let clock = Date.now();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-regtoken-'));
  const htpasswd = join(dir, 'htpasswd');
  await writeFile(htpasswd, `${USER}:${bcrypt.hashSync(PASSWORD, 4)}\n`);
  const storage = new RegistryStorage(join(dir, 'root'));
  await storage.init();
  const auth = tokenAuthenticator(await htpasswdCheck(htpasswd), new TokenIssuer(() => clock));
  const handler = createHandler({ storage, auth, log: () => {} });
  server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function token(scope: string | undefined, authorization?: string): Promise<string> {
  const res = await tokenResponse(scope, authorization);
  assert.equal(res.status, 200);
  const body = (await res.json()) as {
    token: string;
    access_token: string;
    expires_in: number;
    issued_at: string;
  };
  assert.equal(body.token, body.access_token);
  assert.equal(body.expires_in, 300);
  assert.ok(!Number.isNaN(Date.parse(body.issued_at)), body.issued_at);
  return body.token;
}

function tokenResponse(scope: string | undefined, authorization?: string): Promise<Response> {
  const url = new URL('/token', base);
  url.searchParams.set('service', 'berth-registry');
  if (scope !== undefined) url.searchParams.set('scope', scope);
  return fetch(url, { headers: authorization === undefined ? {} : { Authorization: authorization } });
}

async function call(method: string, path: string, bearer?: string) {
  const res = await fetch(new URL(path, base), {
    method,
    headers: bearer === undefined ? {} : { Authorization: `Bearer ${bearer}` },
  });
  const text = await res.text();
  const codes =
    text === ''
      ? []
      : ((JSON.parse(text) as { errors?: { code: string }[] }).errors ?? []).map((e) => e.code);
  return { status: res.status, challenge: res.headers.get('www-authenticate'), codes };
}

describe('parseScopes', () => {
  const cases: { scopes: string[]; want: ReturnType<typeof parseScopes> }[] = [
    { scopes: [], want: [] },
    { scopes: ['repository:a/b:pull'], want: [{ type: 'repository', name: 'a/b', actions: ['pull'] }] },
    {
      scopes: ['repository:a:pull,push repository:b:*'],
      want: [
        { type: 'repository', name: 'a', actions: ['pull', 'push'] },
        { type: 'repository', name: 'b', actions: ['pull', 'push'] },
      ],
    },
    { scopes: ['registry:catalog:*', 'repository:a:delete', 'repository::pull'], want: [] },
    {
      scopes: ['repository:host:5000/x:pull'],
      want: [{ type: 'repository', name: 'host:5000/x', actions: ['pull'] }],
    },
  ];
  for (const c of cases) {
    test(JSON.stringify(c.scopes), () => assert.deepEqual(parseScopes(c.scopes), c.want));
  }
});

describe('token auth on the handler', () => {
  test('/v2/ without a token: 401 UNAUTHORIZED with the bearer challenge', async () => {
    const r = await call('GET', '/v2/');
    assert.equal(r.status, 401);
    assert.deepEqual(r.codes, ['UNAUTHORIZED']);
    assert.equal(r.challenge, `Bearer realm="${base}/token",service="berth-registry"`);
  });

  test('a repository route names its scope in the challenge', async () => {
    const r = await call('GET', '/v2/team/app/tags/list');
    assert.equal(r.status, 401);
    assert.equal(
      r.challenge,
      `Bearer realm="${base}/token",service="berth-registry",scope="repository:team/app:pull,push"`,
    );
  });

  test('a wrong password gets no token', async () => {
    const res = await tokenResponse('repository:team/app:pull', basic(USER, 'nope'));
    assert.equal(res.status, 401);
    const body = (await res.json()) as { errors: { code: string }[] };
    assert.deepEqual(
      body.errors.map((e) => e.code),
      ['UNAUTHORIZED'],
    );
  });

  test('/v2/ accepts any valid token, even an anonymous one', async () => {
    assert.equal((await call('GET', '/v2/', await token(undefined, basic(USER, PASSWORD)))).status, 200);
    assert.equal((await call('GET', '/v2/', await token('repository:team/app:pull'))).status, 200);
  });

  test('an anonymous token carries no access: 401 on a repository', async () => {
    const anon = await token('repository:team/app:pull,push');
    const payload = JSON.parse(Buffer.from(anon.split('.')[1] ?? '', 'base64url').toString()) as {
      access: unknown[];
      sub: string;
    };
    assert.deepEqual(payload.access, []);
    const r = await call('GET', '/v2/team/app/tags/list', anon);
    assert.equal(r.status, 401);
    assert.deepEqual(r.codes, ['UNAUTHORIZED']);
  });

  test('a token for pull only can read but not push: 403 DENIED', async () => {
    const pull = await token('repository:team/app:pull', basic(USER, PASSWORD));
    const read = await call('GET', '/v2/team/app/tags/list', pull);
    assert.equal(read.status, 404, 'past auth, to the missing repository');
    assert.deepEqual(read.codes, ['NAME_UNKNOWN']);
    const push = await call('POST', '/v2/team/app/blobs/uploads/', pull);
    assert.equal(push.status, 403);
    assert.deepEqual(push.codes, ['DENIED']);
    const other = await call('GET', '/v2/team/other/tags/list', pull);
    assert.equal(other.status, 403, 'a token for one repository does not open another');
  });

  test('a token for pull,push can start an upload', async () => {
    const both = await token('repository:team/app:pull,push', basic(USER, PASSWORD));
    assert.equal((await call('POST', '/v2/team/app/blobs/uploads/', both)).status, 202);
  });

  const bad: { name: string; mangle: (t: string) => string }[] = [
    {
      name: 'a changed payload',
      mangle: (t) =>
        t.replace(
          /\.[^.]+\./,
          `.${Buffer.from('{"aud":"berth-registry","exp":9999999999,"nbf":0,"access":[]}').toString('base64url')}.`,
        ),
    },
    { name: 'a changed signature', mangle: (t) => `${t.slice(0, -2)}${t.endsWith('AA') ? 'BB' : 'AA'}` },
    { name: 'no signature', mangle: (t) => t.slice(0, t.lastIndexOf('.') + 1) },
    { name: 'garbage', mangle: () => 'not-a-jwt' },
  ];
  for (const c of bad) {
    test(`${c.name}: 401 UNAUTHORIZED`, async () => {
      const good = await token('repository:team/app:pull', basic(USER, PASSWORD));
      const r = await call('GET', '/v2/team/app/tags/list', c.mangle(good));
      assert.equal(r.status, 401);
      assert.deepEqual(r.codes, ['UNAUTHORIZED']);
    });
  }

  test('an expired token: 401 UNAUTHORIZED', async () => {
    const t = await token('repository:team/app:pull', basic(USER, PASSWORD));
    clock += 301_000 + 10_000;
    try {
      const r = await call('GET', '/v2/team/app/tags/list', t);
      assert.equal(r.status, 401);
      assert.deepEqual(r.codes, ['UNAUTHORIZED']);
    } finally {
      clock = Date.now();
    }
  });
});
