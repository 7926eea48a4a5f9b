export {
  type AttachSocket,
  attachSocketPath,
  ConmonCreateError,
  type ConmonCreateOptions,
  type ConmonExec,
  ConmonExecError,
  type ConmonExecOptions,
  openAttachSocket,
  resizeConmonTerminal,
  resolveExecutable,
  spawnConmon,
  spawnExecConmon,
} from './conmon.js';
export { CommandError, type RunOptions, type RunResult, run } from './exec.js';
export {
  addNetns,
  deleteLink,
  deleteNetns,
  enableIpv4Forwarding,
  enableIpv6Forwarding,
  enableIpv6On,
  enableRouteLocalnet,
  type IpAddressInfo,
  IpBatch,
  type IpLink,
  type IpLinkAddresses,
  type IpRoute,
  type IpScope,
  listAddresses,
  listNetns,
  listRoutes,
  listRoutes6,
  NETNS_RUN_DIR,
  netnsPath,
  showLink,
} from './ip.js';
export {
  type GenericMountOptions,
  isMountPoint,
  listMounts,
  type MountEntry,
  mount,
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
export { type LiveProcess, liveProcess } from './proc.js';
export { createRunc, type Runc, type RuncState, type RuncStatus, runcErrorMessage } from './runc.js';
export { listOpaqueDirs } from './xattr.js';
