/**
 * The distribution spec's error codes. Code throws a RegistryError where the fact is
 * known; `statusOf` is the one place that turns a code into an HTTP status.
 */
export type ErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS';

const STATUS: Record<ErrorCode, number> = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
};

/** Why a request failed, for the client; the spec lets two codes carry another status. */
export type Variant = 'range-not-satisfiable' | 'too-large' | 'unsupported-media-type';

export class RegistryError extends Error {
  override name = 'RegistryError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly detail?: unknown,
    readonly variant?: Variant,
  ) {
    super(message);
  }
}

export function statusOf(e: RegistryError): number {
  if (e.variant === 'range-not-satisfiable') return 416;
  if (e.variant === 'too-large') return 413;
  if (e.variant === 'unsupported-media-type') return 415;
  return STATUS[e.code];
}

/** The body the spec prescribes for a 4xx answer. */
export function errorBody(e: RegistryError): string {
  const error: { code: ErrorCode; message: string; detail?: unknown } = { code: e.code, message: e.message };
  if (e.detail !== undefined) error.detail = e.detail;
  return JSON.stringify({ errors: [error] });
}
