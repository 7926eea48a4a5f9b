/**
 * The registry client's HTTP: undici's fetch, because per-registry TLS (extra CAs, client
 * certificates) is set on a dispatcher, which Node's global fetch has no supported way to
 * take (its undici is built in, of its own version). undici follows
 * redirects as the fetch spec says: 303 (and 301/302 after a POST) turn into a GET,
 * 307/308 repeat the method with a body that can be sent again, and Authorization is not
 * carried to another origin.
 */
import { Blob } from 'node:buffer';
import type { Readable } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import { Agent, buildConnector, type Dispatcher, fetch, Headers } from 'undici';
import { messageOf } from '../../api/index.js';

export interface HttpInit {
  method: string;
  headers: Record<string, string>;
  body?: Buffer | Readable;
  signal?: AbortSignal;
  /** Who opens the connections: a `registryAgent` with a registry's TLS options; system CAs when absent. */
  dispatcher?: Dispatcher;
}

/**
 * A connection pool whose TLS connections are made with `tls` (extra CAs, client certificates,
 * no verification). A TLS alert from the server (our client certificate refused) is final:
 * the socket is ended there, or undici would report the close that follows it
 * ("other side closed") instead of the alert that says why.
 */
export function registryAgent(
  tls: Pick<ConnectionOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized'>,
): Agent {
  const connect = buildConnector(tls);
  return new Agent({
    connect: (options, callback) =>
      connect(options, (...connected) => {
        const socket = connected[1];
        socket?.once('error', (e: { code?: unknown }) => {
          if (typeof e.code === 'string' && e.code.startsWith('ERR_SSL_')) socket.destroy();
        });
        callback(...connected);
      }),
  });
}

const systemCasAgent = registryAgent({});

/** One request, redirects followed; rejects with the network's own error (`code` set). */
export async function httpFetch(url: string, init: HttpInit): Promise<Response> {
  const streamed = init.body !== undefined && !Buffer.isBuffer(init.body);
  const headers = new Headers({
    'User-Agent': 'berth',
    // Byte counts (Content-Length, ranges of a resumed download) are those the registry stores.
    'Accept-Encoding': 'identity',
    ...init.headers,
  });
  // undici counts a buffer itself; a length given too would be sent twice.
  if (!streamed) headers.delete('content-length');
  try {
    const res = await fetch(url, {
      method: init.method,
      headers,
      ...(init.body !== undefined ? { body: bodyOf(init.body) } : {}),
      ...(streamed ? { duplex: 'half' as const } : {}),
      // A stream already sent cannot be sent again: the caller sees the redirect itself.
      redirect: streamed ? 'manual' : 'follow',
      ...(init.signal ? { signal: init.signal } : {}),
      dispatcher: init.dispatcher ?? systemCasAgent,
    });
    // undici's Response is the class Node's global fetch answers with; only its declarations
    // differ from the DOM ones the client is written against (they lack `bytes()`, which it has).
    return res as unknown as Response;
  } catch (e) {
    // undici's `fetch failed` says nothing; the connection's error (ECONNREFUSED, a TLS code) does.
    if (e instanceof TypeError && e.cause instanceof Error) throw e.cause;
    throw e;
  }
}

/**
 * undici sends a byte array by moving its memory into the request's stream, so a 307/308 that
 * sends it again fails ("detached ArrayBuffer"); a Blob is read afresh for each send.
 */
function bodyOf(body: Buffer | Readable): Blob | Readable {
  return Buffer.isBuffer(body) ? new Blob([body]) : body;
}

/** OpenSSL's verification codes that mean "no trusted CA signed this", as Go words it. */
const UNKNOWN_AUTHORITY = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
]);

/**
 * A connection failure in the words dockerd uses, so that the docker CLI prints what users
 * search for (`x509: certificate signed by unknown authority`); node's text otherwise.
 */
export function networkErrorText(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (UNKNOWN_AUTHORITY.has(code)) {
      return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
    }
    if (code === 'CERT_HAS_EXPIRED') {
      return 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid';
    }
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
      return `tls: failed to verify certificate: x509: ${messageOf(e)}`;
    // The server refused our client certificate (or its absence) with a TLS alert.
    const alert = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_(\w+)$/.exec(code);
    if (alert?.[1]) return `remote error: tls: ${alert[1].toLowerCase().replaceAll('_', ' ')}`;
  }
  return messageOf(e);
}
