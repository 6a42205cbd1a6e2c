/**
 * One error hierarchy for the whole runtime. Every error carries a stable `code` (it lands in
 * records and metrics), the HTTP `status` the API answers with, and whether it is `transient`
 * (the queue path hands transient failures back to SQS for another try; permanent ones become
 * a FAILED record). Messages never contain a NIK, a name, selfie bytes or a token.
 */

export interface FieldIssue {
  /** Dotted path of the offending field in the request body, e.g. `date_of_birth`. */
  path: string;
  message: string;
}

export interface FacematchErrorOptions extends ErrorOptions {
  code: string;
  status: number;
  transient?: boolean;
}

export class FacematchError extends Error {
  readonly code: string;
  readonly status: number;
  readonly transient: boolean;

  constructor(message: string, options: FacematchErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FacematchError';
    this.code = options.code;
    this.status = options.status;
    this.transient = options.transient ?? false;
  }
}

/** The request is malformed or a field is invalid (400). `issues` lists every invalid field. */
export class ValidationError extends FacematchError {
  readonly issues: FieldIssue[];

  constructor(
    message: string,
    issues: FieldIssue[],
    options: { code?: string; cause?: unknown } = {},
  ) {
    super(message, { code: options.code ?? 'INVALID_REQUEST', status: 400, cause: options.cause });
    this.name = 'ValidationError';
    this.issues = issues;
  }
}

/** The selfie is larger than `SELFIE_MAX_BYTES` (413). */
export class SelfieTooLargeError extends FacematchError {
  readonly limitBytes: number;

  constructor(limitBytes: number, actualBytes?: number) {
    super(
      actualBytes === undefined
        ? `selfie is larger than the ${limitBytes}-byte limit`
        : `selfie is ${actualBytes} bytes, over the ${limitBytes}-byte limit`,
      { code: 'SELFIE_TOO_LARGE', status: 413 },
    );
    this.name = 'SelfieTooLargeError';
    this.limitBytes = limitBytes;
  }
}

/** The selfie is not a JPEG or PNG, judged by its magic bytes (415). */
export class UnsupportedSelfieTypeError extends FacematchError {
  constructor(message = 'selfie must be a JPEG or PNG image') {
    super(message, { code: 'SELFIE_UNSUPPORTED_TYPE', status: 415 });
    this.name = 'UnsupportedSelfieTypeError';
  }
}

/**
 * The verification id is bound to a different request (409): `issues` name the fields that
 * differ (paths only; the values are personal and never repeated).
 */
export class ConflictError extends FacematchError {
  readonly issues: FieldIssue[];

  constructor(
    message = 'verification_id is already used for a different request',
    issues: FieldIssue[] = [],
  ) {
    super(message, { code: 'VERIFICATION_ID_CONFLICT', status: 409 });
    this.name = 'ConflictError';
    this.issues = issues;
  }
}

/** Another worker holds a live lease on this verification (409, transient: try again later). */
export class VerificationInProgressError extends FacematchError {
  constructor(message = 'this verification is being processed; retry later') {
    super(message, { code: 'VERIFICATION_IN_PROGRESS', status: 409, transient: true });
    this.name = 'VerificationInProgressError';
  }
}

export class NotFoundError extends FacematchError {
  constructor(message: string, code = 'NOT_FOUND') {
    super(message, { code, status: 404 });
    this.name = 'NotFoundError';
  }
}

/** The selfie object named by a key or a notification does not exist (any more). */
export class SelfieNotFoundError extends FacematchError {
  constructor(message = 'selfie object not found') {
    super(message, { code: 'SELFIE_NOT_FOUND', status: 400 });
    this.name = 'SelfieNotFoundError';
  }
}

/** An uploaded selfie arrived with no PENDING record and no identity metadata. */
export class MissingIdentityError extends FacematchError {
  constructor() {
    super('no PENDING record and no identity metadata (nik, name, date-of-birth) on the object', {
      code: 'MISSING_IDENTITY',
      status: 400,
    });
    this.name = 'MissingIdentityError';
  }
}

/**
 * This NIK reached IDmeta `refuseAfter` times or more in the trailing window (429): refused
 * before any paid call. Final for this verification; a new one is accepted after `retryAfterSeconds`.
 */
