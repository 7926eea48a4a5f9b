/**
 * Docker's token auth, with this server as its own issuer: `GET /token` trades htpasswd
 * credentials (or none) for a short-lived JWT naming the access granted, and repository
 * routes accept only a token whose signature, lifetime and access cover the request.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Action, Authenticator, Need, PasswordCheck, TokenReply } from './auth.js';
import { RegistryError } from './errors.js';

export const SERVICE = 'berth-registry';
export const TOKEN_TTL_SECONDS = 300;
/** Clocks of issuer and verifier are the same here; this only absorbs rounding of `iat`. */
const LEEWAY_SECONDS = 5;

export interface Access {
  type: 'repository';
  name: string;
  actions: Action[];
}

interface Claims {
  iss: string;
  sub: string;
  aud: string;
  iat: number;
  nbf: number;
  exp: number;
  jti: string;
  access: Access[];
}

/**
 * `repository:team/app:pull,push` (several space-separated in one `scope`) -> what was
 * asked for. Scopes of other types, and actions other than pull and push, grant nothing.
 */
export function parseScopes(scopes: string[]): Access[] {
  const out: Access[] = [];
  for (const item of scopes.flatMap((s) => s.split(' ')).filter((s) => s !== '')) {
    const first = item.indexOf(':');
    const last = item.lastIndexOf(':');
    if (first < 0 || last === first || item.slice(0, first) !== 'repository') continue;
    const name = item.slice(first + 1, last);
    const actions = item
      .slice(last + 1)
      .split(',')
      .flatMap((a): Action[] => (a === '*' ? ['pull', 'push'] : a === 'pull' || a === 'push' ? [a] : []));
    const unique = [...new Set(actions)];
    if (name !== '' && unique.length > 0) out.push({ type: 'repository', name, actions: unique });
  }
  return out;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export class TokenIssuer {
  /** A key per server start: tokens do not outlive the process that signed them. */
  private readonly key = randomBytes(32);

  constructor(private readonly now: () => number = Date.now) {}

  sign(subject: string, access: Access[]): TokenReply {
    const iat = Math.floor(this.now() / 1000);
    const claims: Claims = {
      iss: SERVICE,
      sub: subject,
      aud: SERVICE,
      iat,
      nbf: iat,
      exp: iat + TOKEN_TTL_SECONDS,
      jti: randomUUID(),
      access,
    };
    const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
    const token = `${unsigned}.${this.mac(unsigned).toString('base64url')}`;
    return {
      token,
      access_token: token,
      expires_in: TOKEN_TTL_SECONDS,
      issued_at: new Date(iat * 1000).toISOString(),
    };
  }

  /** The claims of a token this issuer signed and that is still valid; UNAUTHORIZED otherwise. */
  verify(token: string): Claims {
    const invalid = (why: string) => new RegistryError('UNAUTHORIZED', `authentication required: ${why}`);
    const parts = token.split('.');
    if (parts.length !== 3) throw invalid('malformed token');
    const [header = '', payload = '', signature = ''] = parts;
    const expected = this.mac(`${header}.${payload}`);
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw invalid('invalid token signature');
    }
    let claims: Claims;
    try {
      const alg = (JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { alg?: unknown }).alg;
      if (alg !== 'HS256') throw invalid('unsupported token algorithm');
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Claims;
    } catch (e) {
      if (e instanceof RegistryError) throw e;
      throw invalid('malformed token');
    }
    const now = Math.floor(this.now() / 1000);
    if (claims.aud !== SERVICE) throw invalid('token is for another service');
    if (typeof claims.exp !== 'number' || now > claims.exp + LEEWAY_SECONDS) throw invalid('token expired');
    if (typeof claims.nbf !== 'number' || now + LEEWAY_SECONDS < claims.nbf) {
      throw invalid('token not valid yet');
    }
    if (!Array.isArray(claims.access)) throw invalid('malformed token');
    return claims;
  }

  private mac(data: string): Buffer {
    return createHmac('sha256', this.key).update(data).digest();
  }
}

function scheme(req: IncomingMessage): string {
  return (req.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http';
}

/** Token auth over htpasswd users: every user may pull and push every repository. */
export function tokenAuthenticator(password: PasswordCheck, issuer = new TokenIssuer()): Authenticator {
  return {
    challenge(req, need) {
      const realm = `${scheme(req)}://${req.headers.host ?? 'localhost'}/token`;
      const scope = need === undefined ? '' : `,scope="repository:${need.name}:pull,push"`;
      return `Bearer realm="${realm}",service="${SERVICE}"${scope}`;
    },
    async check(authorization, need?: Need) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
      if (match === null) throw new RegistryError('UNAUTHORIZED', 'authentication required');
      const claims = issuer.verify(match[1] ?? '');
      if (need === undefined) return;
      const granted = claims.access.some(
        (a) => a.type === 'repository' && a.name === need.name && a.actions.includes(need.action),
      );
      if (granted) return;
      const detail = [{ Type: 'repository', Name: need.name, Action: need.action }];
      // Anonymous tokens carry no access: logging in may help, so it is a 401. A user's
      // token without the action is a refusal of what was asked.
      if (claims.sub === '') throw new RegistryError('UNAUTHORIZED', 'authentication required', detail);
      throw new RegistryError('DENIED', 'requested access to the resource is denied', detail);
    },
    async issue(authorization, scopes) {
      const user = await password(authorization);
      return issuer.sign(user ?? '', user === undefined ? [] : parseScopes(scopes));
    },
  };
}
