import { InvalidArgumentError } from '../../api/index.js';

const DOCKER_HUB = 'docker.io';

/** What a client sends to reach a registry: a password or a token from an earlier login. */
export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** A refresh token a registry's token server gave at login (Docker's `identitytoken`). */
  identityToken?: string;
  /** A bearer token to use as is (Docker's `registrytoken`). */
  registryToken?: string;
}

/** One `WWW-Authenticate` challenge: `Bearer realm="...",service="..."` or `Basic realm="..."`. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Decodes Docker's `X-Registry-Auth` header: base64url (padded or not, and plain base64
 * from older clients) JSON of an AuthConfig. An absent or empty header means anonymous.
 */
export function parseRegistryAuthHeader(header: string | undefined): RegistryCredentials {
  return credentialsOf(decodeHeaderJson('X-Registry-Auth', header));
}

/**
 * Decodes Docker's `X-Registry-Config` header (the classic builder's): base64url JSON of
 * a map from registry to AuthConfig, every login the client has. Keys are as the docker
 * CLI's config file holds them (`https://index.docker.io/v1/`, `127.0.0.1:5000`,
 * `https://registry.example/`), and come back as the registry's host (`docker.io` for
 * Docker Hub).
 */
export function parseRegistryConfigHeader(header: string | undefined): Map<string, RegistryCredentials> {
  const byRegistry = new Map<string, RegistryCredentials>();
  const value = decodeHeaderJson('X-Registry-Config', header);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return byRegistry;
  for (const [key, config] of Object.entries(value)) {
    const { serverAddress: _, ...credentials } = credentialsOf(config);
    byRegistry.set(registryDomainOf(key), credentials);
  }
  return byRegistry;
}

/** A base64url (or plain base64) JSON header; undefined when absent or empty. */
function decodeHeaderJson(name: string, header: string | undefined): unknown {
  if (header === undefined || header.trim() === '') return undefined;
  try {
    return JSON.parse(Buffer.from(header.trim(), 'base64url').toString('utf8'));
  } catch (e) {
    throw new InvalidArgumentError(`invalid ${name} header: not base64url-encoded JSON`, { cause: e });
  }
}

/**
 * The registry a login or a config key names: docker writes `https://index.docker.io/v1/`
 * for Docker Hub, and `host:port` or a URL for others.
 */
export function registryDomainOf(serverAddress: string | undefined): string {
  if (serverAddress === undefined || serverAddress === '') return DOCKER_HUB;
  const bare = serverAddress.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  if (bare === 'index.docker.io' || bare === 'registry-1.docker.io' || bare === DOCKER_HUB) return DOCKER_HUB;
  return bare;
}

/** Reads an AuthConfig body (`POST /auth`, the decoded header) into credentials and the server it names. */
export function credentialsOf(value: unknown): RegistryCredentials & { serverAddress?: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  const record = value as Record<string, unknown>;
  const text = (key: string): string | undefined => {
    const v = record[key];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const out: RegistryCredentials & { serverAddress?: string } = {};
  const username = text('username');
  const password = text('password');
  const identityToken = text('identitytoken') ?? text('IdentityToken');
  const registryToken = text('registrytoken');
  const serverAddress = text('serveraddress');
  if (username !== undefined) out.username = username;
  if (password !== undefined) out.password = password;
  if (identityToken !== undefined) out.identityToken = identityToken;
  if (registryToken !== undefined) out.registryToken = registryToken;
  if (serverAddress !== undefined) out.serverAddress = serverAddress;
  // docker login stores `auth` (base64 user:pass) in config files; some clients forward it as is.
  const auth = text('auth');
  if (auth !== undefined && out.username === undefined) {
    const decoded = Buffer.from(auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      out.username = decoded.slice(0, colon);
      out.password = decoded.slice(colon + 1);
    }
  }
  return out;
}

export function hasPassword(creds: RegistryCredentials): boolean {
  return creds.username !== undefined && creds.password !== undefined;
}

export function basicAuthorization(creds: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${creds.username ?? ''}:${creds.password ?? ''}`).toString('base64')}`;
}

/** Parses a `WWW-Authenticate` header; several challenges may share it. */
export function parseChallenges(header: string | null): Challenge[] {
  if (header === null) return [];
  const challenges: Challenge[] = [];
  // scheme, then key=value or key="quoted value" pairs separated by commas.
  const token = /\s*([A-Za-z][\w-]*)(?:\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*))?\s*,?/y;
  let current: Challenge | undefined;
  token.lastIndex = 0;
  while (token.lastIndex < header.length) {
    const start = token.lastIndex;
    const match = token.exec(header);
    if (!match || token.lastIndex === start) break;
    const [, name, rawValue] = match;
    if (rawValue === undefined) {
      current = { scheme: (name as string).toLowerCase(), params: {} };
      challenges.push(current);
    } else if (current) {
      const value = rawValue.startsWith('"') ? rawValue.slice(1, -1).replace(/\\(.)/g, '$1') : rawValue;
      current.params[(name as string).toLowerCase()] = value;
    }
  }
  return challenges;
}
