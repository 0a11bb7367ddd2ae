/** Every run-level failure is a BulkUsersError; row-level problems are report outcomes instead. */
export const ErrorCode = {
  USAGE: "USAGE",
  INPUT_NOT_FOUND: "INPUT_NOT_FOUND",
  INPUT_FORMAT: "INPUT_FORMAT",
  INPUT_ENCODING: "INPUT_ENCODING",
  INPUT_HEADER: "INPUT_HEADER",
  INPUT_BAD_JSON: "INPUT_BAD_JSON",
  MAPPING_INVALID: "MAPPING_INVALID",
  MAPPING_UNKNOWN_FIELD: "MAPPING_UNKNOWN_FIELD",
  MAPPING_MISSING_COLUMN: "MAPPING_MISSING_COLUMN",
  PROVIDER_UNKNOWN: "PROVIDER_UNKNOWN",
  PROVIDER_OPTIONS: "PROVIDER_OPTIONS",
  CREDENTIALS_MISSING: "CREDENTIALS_MISSING",
  ENDPOINT_INSECURE: "ENDPOINT_INSECURE",
  AUTH_REJECTED: "AUTH_REJECTED",
  ENDPOINT_WRONG: "ENDPOINT_WRONG",
  PROXY_REFUSED: "PROXY_REFUSED",
  RESUME_MISMATCH: "RESUME_MISMATCH",
  RESUME_UNREADABLE: "RESUME_UNREADABLE",
  INTERRUPTED: "INTERRUPTED",
  MAX_ERRORS: "MAX_ERRORS",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Exit codes of the CLI (README "Exit codes"). */
export const ExitCode = {
  OK: 0,
  ROWS_FAILED: 1,
  USAGE: 2,
  INTERRUPTED: 3,
} as const;

const EXIT_BY_CODE: Partial<Record<ErrorCode, number>> = {
  INTERRUPTED: ExitCode.INTERRUPTED,
  MAX_ERRORS: ExitCode.INTERRUPTED,
};

export interface ErrorContext {
  file?: string;
  line?: number;
  key?: string;
  field?: string;
}

export class BulkUsersError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  readonly context: ErrorContext;
  hint: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { context?: ErrorContext; hint?: string; cause?: unknown; exitCode?: number } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "BulkUsersError";
    this.code = code;
    this.context = opts.context ?? {};
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? EXIT_BY_CODE[code] ?? ExitCode.USAGE;
  }
}

export function isBulkUsersError(e: unknown): e is BulkUsersError {
  return e instanceof BulkUsersError;
}

/** "(file, line 12, field UserId)" — the location suffix every message ends with. */
export function where(ctx: ErrorContext): string {
  const parts: string[] = [];
  if (ctx.file) parts.push(ctx.file);
  if (ctx.line !== undefined) parts.push(`line ${ctx.line}`);
  if (ctx.field) parts.push(`field ${ctx.field}`);
  return parts.length ? ` (${parts.join(", ")})` : "";
}
