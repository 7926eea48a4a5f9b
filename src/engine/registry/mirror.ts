import { InvalidArgumentError } from '../../api/index.js';
import type { RegistryCredentials } from './auth.js';
import { type RegistryOptions, RegistrySession } from './transport.js';

/** A pull-through mirror of Docker Hub (`--registry-mirror`). */
export interface Mirror {
  /** `host[:port]` */
  host: string;
  /** The operator wrote `http://`: spoken to in plain HTTP wherever it is. */
  isPlainHttp: boolean;
}

/** Checks a `--registry-mirror` URL as dockerd does, with dockerd's messages. */
export function parseMirror(text: string): Mirror {
  if (!/^[a-z][a-z0-9+.-]*:/i.test(text)) {
    throw new InvalidArgumentError(`invalid mirror: unsupported scheme "" in "${text}"`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError(`invalid mirror: "${text}" is not a valid URI`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(
      `invalid mirror: unsupported scheme "${url.protocol.slice(0, -1)}" in "${text}"`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new InvalidArgumentError(`invalid mirror: username/password not allowed in URI "${text}"`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    throw new InvalidArgumentError(`invalid mirror: path, query, or fragment at end of the URI "${text}"`);
  }
  return { host: url.host, isPlainHttp: url.protocol === 'http:' };
}

/**
 * A session with a mirror. It holds Docker Hub's repositories under the same paths and
 * gets the credentials given for Docker Hub, as dockerd sends them. `--allow-registry`
 * applies to it like to any registry.
 */
export function mirrorSession(
  mirror: Mirror,
  creds: RegistryCredentials,
  options: RegistryOptions,
): RegistrySession {
  const insecure = mirror.isPlainHttp
    ? [...options.insecureRegistries, mirror.host]
    : options.insecureRegistries;
  return new RegistrySession(mirror.host, creds, { ...options, insecureRegistries: insecure });
}
