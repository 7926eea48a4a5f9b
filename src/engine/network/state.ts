// The persisted record of the predefined networks (bridge, host, none): their ids and the
// default bridge's leases. Written whole and atomically before any address is used, so a
// crash never lets two containers end up with one address.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { UnavailableError } from '../../api/index.js';
import { readJsonIfExists, removeTempFiles, writeJsonAtomic } from '../../store/index.js';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

const leaseSchema = z.object({
  ipAddress: z.string(),
  macAddress: z.string(),
  endpointId: hex64,
  sandboxId: hex64,
  /** Name of the namespace under /run/netns. */
  netns: z.string(),
  /** Host end of the veth pair, on the bridge; unknown for an endpoint adopted without a lease. */
  hostVeth: z.string().optional(),
});

const stateSchema = z.object({
  version: z.literal(1),
  networkIds: z.object({ bridge: hex64, host: hex64, none: hex64 }),
  bridge: z.object({
    /** Where the allocator resumes, so a just-freed address is not reused at once. */
    lastAllocated: z.string().optional(),
    leases: z.record(z.string(), leaseSchema),
  }),
});

export type BridgeLease = z.infer<typeof leaseSchema>;
export type PredefinedNetworksState = z.infer<typeof stateSchema>;

const FILE_NAME = 'predefined.json';

export function randomHexId(): string {
  return randomBytes(32).toString('hex');
}

function freshState(): PredefinedNetworksState {
  return {
    version: 1,
    networkIds: { bridge: randomHexId(), host: randomHexId(), none: randomHexId() },
    bridge: { leases: {} },
  };
}

/** Reads the record, or makes a new one (fresh network ids, no leases) when there is none. */
export async function loadPredefinedState(dir: string): Promise<PredefinedNetworksState> {
  await removeTempFiles(dir);
  const path = join(dir, FILE_NAME);
  const raw = await readJsonIfExists<unknown>(path);
  if (raw === undefined) return freshState();
  const parsed = stateSchema.safeParse(raw);
  // Starting over would forget leases of running containers and hand their addresses out again.
  if (!parsed.success)
    throw new UnavailableError(`network state ${path} is not valid: ${parsed.error.message}`);
  return parsed.data;
}

export function savePredefinedState(dir: string, state: PredefinedNetworksState): Promise<void> {
  return writeJsonAtomic(join(dir, FILE_NAME), state);
}
