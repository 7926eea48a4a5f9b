/**
 * Per-registry certificates, laid out as dockerd's `/etc/docker/certs.d`:
 * `<certs-dir>/<host:port>/` holds extra CAs (`*.crt`, trusted besides the system's) and
 * client certificates for mutual TLS (`*.cert`, each with the `*.key` of the same name).
 */

import { X509Certificate } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createSecureContext, rootCertificates } from 'node:tls';
import type { Agent } from 'undici';
import { InvalidArgumentError, messageOf } from '../../api/index.js';
import { registryAgent } from './http.js';

/** What a registry's directory says about TLS to it. */
export interface RegistryCerts {
  /** The directory the certificates came from. */
  dir: string;
  /** Extra CA certificates (PEM), one per `*.crt` file. */
  extraCas: string[];
  /** Client certificate chains and their keys, paired by file name. */
  clients: { cert: Buffer; key: Buffer }[];
}

/**
 * Reads `<certsDir>/<host>/`. Undefined when the directory does not exist: the registry
 * has no certificates of its own. InvalidArgumentError for a `.cert` without its `.key`
 * (or the reverse), or a file that is not a certificate or key, naming the file.
 */
export async function readRegistryCerts(certsDir: string, host: string): Promise<RegistryCerts | undefined> {
  const dir = join(certsDir, directoryNameOf(host));
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InvalidArgumentError(`reading certificates for ${host}: ${messageOf(e)}`, { cause: e });
  }
  const has = new Set(names);
  const certs: RegistryCerts = { dir, extraCas: [], clients: [] };
  for (const name of names) {
    const path = join(dir, name);
    if (name.endsWith('.crt')) {
      const pem = await readFile(path, 'utf8');
      checkCertificates(pem, path);
      certs.extraCas.push(pem);
    } else if (name.endsWith('.cert')) {
      const keyName = `${name.slice(0, -'.cert'.length)}.key`;
      if (!has.has(keyName)) {
        throw new InvalidArgumentError(
          `missing key ${keyName} for client certificate ${name}. CA certificates must use a .crt extension`,
        );
      }
      const client = { cert: await readFile(path), key: await readFile(join(dir, keyName)) };
      try {
        // Parses both and checks that the key belongs to the certificate.
        createSecureContext(client);
      } catch (e) {
        throw new InvalidArgumentError(`client certificate ${path} with key ${keyName}: ${messageOf(e)}`, {
          cause: e,
        });
      }
      certs.clients.push(client);
    } else if (name.endsWith('.key')) {
      const certName = `${name.slice(0, -'.key'.length)}.cert`;
      if (!has.has(certName)) {
        throw new InvalidArgumentError(`missing client certificate ${certName} for key ${name}`);
      }
    }
  }
  return certs;
}

/** `[::1]:5000` cannot be a directory name everywhere; dockerd uses `::1:5000`, so do we. */
function directoryNameOf(host: string): string {
  return host.replace(/^\[(.*)\]/, '$1');
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every block of a `.crt` must parse: a CA that silently fails to load is a puzzle at pull time. */
function checkCertificates(pem: string, path: string): void {
  const blocks = pem.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw new InvalidArgumentError(`${path}: no PEM certificate found`);
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (e) {
      throw new InvalidArgumentError(`${path}: ${messageOf(e)}`, { cause: e });
    }
  }
}

/** The TLS options of a registry's connections: system CAs plus its own, its client certificates. */
export function agentOptionsOf(certs: RegistryCerts): { ca?: string[]; cert?: Buffer[]; key?: Buffer[] } {
  return {
    // Node's `ca` replaces the trusted roots, so the system's are listed too.
    ...(certs.extraCas.length > 0 ? { ca: [...rootCertificates, ...certs.extraCas] } : {}),
    ...(certs.clients.length > 0
      ? { cert: certs.clients.map((c) => c.cert), key: certs.clients.map((c) => c.key) }
      : {}),
  };
}

/** An agent per registry directory, remade when a file in it changes. */
interface CachedAgent {
  signature: string;
  agent: Agent | undefined;
}

const agents = new Map<string, CachedAgent>();

/**
 * The undici Agent for `host`, or undefined when `<certsDir>/<host>/` does not exist.
 * Reading is cheap (a readdir and a stat per file) and happens per session, so a
 * certificate put in place or renewed is used by the next pull without a restart.
 */
export async function registryAgentFor(certsDir: string, host: string): Promise<Agent | undefined> {
  const dir = join(certsDir, directoryNameOf(host));
  const signature = await signatureOf(dir);
  const cached = agents.get(dir);
  if (cached && cached.signature === signature) return cached.agent;
  const certs = signature === '' ? undefined : await readRegistryCerts(certsDir, host);
  const agent = certs ? registryAgent(agentOptionsOf(certs)) : undefined;
  // Closing lets transfers still running on the old certificates finish. It fails only for an
  // agent already destroyed, and none is: nothing is lost by not waiting or looking.
  cached?.agent?.close().catch(() => undefined);
  agents.set(dir, { signature, agent });
  return agent;
}

/** Names, sizes and mtimes of a directory's files; empty when it does not exist. */
async function signatureOf(dir: string): Promise<string> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new InvalidArgumentError(`reading certificates in ${dir}: ${messageOf(e)}`, { cause: e });
  }
  const parts = await Promise.all(
    names.map(async (name) => {
      const s = await stat(join(dir, name));
      return `${name}:${s.size}:${s.mtimeMs}`;
    }),
  );
  return `dir;${parts.join(';')}`;
}
