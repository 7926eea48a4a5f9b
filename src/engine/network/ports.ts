// Published ports: Docker's PortBindings turned into concrete host ports, each checked
// free by binding it for a moment, as docker-proxy would hold it.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { PortBinding } from '../../api/index.js';
import { ConflictError, InvalidArgumentError } from '../../api/index.js';
import { parseIpv4 } from './ipam.js';

export interface PortMapping {
  protocol: 'tcp' | 'udp';
  containerPort: number;
  /** '' for every address. */
  hostIp: string;
  hostPort: number;
}

/** `80/tcp` (protocol defaults to tcp) as Docker writes the keys of ExposedPorts and PortBindings. */
export function parsePortKey(key: string): { port: number; protocol: 'tcp' | 'udp' } {
  const match = /^(\d+)(?:\/(tcp|udp|sctp))?$/.exec(key);
  const port = Number(match?.[1]);
  if (!match || !isPort(port)) throw new InvalidArgumentError(`invalid port specification: "${key}"`);
  if (match[2] === 'sctp') throw new InvalidArgumentError(`sctp ports are not supported: "${key}"`);
  return { port, protocol: match[2] === 'udp' ? 'udp' : 'tcp' };
}

function isPort(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}

/** A HostPort: '' (any), `8080`, or a range `8000-8010` to pick from. */
function parseHostPorts(text: string): { first: number; last: number } | undefined {
  if (text === '' || text === '0') return undefined;
  const match = /^(\d+)(?:-(\d+))?$/.exec(text);
  const first = Number(match?.[1]);
  const last = match?.[2] === undefined ? first : Number(match[2]);
  if (!match || !isPort(first) || !isPort(last) || last < first) {
    throw new InvalidArgumentError(`invalid port specification: "${text}"`);
  }
  return { first, last };
}

/** Whether the port can be bound now; releases it at once. Port 0 asks the kernel for a free one. */
function tryBind(protocol: 'tcp' | 'udp', hostIp: string, port: number): Promise<number | undefined> {
  const host = hostIp === '' ? '0.0.0.0' : hostIp;
  return new Promise((resolve) => {
    if (protocol === 'udp') {
      const socket = createSocket('udp4');
      socket.once('error', () => {
        socket.close();
        resolve(undefined);
      });
      socket.bind({ address: host, port, exclusive: true }, () => {
        const bound = socket.address().port;
        socket.close(() => resolve(bound));
      });
      return;
    }
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ host, port, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * Concrete mappings for a container. `taken` holds ports our own rules already use
 * (`tcp/8080`), which nothing listens on, so binding alone would not see them.
 * ConflictError with Docker's words when a requested port is busy.
 */
export async function allocatePorts(opts: {
  bindings: Record<string, PortBinding[] | null>;
  exposed: readonly string[];
  publishAll: boolean;
  taken: ReadonlySet<string>;
}): Promise<PortMapping[]> {
  const wanted: Array<{ key: string; binding: PortBinding }> = [];
  for (const [key, list] of Object.entries(opts.bindings)) {
    for (const binding of list ?? [{}]) wanted.push({ key, binding });
  }
  if (opts.publishAll) {
    for (const key of opts.exposed) {
      if (!(key in opts.bindings) && !(`${key}/tcp` in opts.bindings)) wanted.push({ key, binding: {} });
    }
  }
  const mappings: PortMapping[] = [];
  const used = new Set(opts.taken);
  for (const { key, binding } of wanted) {
    const { port, protocol } = parsePortKey(key);
    const hostIp = binding.HostIp ?? '';
    if (hostIp !== '' && hostIp !== '0.0.0.0') {
      if (hostIp.includes(':')) continue; // IPv6 host addresses: this slice publishes on IPv4 only.
      parseIpv4(hostIp);
    }
    const range = parseHostPorts(binding.HostPort ?? '');
    let hostPort: number | undefined;
    if (range === undefined) {
      for (let attempt = 0; attempt < 20 && hostPort === undefined; attempt++) {
        const candidate = await tryBind(protocol, hostIp, 0);
        if (candidate !== undefined && !used.has(`${protocol}/${candidate}`)) hostPort = candidate;
      }
      if (hostPort === undefined) throw new ConflictError(`no free host port for ${key}`);
    } else {
      for (let p = range.first; p <= range.last && hostPort === undefined; p++) {
        if (used.has(`${protocol}/${p}`)) continue;
        if ((await tryBind(protocol, hostIp, p)) !== undefined) hostPort = p;
      }
      if (hostPort === undefined) {
        const where = `${hostIp === '' ? '0.0.0.0' : hostIp}:${binding.HostPort}`;
        throw new ConflictError(
          `driver failed programming external connectivity on endpoint: Bind for ${where} failed: port is already allocated`,
        );
      }
    }
    used.add(`${protocol}/${hostPort}`);
    mappings.push({ protocol, containerPort: port, hostIp, hostPort });
  }
  return mappings;
}

/** NetworkSettings.Ports: every exposed or published port, with its host bindings or null. */
export function portsSettings(
  mappings: readonly PortMapping[],
  exposed: readonly string[],
): Record<string, PortBinding[] | null> {
  const ports: Record<string, PortBinding[] | null> = {};
  for (const key of exposed) {
    const { port, protocol } = parsePortKey(key);
    ports[`${port}/${protocol}`] = null;
  }
  for (const m of mappings) {
    const key = `${m.containerPort}/${m.protocol}`;
    const list = ports[key] ?? [];
    list.push({ HostIp: m.hostIp === '' ? '0.0.0.0' : m.hostIp, HostPort: String(m.hostPort) });
    ports[key] = list;
  }
  return ports;
}

/** The mappings back from NetworkSettings.Ports (an adopted container's). */
export function mappingsOf(ports: Record<string, PortBinding[] | null>): PortMapping[] {
  const mappings: PortMapping[] = [];
  for (const [key, list] of Object.entries(ports)) {
    const { port, protocol } = parsePortKey(key);
    for (const b of list ?? []) {
      const hostPort = Number(b.HostPort);
      if (!isPort(hostPort)) continue;
      mappings.push({
        protocol,
        containerPort: port,
        hostIp: b.HostIp === '0.0.0.0' ? '' : (b.HostIp ?? ''),
        hostPort,
      });
    }
  }
  return mappings;
}
