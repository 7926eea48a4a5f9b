// Container paths are resolved by the runtime's chroot-like lookup; this adds Docker's cp rule.
export { resolveScoped, type ScopedPath } from '../runtime/index.js';

/** Docker's rule for whether the last component is followed: the path ends in `/` or `/.`. */
export function followsLast(path: string): boolean {
  return path.endsWith('/') || path.endsWith('/.') || path === '.';
}
