/**
 * Typed errors shared by every layer. `code` is a stable machine-readable identifier (it ends up
 * in tool results), `retryable` tells callers whether trying again can help, and `safeMessage` is
 * text that may be spoken to a caller: it never carries a stack, a URL with credentials or a secret.
 */
export class AppError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly safeMessage: string;

  constructor(
    code: string,
    message: string,
    options: { retryable?: boolean; safeMessage?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.safeMessage = options.safeMessage ?? 'Sorry, something went wrong on our side.';
  }
}

/** Input that breaks a rule (a date in the past, a time outside business hours...). Not retryable. */
export class ValidationError extends AppError {
  constructor(code: string, message: string, safeMessage: string = message) {
    super(code, message, { retryable: false, safeMessage });
  }
}

export class NotFoundError extends AppError {
  constructor(code: string, message: string, safeMessage: string = message) {
    super(code, message, { retryable: false, safeMessage });
  }
}

/** The requested time is taken (found on re-check, or lost a race at the database constraint). */
export class ConflictError extends AppError {
  constructor(code: string, message: string, safeMessage: string = message) {
    super(code, message, { retryable: false, safeMessage });
  }
}

/** A remote dependency (calendar, vendor API) failed; `retryable` says whether a retry may help. */
export class ProviderError extends AppError {
  readonly provider: string;
  readonly status: number | undefined;

  constructor(
    provider: string,
    message: string,
    options: { status?: number; retryable?: boolean; safeMessage?: string; cause?: unknown } = {},
  ) {
    super(`${provider}_error`, message, {
      retryable: options.retryable ?? true,
      safeMessage: options.safeMessage ?? 'Sorry, I cannot reach our system right now.',
      cause: options.cause,
    });
    this.provider = provider;
    this.status = options.status;
  }
}

export function isAbortError(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.name === 'AbortError' || error.name === 'TimeoutError' || (error as { code?: string }).code === 'ABORT_ERR')
  );
}
