/** Where berthd listens, as given by `-H`/`BERTH_HOST`: `unix:///path` or `tcp://host:port`. */
export type DaemonAddress =
  | { kind: 'unix'; socketPath: string }
  | { kind: 'tcp'; host: string; port: number };

export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';

export function parseHost(host: string): DaemonAddress {
  if (host.startsWith('unix://')) {
    const socketPath = host.slice('unix://'.length);
    if (socketPath === '') throw new HostFormatError(host);
    return { kind: 'unix', socketPath };
  }
  if (host.startsWith('tcp://')) {
    const rest = host.slice('tcp://'.length).replace(/\/$/, '');
    const match = /^(\[[^\]]+\]|[^:/]+):(\d+)$/.exec(rest);
    if (!match) throw new HostFormatError(host);
    const port = Number(match[2]);
    if (port < 1 || port > 65535) throw new HostFormatError(host);
    return { kind: 'tcp', host: match[1]!.replace(/^\[|\]$/g, ''), port };
  }
  throw new HostFormatError(host);
}

/** A host string the client cannot use; raised before any connection is tried. */
export class HostFormatError extends Error {
  override name = 'HostFormatError';
  constructor(host: string) {
    super(`invalid host "${host}": expected unix:///path or tcp://host:port`);
  }
}
