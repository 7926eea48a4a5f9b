import {
  BerthError,
  ConflictError,
  ForbiddenError,
  InvalidArgumentError,
  NotFoundError,
  NotModifiedError,
  UnauthorizedError,
  UnavailableError,
} from '../api/index.js';

/** The only place that knows HTTP status codes for error kinds. */
export function statusOf(e: unknown): number {
  if (e instanceof InvalidArgumentError) return 400;
  if (e instanceof NotFoundError) return 404;
  if (e instanceof ConflictError) return 409;
  if (e instanceof NotModifiedError) return 304;
  if (e instanceof ForbiddenError) return 403;
  if (e instanceof UnauthorizedError) return 401;
  if (e instanceof UnavailableError) return 503;
  return 500;
}

export function isClientError(e: unknown): boolean {
  return e instanceof BerthError && statusOf(e) < 500;
}
