export {
  readJsonIfExists,
  removeTempFiles,
  replaceFile,
  syncDir,
  writeFileAtomic,
  writeJsonAtomic,
} from './atomic.js';
export { acquirePidLock, type PidLock } from './lock.js';
