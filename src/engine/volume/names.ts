import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '../../api/index.js';

// Docker's rule for local volume names (at least two characters).
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function isValidVolumeName(name: string): boolean {
  return VOLUME_NAME.test(name);
}

/** InvalidArgumentError with Docker's text unless `name` may name a local volume. */
export function validateVolumeName(name: string): void {
  if (isValidVolumeName(name)) return;
  throw new InvalidArgumentError(
    `create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
  );
}

/** Anonymous volumes get 64 hex digits, as Docker's do. */
export function generateVolumeName(): string {
  return randomBytes(32).toString('hex');
}
