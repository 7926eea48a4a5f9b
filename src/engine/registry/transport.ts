import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import {
  BerthError,
  ForbiddenError,
  InvalidArgumentError,
  NotFoundError,
  UnauthorizedError,
  UnavailableError,
} from '../../api/index.js';
import {
  basicAuthorization,
  type Challenge,
  hasPassword,
  parseChallenges,
  type RegistryCredentials,
} from './auth.js';
import { registryAgentFor } from './certs.js';
import { httpFetch, networkErrorText, registryAgent } from './http.js';

/** How the daemon reaches registries: which hosts may be spoken to in plain HTTP. */
export interface RegistryOptions {
  /** `host[:port]` or CIDR entries from `--insecure-registry`. */
  insecureRegistries: readonly string[];
  /** When not empty, the only registries berthd may contact (`--allow-registry`), in the same forms. */
  allowedRegistries?: readonly string[];
  /**
   * dockerd's certs.d: `<certsDir>/<host:port>/` holds `*.crt` CAs and `*.cert`/`*.key`
   * client pairs. A registry with such a directory is spoken to over verified HTTPS only.
   */
  certsDir?: string;
}

export interface RegistryRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** A path under the registry (`/v2/...`) or an absolute URL the registry gave (upload locations). */
  path: string;
  headers?: Record<string, string>;
  body?: Readable | Buffer;
  signal?: AbortSignal;
}

const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_API = 'registry-1.docker.io';
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** How long an insecure registry gets to answer over HTTPS before plain HTTP is tried. */
const HTTPS_ATTEMPT_TIMEOUT_MS = 10_000;

/** For insecure registries, as dockerd's InsecureSkipVerify: TLS if offered, unverified. */
const unverifiedAgent = registryAgent({ rejectUnauthorized: false });

/** How one session reaches its registry, decided at its first request. */
interface Endpoint {
  baseUrl: string;
  dispatcher: Dispatcher | undefined;
}

/** `docker.io` is served by another host name; everything else as written. */
export function apiHostOf(domain: string): string {
  return domain === DOCKER_HUB || domain === 'index.docker.io' ? DOCKER_HUB_API : domain;
}

/** Plain HTTP only for loopback registries and those the operator named insecure, as dockerd. */
export function isInsecureHost(host: string, insecure: readonly string[]): boolean {
  const name = hostNameOf(host);
  if (name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name)) return true;
  return matchesHostList(host, insecure);
}

/** `host[:port]`, a bare host name, or a CIDR holding the host's address. */
function matchesHostList(host: string, entries: readonly string[]): boolean {
  const name = hostNameOf(host);
  return entries.some((entry) => entry === host || entry === name || isInCidr(name, entry));
}

