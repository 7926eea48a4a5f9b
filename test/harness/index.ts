/**
 * The integration-test harness. A test file starts one private daemon and stops it
 * whatever happens:
 *
 *   let d: Daemon;
 *   before(async () => { d = await startDaemon(); });
 *   after(async () => { await d?.stop(); });
 *   afterEach((t) => d?.dumpLogOnFailure(t));
 *
 * then drives it as a user would: `d.docker([...])`, `d.berth([...])` (never
 * rejecting on a non-zero exit), or raw HTTP with `d.request(...)`.
 */
export {
  type CliName,
  type CliOptions,
  type Daemon,
  type DaemonNames,
  type DaemonOptions,
  type HttpResponse,
  type RequestOptions,
  startDaemon,
} from './daemon.js';
export {
  BUSYBOX_PATH_ENV,
  type BusyboxImage,
  busyboxImage,
  busyboxImageTar,
  busyboxRootfsEntries,
  dockerSaveTar,
  type ImageConfigOptions,
  makeTar,
  rootfsTar,
  rootfsTarBytes,
  sha256Hex,
  type TarEntry,
} from './images.js';
export { freePort, httpGet } from './net.js';
export { BERTH_BIN, BERTHD_BIN, REPO_ROOT, requirePrerequisites } from './prerequisites.js';
export {
  assertExit,
  assertOk,
  describeRun,
  RunError,
  type RunResult,
  runProgram,
  waitFor,
} from './process.js';
export {
  type ContainerInspect,
  type ErrorBody,
  type ImageInspect,
  parseInspect,
  pushedDigest,
} from './wire.js';
