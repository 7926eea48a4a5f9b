import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import bcrypt from 'bcryptjs';
import { RegistryError } from './errors.js';

/** What a repository route asks of its caller: pull for reads, push for the rest. */
export type Action = 'pull' | 'push';

export interface Need {
  name: string;
  action: Action;
}

/** The body `GET /token` answers with, as Docker's token spec has it. */
export interface TokenReply {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
}

/** Decides whether a request may go on; throws UNAUTHORIZED (401) or DENIED (403) when not. */
export interface Authenticator {
  /** The `WWW-Authenticate` challenge sent with a 401 on `req`. */
  challenge(req: IncomingMessage, need?: Need): string;
  /** `need` is undefined for routes outside a repository (`/v2/`, `/v2/_catalog`). */
  check(authorization: string | undefined, need?: Need): Promise<void>;
  /** Answers `GET /token` when this server is its own token issuer. */
  issue?(authorization: string | undefined, scopes: string[]): Promise<TokenReply>;
}

/** Parses an htpasswd file holding bcrypt entries (`htpasswd -B`); other hash kinds are refused. */
export function parseHtpasswd(text: string): Map<string, string> {
  const users = new Map<string, string>();
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    const hash = line.slice(colon + 1);
    if (colon <= 0 || !/^\$2[aby]\$\d\d\$/.test(hash)) {
      throw new Error(`htpasswd line ${index + 1}: only bcrypt entries (htpasswd -B) are supported`);
    }
    users.set(line.slice(0, colon), hash);
  }
  return users;
}

/**
 * Checks `Authorization: Basic` against htpasswd users; resolves to the user, or
 * undefined when no Basic credentials were sent. Wrong ones throw UNAUTHORIZED.
 */
export type PasswordCheck = (authorization: string | undefined) => Promise<string | undefined>;

export async function htpasswdCheck(path: string): Promise<PasswordCheck> {
  const users = parseHtpasswd(await readFile(path, 'utf8'));
  // bcrypt costs milliseconds per check and a push makes dozens of requests: remember
  // credentials already proven, by a hash of them, never the password itself.
  const proven = new Map<string, string>();
  return async (authorization) => {
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
    if (match === null) return undefined;
    const decoded = Buffer.from(match[1] ?? '', 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const key = createHash('sha256').update(decoded).digest('hex');
    if (proven.has(key)) return user;
    const hash = users.get(user);
    if (colon < 0 || hash === undefined || !(await bcrypt.compare(password, hash))) {
      throw new RegistryError('UNAUTHORIZED', 'invalid username or password');
    }
    proven.set(key, user);
    return user;
  };
}

export async function htpasswdAuthenticator(path: string, realm = 'berth'): Promise<Authenticator> {
  const password = await htpasswdCheck(path);
  return {
    challenge: () => `Basic realm="${realm}"`,
    async check(authorization) {
      if ((await password(authorization)) === undefined) {
        throw new RegistryError('UNAUTHORIZED', 'authentication required');
      }
    },
  };
}

/** Lets every request through: a registry without --htpasswd. */
export const anonymous: Authenticator = { challenge: () => '', check: async () => {} };
