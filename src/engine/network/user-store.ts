// Records of user-defined networks, one file each (`networks/<id>.json`), with the
// leases of the containers on them. Written whole and atomically before an address is
// used or a device made, so a crash never hands one address out twice.
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { UnavailableError } from '../../api/index.js';
import { readJsonIfExists, removeTempFiles, writeJsonAtomic } from '../../store/index.js';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

const leaseSchema = z.object({
  containerName: z.string(),
  ipAddress: z.string(),
  macAddress: z.string(),
  endpointId: hex64,
  /** Name inside the container: eth0, eth1 ... */
  ifname: z.string(),
  /** Host end of the veth pair (bridge driver only). */
  hostVeth: z.string().optional(),
  aliases: z.array(z.string()),
  links: z.array(z.object({ name: z.string(), alias: z.string() })),
  dnsServers: z.array(z.string()),
  isStatic: z.boolean(),
  /** On networks with IPv6; leased with the IPv4 address and persisted before use like it. */
  ipv6Address: z.string().optional(),
  isStatic6: z.boolean().optional(),
});

const networkSchema = z.object({
  version: z.literal(1),
  id: hex64,
  name: z.string(),
  driver: z.enum(['bridge', 'macvlan', 'ipvlan']),
  created: z.string(),
  internal: z.boolean(),
  attachable: z.boolean(),
  labels: z.record(z.string(), z.string()),
  options: z.record(z.string(), z.string()),
  subnet: z.string(),
  gateway: z.string(),
  ipRange: z.string().optional(),
  /** Set on dual-stack networks (`--ipv6`): the v6 subnet and its gateway. */
  subnet6: z.string().optional(),
  gateway6: z.string().optional(),
  /** The bridge device, or the parent of macvlan/ipvlan links. */
  device: z.string(),
  leases: z.record(z.string(), leaseSchema),
});

export type UserLease = z.infer<typeof leaseSchema>;
export type UserNetworkRecord = z.infer<typeof networkSchema>;

const DIR = 'networks';

export async function loadUserNetworks(stateDir: string): Promise<UserNetworkRecord[]> {
  const dir = join(stateDir, DIR);
  await mkdir(dir, { recursive: true });
  await removeTempFiles(dir);
  const records: UserNetworkRecord[] = [];
  for (const file of await readdir(dir)) {
    if (!file.endsWith('.json')) continue;
    const path = join(dir, file);
    const raw = await readJsonIfExists<unknown>(path);
    if (raw === undefined) continue;
    const parsed = networkSchema.safeParse(raw);
    // Dropping it would forget leases of running containers and hand their addresses out again.
    if (!parsed.success)
      throw new UnavailableError(`network record ${path} is not valid: ${parsed.error.message}`);
    records.push(parsed.data);
  }
  return records;
}

export async function saveUserNetwork(stateDir: string, record: UserNetworkRecord): Promise<void> {
  await mkdir(join(stateDir, DIR), { recursive: true });
  await writeJsonAtomic(join(stateDir, DIR, `${record.id}.json`), record);
}

export async function removeUserNetwork(stateDir: string, id: string): Promise<void> {
  await rm(join(stateDir, DIR, `${id}.json`), { force: true });
}
