export {
  attachSocketPath,
  ConmonCreateError,
  type ConmonCreateOptions,
  resolveExecutable,
  spawnConmon,
} from './conmon.js';
export { CommandError, type RunOptions, type RunResult, run } from './exec.js';
export {
  addNetns,
  deleteLink,
  deleteNetns,
  enableIpv4Forwarding,
  type IpAddressInfo,
  IpBatch,
  type IpLink,
  type IpLinkAddresses,
  type IpRoute,
  type IpScope,
  listAddresses,
  listNetns,
  listRoutes,
  NETNS_RUN_DIR,
  netnsPath,
  showLink,
} from './ip.js';
export {
  isMountPoint,
  listMounts,
  type MountEntry,
  mountOverlay,
  type OverlayMountOptions,
  unmount,
} from './mount.js';
export {
  applyNft,
  deleteNftTable,
  listNftTable,
  type NftChain,
  type NftCommand,
  type NftFamily,
  type NftObject,
  type NftRule,
  type NftStatement,
  type NftTable,
  type NftTableRef,
} from './nft.js';
export { createRunc, type Runc, type RuncState, type RuncStatus, runcErrorMessage } from './runc.js';