function hostNameOf(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

function isInCidr(address: string, cidr: string): boolean {
  const match = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  const ip = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  if (!match || !ip) return false;
  const toInt = (m: RegExpExecArray) =>
    ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
  const bits = Number(match[5]);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (toInt(ip) & mask) === (toInt(match) & mask);
}

/**
 * Reads a registry's error body (`{"errors":[{"code","message"}]}`) as Docker prints it:
 * `manifest unknown: manifest unknown`.
 */
export function registryErrorText(body: string, status: number): string {
  try {
    const parsed = JSON.parse(body) as { errors?: { code?: string; message?: string }[] };
    const first = parsed.errors?.[0];
    if (first?.code) {
      const code = first.code.toLowerCase().replaceAll('_', ' ');
      return first.message ? `${code}: ${first.message}` : code;
    }
  } catch {
    // Not the registry's JSON (a proxy's HTML page, say): fall back to the status line.
  }
  return `unexpected status from registry: ${status}`;
}

/** The kind of error a registry's answer means. */
export function errorOfStatus(status: number, message: string): BerthError {
  if (status === 401) return new UnauthorizedError(message);
  if (status === 403) return new ForbiddenError(message);
  if (status === 404) return new NotFoundError(message);
  if (status === 400) return new InvalidArgumentError(message);
  if (status >= 500) return new UnavailableError(message);
  return new BerthError(message);
}

export async function readErrorBody(res: Response): Promise<string> {
  const text = await readLimited(res, MAX_ERROR_BODY_BYTES).catch(() => Buffer.alloc(0));
  return text.toString('utf8');
}

/** Reads a whole response body, refusing more than `limit` bytes (manifests, configs). */
export async function readLimited(res: Response, limit: number): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > limit) {
    await res.body?.cancel();
    throw new InvalidArgumentError(`response of ${declared} bytes is larger than the ${limit} allowed`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  if (!res.body) return Buffer.alloc(0);
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > limit) {
      await res.body.cancel().catch(() => undefined);
      throw new InvalidArgumentError(`response is larger than the ${limit} bytes allowed`);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/**
 * One registry, seen by one client with one set of credentials. It learns the registry's
 * challenge from `GET /v2/` and answers it: Basic with the password, or Docker's token
 * dance (a bearer token from the realm, for the scope asked for, cached per scope).
 */
export class RegistrySession {
  /** `https://host` or `http://host`; final once the first request has been made. */
  baseUrl: string;
  private readonly host: string;
  private endpoint: Promise<Endpoint> | undefined;
  private challenge: Promise<Challenge | undefined> | undefined;
  private readonly tokens = new Map<string, Promise<string>>();

  constructor(
    readonly domain: string,
    private readonly creds: RegistryCredentials,
    private readonly options: RegistryOptions,
  ) {
    const host = apiHostOf(domain);
    const allowed = options.allowedRegistries ?? [];
    if (allowed.length > 0 && !matchesHostList(host, allowed)) {
      throw new ForbiddenError(
        `registry ${host} is not allowed: this daemon may only contact ${allowed.join(', ')}`,
      );
    }
    this.host = host;
    this.baseUrl = `${isInsecureHost(host, options.insecureRegistries) ? 'http' : 'https'}://${host}`;
  }

  /**
   * Where requests go. A registry with a certs.d directory: HTTPS, verified against the system
   * CAs and its own, with its client certificates. Otherwise, as dockerd: HTTPS verified for
   * secure registries; for insecure ones (loopback, `--insecure-registry`) HTTPS without
   * verification when the registry speaks TLS, else plain HTTP.
   */
  private resolveEndpoint(signal?: AbortSignal): Promise<Endpoint> {
    this.endpoint ??= (async (): Promise<Endpoint> => {
      const https = `https://${this.host}`;
      const agent = this.options.certsDir
        ? await registryAgentFor(this.options.certsDir, this.host)
        : undefined;
      if (agent || !isInsecureHost(this.host, this.options.insecureRegistries))
        return { baseUrl: https, dispatcher: agent };
      if (await this.speaksTls(signal)) return { baseUrl: https, dispatcher: unverifiedAgent };
      return { baseUrl: `http://${this.host}`, dispatcher: undefined };
    })();
    this.endpoint.then(
      (e) => {
        this.baseUrl = e.baseUrl;
      },
      () => {
        // A failure (a bad certificate file, say) is reported; the next request tries again.
        this.endpoint = undefined;
      },
    );
    return this.endpoint;
  }

  /** Whether `GET https://host/v2/` gets any HTTP answer: dockerd's HTTPS-first for insecure registries. */
  private async speaksTls(signal?: AbortSignal): Promise<boolean> {
    const timeout = AbortSignal.timeout(HTTPS_ATTEMPT_TIMEOUT_MS);
    try {
      const res = await httpFetch(`https://${this.host}/v2/`, {
        method: 'GET',
        headers: {},
        dispatcher: unverifiedAgent,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      await res.body?.cancel();
      return true;
    } catch (e) {
      if (signal?.aborted) throw e;
      return false;
    }
  }

  /** `GET /v2/` without credentials: what the registry asks for, if anything. */
  probe(signal?: AbortSignal): Promise<Challenge | undefined> {
    this.challenge ??= (async () => {
      const res = await this.fetchRaw({ method: 'GET', path: '/v2/', ...(signal ? { signal } : {}) });
      await res.body?.cancel();
      if (res.status === 401) {
        const challenges = parseChallenges(res.headers.get('www-authenticate'));
        return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
      }
      if (res.status >= 300 && res.status !== 404) {
        throw errorOfStatus(res.status, `${this.baseUrl}/v2/: unexpected status ${res.status}`);
      }
      return undefined;
    })();
    // A failed probe may be retried by the next request.
    this.challenge.catch(() => {
      this.challenge = undefined;
    });
    return this.challenge;
  }

  /** The Authorization header for `scope` (`repository:team/app:pull,push`), if one is needed. */
  async authorization(scope: string, signal?: AbortSignal): Promise<string | undefined> {
    if (this.creds.registryToken !== undefined) return `Bearer ${this.creds.registryToken}`;
    const challenge = await this.probe(signal);
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') {
      if (!hasPassword(this.creds)) throw new UnauthorizedError('no basic auth credentials');
      return basicAuthorization(this.creds);
    }
    let token = this.tokens.get(scope);
    if (!token) {
      token = this.fetchToken(challenge, scope, signal);
      this.tokens.set(scope, token);
      token.catch(() => this.tokens.delete(scope));
    }
    return `Bearer ${await token}`;
  }

  /** A request with the credentials `scope` needs. */
  async fetch(req: RegistryRequest, scope: string): Promise<Response> {
    const authorization = await this.authorization(scope, req.signal);
    return this.fetchRaw({
      ...req,
      headers: { ...(req.headers ?? {}), ...(authorization ? { Authorization: authorization } : {}) },
    });
  }

  async fetchRaw(req: RegistryRequest): Promise<Response> {
    const endpoint = await this.resolveEndpoint(req.signal);
    const url = /^https?:\/\//.test(req.path) ? req.path : `${endpoint.baseUrl}${req.path}`;
    try {
      return await httpFetch(url, {
        method: req.method,
        headers: req.headers ?? {},
        ...(req.body !== undefined ? { body: req.body } : {}),
        ...(req.signal ? { signal: req.signal } : {}),
        ...(endpoint.dispatcher ? { dispatcher: endpoint.dispatcher } : {}),
      });
    } catch (e) {
      if (req.signal?.aborted) throw e;
      throw new UnavailableError(
        `${req.method === 'HEAD' ? 'Head' : req.method === 'GET' ? 'Get' : req.method} "${url}": ${networkErrorText(e)}`,
        { cause: e },
      );
    }
  }

  /** Docker's token flow: GET the realm with service and scope, Basic credentials if we have them. */
  private async fetchToken(challenge: Challenge, scope: string, signal?: AbortSignal): Promise<string> {
    const realm = challenge.params.realm;
    if (!realm) throw new UnavailableError(`registry ${this.domain} sent a bearer challenge without realm`);
    const url = new URL(realm);
    const service = challenge.params.service;
    let res: Response;
    if (this.creds.identityToken !== undefined) {
      // A refresh token is exchanged with a POST, as the token spec's OAuth2 flow says.
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: this.creds.identityToken,
        client_id: 'berth',
        scope,
        ...(service ? { service } : {}),
      });
      res = await this.fetchRaw({
        method: 'POST',
        path: url.toString(),
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: Buffer.from(form.toString()),
        ...(signal ? { signal } : {}),
      });
    } else {
      if (service) url.searchParams.set('service', service);
      // One `scope` parameter per scope, as Docker's token spec has it (a mount asks for two).
      for (const item of scope.split(' ').filter((s) => s !== '')) url.searchParams.append('scope', item);
      if (this.creds.username) url.searchParams.set('account', this.creds.username);
      res = await this.fetchRaw({
        method: 'GET',
        path: url.toString(),
        headers: hasPassword(this.creds) ? { Authorization: basicAuthorization(this.creds) } : {},
        ...(signal ? { signal } : {}),
      });
    }
    if (!res.ok) {
      const body = await readErrorBody(res);
      const text = res.status === 401 ? registryErrorText(body, res.status) : `token server: ${res.status}`;
      throw errorOfStatus(
        res.status,
        text.startsWith('unexpected') ? 'unauthorized: authentication required' : text,
      );
    }
    const parsed = JSON.parse((await readLimited(res, MAX_ERROR_BODY_BYTES)).toString('utf8')) as {
      token?: string;
      access_token?: string;
    };
    const token = parsed.token ?? parsed.access_token;
    if (!token) throw new UnavailableError(`token server of ${this.domain} sent no token`);
    return token;
  }
}
