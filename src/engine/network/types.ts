import type { NetworkSettings } from '../../api/index.js';

export interface NetworkOptions {
  /** Directory for the network records (leases), under the data root. */
  stateDir: string;
  /** Name of the default bridge device, e.g. `berth0`. */
  bridgeName: string;
  /** The default bridge's gateway address and prefix (dockerd's `--bip`), e.g. `172.18.0.1/16`. */
  bridgeCidr: string;
  /** Our own nftables table (family inet), dropped whole on teardown. */
  nftTable: string;
  /** Prefix of the network namespace names we create under /run/netns. */
  netnsPrefix: string;
}

export interface NetworkAttachment {
  /** The mode as requested, normalized: `bridge`, `host`, `none`. */
  mode: string;
  /** What the OCI spec's network namespace should be. */
  namespace: 'host' | { path: string } | undefined;
  /** Docker's NetworkSettings for inspect; Networks is keyed by network name. */
  settings: NetworkSettings;
  /** Address other containers and /etc/hosts use; '' without one. */
  ipAddress: string;
}

/**
 * Container networking on one host. Modes in this slice: `bridge` (also `default`),
 * `host`, `none`. An attachment is made before the container is created and
 * released after it has stopped; both are idempotent and survive a daemon restart.
 */
export interface NetworkService {
  /** Creates the bridge, addresses and NAT rules if missing; reloads leases. */
  init(): Promise<void>;
  /** InvalidArgumentError for a mode this slice does not have. */
  attach(containerId: string, mode: string): Promise<NetworkAttachment>;
  release(containerId: string): Promise<void>;
  /** Re-marks an attachment found on disk at start as in use. */
  adopt(containerId: string, attachment: NetworkAttachment): void;
  /** With teardown, removes the bridge, the nft table and every namespace we made (tests). */
  close(opts?: { teardown?: boolean }): Promise<void>;
}