export class VelocityExceededError extends FacematchError {
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number) {
    super('too many verifications of this NIK in the trailing window; try again later', {
      code: 'NIK_VELOCITY_EXCEEDED',
      status: 429,
    });
    this.name = 'VelocityExceededError';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Base of everything that went wrong talking to IDmeta. */
export class IdmetaError extends FacematchError {
  /** HTTP status IDmeta answered with, when it answered at all. */
  readonly httpStatus: number | undefined;

  constructor(
    message: string,
    options: FacematchErrorOptions & { httpStatus?: number | undefined },
  ) {
    super(message, options);
    this.name = 'IdmetaError';
    this.httpStatus = options.httpStatus;
  }
}

/** IDmeta answered with an HTTP error that retrying will not fix (e.g. 400, 403, 422) (502). */
export class IdmetaRequestError extends IdmetaError {
  constructor(message: string, httpStatus: number, options: { cause?: unknown } = {}) {
    super(message, { code: 'IDMETA_REQUEST_REJECTED', status: 502, httpStatus, ...options });
    this.name = 'IdmetaRequestError';
  }
}

/** IDmeta was unavailable (429, 5xx, connection failure) after every attempt (502, transient). */
export class IdmetaUnavailableError extends IdmetaError {
  constructor(message: string, httpStatus?: number, options: { cause?: unknown } = {}) {
    super(message, {
      code: 'IDMETA_UNAVAILABLE',
      status: 502,
      transient: true,
      httpStatus,
      ...options,
    });
    this.name = 'IdmetaUnavailableError';
  }
}

/** IDmeta did not answer within the per-call timeout or the invocation's remaining time (504). */
export class IdmetaTimeoutError extends IdmetaError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: 'IDMETA_TIMEOUT', status: 504, transient: true, ...options });
    this.name = 'IdmetaTimeoutError';
  }
}

/**
 * Too little of the invocation is left to start another IDmeta attempt: none was started, so
 * nothing was paid; the work goes back for a retry (503, transient).
 */
export class DeadlineExceededError extends IdmetaError {
  constructor(message = 'not enough time left in this invocation to call IDmeta') {
    super(message, { code: 'DEADLINE_EXCEEDED', status: 503, transient: true });
    this.name = 'DeadlineExceededError';
  }
}

/** The IDmeta token was refused even after re-reading it once (502). Operators must act. */
export class IdmetaTokenError extends IdmetaError {
  constructor(message = 'IDmeta refused the API token (revoked or rotated?)', httpStatus = 401) {
    super(message, { code: 'IDMETA_TOKEN_REJECTED', status: 502, httpStatus });
    this.name = 'IdmetaTokenError';
  }
}

/** IDmeta answered 2xx with a body we cannot understand (HTML, malformed JSON, wrong shape). */
export class IdmetaProtocolError extends IdmetaError {
  constructor(message: string, httpStatus: number | undefined, options: { cause?: unknown } = {}) {
    super(message, { code: 'IDMETA_PROTOCOL_ERROR', status: 502, httpStatus, ...options });
    this.name = 'IdmetaProtocolError';
  }
}

/** IDmeta answered 2xx but said the check itself failed (`status: false`, `success: false`). */
export class IdmetaCheckFailedError extends IdmetaError {
  constructor(message: string, httpStatus: number | undefined) {
    super(message, { code: 'IDMETA_CHECK_FAILED', status: 502, httpStatus });
    this.name = 'IdmetaCheckFailedError';
  }
}

/** A lease was lost to another worker between claim and completion (transient). */
export class LeaseLostError extends FacematchError {
  constructor(message = 'the verification lease was taken over by another worker') {
    super(message, { code: 'LEASE_LOST', status: 409, transient: true });
    this.name = 'LeaseLostError';
  }
}

/** Configuration is missing or invalid: names the variable, never its value if secret. */
export class ConfigError extends FacematchError {
  constructor(message: string) {
    super(message, { code: 'CONFIG_INVALID', status: 500 });
    this.name = 'ConfigError';
  }
}

export const isFacematchError = (error: unknown): error is FacematchError =>
  error instanceof FacematchError;

/**
 * Whether an error ends a verification for good: a fault of the request or the uploaded object
 * (4xx), or IDmeta's final word. A server-side fault that is not transient (a secret the role
 * cannot read, a broken configuration) is the operator's to fix, and the person's verification
 * must survive it: it is retried (queue) or left open for the caller's retry (API).
 */
export const isFinalFailure = (error: unknown): error is FacematchError =>
  error instanceof FacematchError &&
  !error.transient &&
  (error.status < 500 || error instanceof IdmetaError);

/**
 * Whether a caller may see the error's own message: client faults, and IDmeta's failures that
 * the contract answers 502/503/504. Any other 5xx is an internal matter: a plain 500.
 */
export const isExposed = (error: unknown): error is FacematchError =>
  error instanceof FacematchError && (error.status < 500 || error instanceof IdmetaError);
