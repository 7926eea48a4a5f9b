// The embedded DNS server of a user-defined network: answers A and AAAA queries for the names of
// containers on that network from the daemon's own table and relays everything else to
// the upstream resolvers (the host's, or the container's `--dns`), never to a fixed one.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';
import dnsPacket from 'dns-packet';

/** Who answers what: the daemon's view of one network. */
export interface DnsTable {
  /** Addresses of `name` as seen by the client at `clientIp`; undefined when it is not ours. */
  lookup(clientIp: string, name: string): string[] | undefined;
  /** Resolvers for the client's other queries; empty means answer SERVFAIL (internal networks). */
  upstreams(clientIp: string): string[];
}

export interface DnsServer {
  readonly address: string;
  close(): Promise<void>;
}

const TTL_S = 600;
const UPSTREAM_TIMEOUT_MS = 3_000;
const DNS_PORT = 53;

/** Listens on `address`:53 (UDP). Rejects when the address cannot be bound. */
export async function startDnsServer(address: string, table: DnsTable): Promise<DnsServer> {
  const socket = createSocket({ type: 'udp4', reuseAddr: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address, port: DNS_PORT, exclusive: true }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  // A bad packet or an unreachable upstream concerns one query, never the server.
  socket.on('error', () => undefined);
  socket.on('message', (message, remote) => {
    void answer(socket, table, message, remote).catch(() => undefined);
  });
  return {
    address,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

async function answer(socket: Socket, table: DnsTable, message: Buffer, remote: RemoteInfo): Promise<void> {
  let query: dnsPacket.Packet;
  try {
    query = dnsPacket.decode(message);
  } catch {
    return; // Not DNS: nothing to answer.
  }
  const question = query.questions?.[0];
  if (question === undefined) return;
  const name = question.name.replace(/\.$/, '').toLowerCase();
  const addresses = table.lookup(remote.address, name);
  if (addresses !== undefined) {
    // A name of ours with no address of the asked family is NOERROR with no answers, so
    // the client's resolver does not go on to ask elsewhere.
    const answers: dnsPacket.Answer[] =
      question.type === 'A'
        ? addresses
            .filter((a) => isIPv4(a))
            .map((data) => ({ type: 'A', name: question.name, ttl: TTL_S, data }))
        : question.type === 'AAAA'
          ? addresses
              .filter((a) => isIPv6(a))
              .map((data) => ({ type: 'AAAA', name: question.name, ttl: TTL_S, data }))
          : [];
    send(socket, remote, reply(query, 'NOERROR', answers));
    return;
  }
  const upstreams = table.upstreams(remote.address).filter((u) => isIPv4(u));
  for (const upstream of upstreams) {
    const response = await relay(message, upstream).catch(() => undefined);
    if (response !== undefined) {
      send(socket, remote, response);
      return;
    }
  }
  send(socket, remote, reply(query, upstreams.length === 0 ? 'NXDOMAIN' : 'SERVFAIL', []));
}

function reply(query: dnsPacket.Packet, rcode: string, answers: dnsPacket.Answer[]): Buffer {
  const flags =
    dnsPacket.AUTHORITATIVE_ANSWER |
    dnsPacket.RECURSION_AVAILABLE |
    ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED);
  return dnsPacket.encode({
    type: 'response',
    id: query.id ?? 0,
    flags,
    rcode,
    questions: query.questions ?? [],
    answers,
  } as dnsPacket.Packet);
}

function send(socket: Socket, remote: RemoteInfo, packet: Buffer): void {
  socket.send(packet, remote.port, remote.address);
}

/** Sends the query as is to one upstream and returns its answer. */
function relay(message: Buffer, upstream: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no answer from ${upstream}`));
    }, UPSTREAM_TIMEOUT_MS);
    socket.once('error', (e) => {
      clearTimeout(timer);
      socket.close();
      reject(e);
    });
    socket.once('message', (response) => {
      clearTimeout(timer);
      socket.close();
      resolve(response);
    });
    socket.send(message, DNS_PORT, upstream);
  });
}

/** The nameservers of a resolv.conf text, loopback ones included (the daemon shares the host's namespace). */
export function nameserversOf(resolvConf: string): string[] {
  const servers: string[] = [];
  for (const line of resolvConf.split('\n')) {
    const match = /^\s*nameserver\s+(\S+)/.exec(line);
    if (match?.[1]) servers.push(match[1]);
  }
  return servers;
}
