/** The newest Engine API version berth serves (the spec in shared/reference). */
export const API_VERSION = '1.56';
/** The oldest version a client may ask for; older docker CLIs negotiate up to it. */
export const MIN_API_VERSION = '1.24';
export const BERTH_VERSION = '0.1.0';

/** Compares dotted API versions ("1.41" < "1.5" is false: components are numbers). */
export function compareApiVersions(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
  return aMajor - bMajor || aMinor - bMinor;
}

export function isSupportedApiVersion(v: string): boolean {
  return compareApiVersions(v, MIN_API_VERSION) >= 0 && compareApiVersions(v, API_VERSION) <= 0;
}
