import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConflictError, NotFoundError } from '../api/index.js';
import { CommandError, run } from './exec.js';

/** Address families nftables tables live in; we use `inet` (IPv4 and IPv6 in one table). */
export type NftFamily = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';

export interface NftTableRef {
  family: NftFamily;
  name: string;
}

export interface NftTable extends NftTableRef {
  handle?: number;
}

export interface NftChain {
  family: NftFamily;
  table: string;
  name: string;
  handle?: number;
  type?: 'filter' | 'nat' | 'route';
  hook?: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress';
  prio?: number;
  policy?: 'accept' | 'drop';
}

/** A rule statement or expression in libnftables' JSON schema (see libnftables-json(5)). */
export type NftStatement = Record<string, unknown>;

export interface NftRule {
  family: NftFamily;
  table: string;
  chain: string;
  handle?: number;
  comment?: string;
  expr: NftStatement[];
}

export type NftObject = { table: NftTable } | { chain: NftChain } | { rule: NftRule };

/** One command of a JSON transaction. */
export type NftCommand =
  | { add: NftObject }
  | { create: NftObject }
  | { delete: NftObject }
  | { flush: NftObject };

function classify(e: unknown): unknown {
  if (!(e instanceof CommandError)) return e;
  if (/No such file or directory/.test(e.stderr)) return new NotFoundError(e.message, { cause: e });
  if (/File exists/.test(e.stderr)) return new ConflictError(e.message, { cause: e });
  return e;
}

// One argument may hold up to 128 KiB (MAX_ARG_STRLEN); stay well below it.
const MAX_INLINE_BYTES = 100_000;

/**
 * Applies all commands as one atomic transaction: all take effect or none. `nft -f -`
 * cannot be used: nft opens /dev/stdin by name, which fails (ENXIO) on the socket pair
 * node gives a child as stdin. So the JSON goes as nft's command argument, or through a
 * private temp file when it is too long for one argument.
 */
export async function applyNft(commands: readonly NftCommand[]): Promise<void> {
  if (commands.length === 0) return;
  const json = JSON.stringify({ nftables: commands });
  try {
    if (Buffer.byteLength(json) <= MAX_INLINE_BYTES) {
      await run('nft', ['-j', json]);
      return;
    }
    const dir = await mkdtemp(join(tmpdir(), 'berth-nft-'));
    try {
      const file = join(dir, 'transaction.json');
      await writeFile(file, json, { mode: 0o600 });
      await run('nft', ['-j', '-f', file]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  } catch (e) {
    throw classify(e);
  }
}

/** The table's objects (the table, its chains, rules ...), or undefined if it does not exist. */
export async function listNftTable(table: NftTableRef): Promise<NftObject[] | undefined> {
  try {
    const { stdout } = await run('nft', ['-j', 'list', 'table', table.family, table.name]);
    const parsed = JSON.parse(stdout) as { nftables: Array<NftObject | { metainfo: unknown }> };
    return parsed.nftables.filter((o): o is NftObject => !('metainfo' in o));
  } catch (e) {
    const kind = classify(e);
    if (kind instanceof NotFoundError) return undefined;
    throw kind;
  }
}

/** Drops a table with everything in it; a missing table is not an error. */
export async function deleteNftTable(table: NftTableRef): Promise<void> {
  try {
    await applyNft([{ delete: { table: { family: table.family, name: table.name } } }]);
  } catch (e) {
    if (e instanceof NotFoundError) return;
    throw e;
  }
}
