export {
  readJsonIfExists,
  removeTempFiles,
  replaceFile,
  writeFileAtomic,
  writeJsonAtomic,
} from './atomic.js';
export { acquirePidLock, type PidLock } from './lock.js';
