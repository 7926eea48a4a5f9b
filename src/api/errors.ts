/**
 * Error kinds shared by the daemon, the client and the CLI. Code throws the kind
 * where the fact is known; only server/errors.ts turns a kind into an HTTP status,
 * and client/ turns a status back into a kind.
 */
export class BerthError extends Error {
  override name = 'BerthError';
}
/** No such container, image, exec, network ... (404). */
export class NotFoundError extends BerthError {
  override name = 'NotFoundError';
}
/** The request clashes with the current state: a name in use, an image in use (409). */
export class ConflictError extends BerthError {
  override name = 'ConflictError';
}
/** The caller sent something malformed or out of range (400). */
export class InvalidArgumentError extends BerthError {
  override name = 'InvalidArgumentError';
}
/** The request asks for the state that already holds, e.g. starting a running container (304). */
export class NotModifiedError extends BerthError {
  override name = 'NotModifiedError';
}
/** The operation is understood but refused in this configuration (403). */
export class ForbiddenError extends BerthError {
  override name = 'ForbiddenError';
}
/** Credentials missing or refused, e.g. by a registry at login (401). */
export class UnauthorizedError extends BerthError {
  override name = 'UnauthorizedError';
}
/** Something the daemon depends on is not there or not working (503). */
export class UnavailableError extends BerthError {
  override name = 'UnavailableError';
}

/** Text of an unknown thrown value, for messages and logs. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
