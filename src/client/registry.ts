import { readJsonLines } from './json-stream.js';
import type { Transport } from './transport.js';
import type { JsonMessage } from './types.js';

/** Docker's AuthConfig, as `X-Registry-Auth` and `POST /auth` carry it. */
export interface RegistryAuth {
  username?: string;
  password?: string;
  serveraddress?: string;
  identitytoken?: string;
}

export interface RegistryApi {
  /** `POST /images/create?fromImage=&tag=`: yields the daemon's progress; an `error` line means it failed. */
  pull(image: string, opts?: { tag?: string; auth?: RegistryAuth }): Promise<AsyncIterable<JsonMessage>>;
  /** `POST /images/{name}/push?tag=`; without a tag, every local tag of the repository. */
  push(name: string, opts?: { tag?: string; auth?: RegistryAuth }): Promise<AsyncIterable<JsonMessage>>;
  /** `POST /auth`: the daemon checks the credentials against the registry. */
  login(auth: RegistryAuth): Promise<{ Status: string; IdentityToken?: string }>;
}

/** The header value docker sends: base64url of the AuthConfig JSON. */
export function encodeRegistryAuth(auth: RegistryAuth | undefined): string {
  return Buffer.from(JSON.stringify(auth ?? {})).toString('base64url');
}

export function registryApi(t: Transport): RegistryApi {
  return {
    pull: async (image, opts = {}) => {
      const res = await t.send({
        method: 'POST',
        path: '/images/create',
        query: { fromImage: image, tag: opts.tag },
        headers: { 'X-Registry-Auth': encodeRegistryAuth(opts.auth) },
      });
      return readJsonLines<JsonMessage>(res);
    },
    push: async (name, opts = {}) => {
      const res = await t.send({
        method: 'POST',
        // A valid reference needs no escaping; docker sends it as is, slashes and port included.
        path: `/images/${name}/push`,
        query: { tag: opts.tag },
        headers: { 'X-Registry-Auth': encodeRegistryAuth(opts.auth) },
      });
      return readJsonLines<JsonMessage>(res);
    },
    login: (auth) => t.json({ method: 'POST', path: '/auth', body: auth }),
  };
}
