import { createHash, type Hash } from 'node:crypto';
import { RegistryError } from './errors.js';

// The spec's grammar for repository names and tags.
const NAME = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const MAX_NAME = 255;

export type Algorithm = 'sha256' | 'sha512';
const HEX_LENGTH: Record<Algorithm, number> = { sha256: 64, sha512: 128 };

/** A digest whose algorithm we can compute: `sha256:<64 hex>` or `sha512:<128 hex>`. */
export interface Digest {
  algorithm: Algorithm;
  hex: string;
}

export function formatDigest(d: Digest): string {
  return `${d.algorithm}:${d.hex}`;
}

export function isAlgorithm(s: string): s is Algorithm {
  return s === 'sha256' || s === 'sha512';
}

/** Parses a digest; DIGEST_INVALID for bad syntax or an algorithm we do not compute. */
export function parseDigest(s: string): Digest {
  const colon = s.indexOf(':');
  const algorithm = s.slice(0, colon);
  const hex = s.slice(colon + 1);
  if (colon < 0 || !isAlgorithm(algorithm)) {
    throw new RegistryError(
      'DIGEST_INVALID',
      `invalid digest: unsupported algorithm in ${JSON.stringify(s)}`,
    );
  }
  if (hex.length !== HEX_LENGTH[algorithm] || !/^[a-f0-9]+$/.test(hex)) {
    throw new RegistryError('DIGEST_INVALID', `invalid digest: ${JSON.stringify(s)}`);
  }
  return { algorithm, hex };
}

export function newHash(algorithm: Algorithm): Hash {
  return createHash(algorithm);
}

export function digestOf(algorithm: Algorithm, data: Uint8Array): Digest {
  return { algorithm, hex: newHash(algorithm).update(data).digest('hex') };
}

/** NAME_INVALID unless `name` is a repository name of the spec's grammar. */
export function checkName(name: string): void {
  if (name.length > MAX_NAME || !NAME.test(name)) {
    throw new RegistryError('NAME_INVALID', 'invalid repository name', { name });
  }
}

export function isTag(s: string): boolean {
  return TAG.test(s);
}

/** A manifest reference is a digest when it holds a colon (tags cannot). */
export type Reference = { tag: string } | { digest: Digest };

/** Parses `<tag-or-digest>`; `invalid` is the error for a tag that breaks the grammar. */
export function parseReference(s: string, invalid: () => RegistryError): Reference {
  if (s.includes(':')) return { digest: parseDigest(s) };
  if (!isTag(s)) throw invalid();
  return { tag: s };
}
