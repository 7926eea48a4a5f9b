/**
 * berthd: the daemon. Flags follow dockerd's; every host-global name it creates can
 * be set so that two daemons (a user's and a test's) never collide.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { messageOf } from './api/index.js';
import { createLogger, openEngine } from './engine/index.js';
import { serveApi } from './server/index.js';
import { acquirePidLock, writeFileAtomic } from './store/index.js';

interface DaemonFlags {
  host: string[];
  dataRoot: string;
  execRoot: string;
  pidfile?: string;
  logLevel: string;
  runtime: string;
  bridge: string;
  bip: string;
  nftTable: string;
  cgroupParent: string;
  netnsPrefix: string;
  bridgePrefix: string;
  defaultAddressPool: string[];
  insecureRegistry: string[];
  allowRegistry: string[];
  registryMirror: string[];
  certsDir: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** dockerd's `--default-address-pool base=10.10.0.0/16,size=24`. */
function parseAddressPool(text: string): { base: string; size: number } {
  const fields = Object.fromEntries(text.split(',').map((kv) => kv.split('=', 2) as [string, string]));
  const size = Number(fields.size);
  if (!fields.base || !Number.isInteger(size)) throw new Error(`invalid --default-address-pool: ${text}`);
  return { base: fields.base, size };
}

function parseFlags(argv: string[]): DaemonFlags {
  const program = new Command('berthd')
    .description('berth container engine daemon')
    .option('-H, --host <address>', 'daemon socket to listen on (repeatable)', collect, [])
    .option('--data-root <dir>', 'root of persistent state', '/var/lib/berth')
    .option('--exec-root <dir>', 'root of runtime state', '/run/berth')
    .option('-p, --pidfile <file>', 'path of the daemon pid file (default <exec-root>/berthd.pid)')
    .option('-l, --log-level <level>', 'debug, info, warn, error or fatal', 'info')
    .option('--runtime <name>', 'OCI runtime for containers', 'runc')
    .option('-b, --bridge <name>', 'name of the default bridge device', 'berth0')
    .option('--bip <cidr>', "default bridge's gateway address and prefix", '172.18.0.1/16')
    .option('--nft-table <name>', 'nftables table of our own', 'berth')
    .option('--cgroup-parent <path>', 'cgroup parent of containers', '/berth')
    .option('--netns-prefix <prefix>', 'prefix of network namespace names', 'berth-')
    .option('--bridge-prefix <prefix>', 'prefix of the bridge devices of user-defined networks', 'br-')
    .option(
      '--default-address-pool <pool>',
      'default address pool for networks without --subnet, as base=CIDR,size=N (repeatable)',
      collect,
      [],
    )
    .option('--insecure-registry <registry>', 'registry reached over plain HTTP (repeatable)', collect, [])
    .option(
      '--allow-registry <registry>',
      'the only registries to contact: host[:port] or CIDR (repeatable)',
      collect,
      [],
    )
    .option('--registry-mirror <url>', 'preferred Docker Hub mirror (repeatable)', collect, [])
    .option(
      '--certs-dir <dir>',
      "registries' CAs and client certificates, per <host:port>/",
      '/etc/berth/certs.d',
    )
    .allowExcessArguments(false);
  program.parse(argv);
  return program.opts<DaemonFlags>();
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv);
  const log = createLogger(flags.logLevel);
  const hosts = flags.host.length > 0 ? flags.host : [`unix://${join(flags.execRoot, 'berth.sock')}`];
  await mkdir(flags.dataRoot, { recursive: true, mode: 0o711 });
  // One daemon per data root: two would corrupt each other's records.
  const lock = await acquirePidLock(join(flags.dataRoot, 'berthd.lock'));
  const pidfile = flags.pidfile ?? join(flags.execRoot, 'berthd.pid');
  const engine = await openEngine({
    dataRoot: flags.dataRoot,
    execRoot: flags.execRoot,
    runtime: flags.runtime,
    bridgeName: flags.bridge,
    bridgeCidr: flags.bip,
    nftTable: flags.nftTable,
    cgroupParent: flags.cgroupParent,
    netnsPrefix: flags.netnsPrefix,
    bridgePrefix: flags.bridgePrefix,
    ...(flags.defaultAddressPool.length > 0
      ? { addressPools: flags.defaultAddressPool.map(parseAddressPool) }
      : {}),
    insecureRegistries: flags.insecureRegistry,
    allowedRegistries: flags.allowRegistry,
    registryMirrors: flags.registryMirror,
    registryCertsDir: flags.certsDir,
    log,
  });
  const server = await serveApi(engine, hosts, log);
  await writeFileAtomic(pidfile, `${process.pid}\n`);
  log.info({ version: process.env.npm_package_version, dataRoot: flags.dataRoot }, 'berthd ready');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down; containers keep running');
    await server.close();
    await engine.close();
    await rm(pidfile, { force: true });
    await lock.release();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((e: unknown) => {
  process.stderr.write(`berthd: ${messageOf(e)}\n`);
  process.exit(1);
});
