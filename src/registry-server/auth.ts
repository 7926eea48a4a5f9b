import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import bcrypt from 'bcryptjs';
import { RegistryError } from './errors.js';

/** Decides whether a request may go on; throws UNAUTHORIZED (with a challenge) when not. */
export interface Authenticator {
  /** The `WWW-Authenticate` challenge sent with a 401. */
  readonly challenge: string;
  check(authorization: string | undefined): Promise<void>;
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

export async function htpasswdAuthenticator(path: string, realm = 'berth'): Promise<Authenticator> {
  const users = parseHtpasswd(await readFile(path, 'utf8'));
  // bcrypt costs milliseconds per check and a push makes dozens of requests: remember
  // credentials already proven, by a hash of them, never the password itself.
  const proven = new Set<string>();
  const challenge = `Basic realm="${realm}"`;
  const refuse = (message: string) => new RegistryError('UNAUTHORIZED', message);
  return {
    challenge,
    async check(authorization) {
      const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
      if (match === null) throw refuse('authentication required');
      const decoded = Buffer.from(match[1] ?? '', 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const user = decoded.slice(0, colon);
      const password = decoded.slice(colon + 1);
      const key = createHash('sha256').update(decoded).digest('hex');
      if (proven.has(key)) return;
      const hash = users.get(user);
      if (colon < 0 || hash === undefined || !(await bcrypt.compare(password, hash))) {
        throw refuse('invalid username or password');
      }
      proven.add(key);
    },
  };
}

/** Lets every request through: a registry without --htpasswd. */
export const anonymous: Authenticator = { challenge: '', check: async () => {} };
