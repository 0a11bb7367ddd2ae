import type { z } from "zod";
import type { MappedUser, SuccessStatus } from "../types.js";

/** Rules of one provider field; validated before anything is sent. */
export interface FieldSpec {
  type: "string" | "boolean" | "string[]" | "object";
  required?: boolean;
  /** UTF-8 byte length limit (ZEGO counts bytes). */
  maxBytes?: number;
  /** Character (code point) length limits. */
  maxLength?: number;
  minLength?: number;
  /** Whole-value pattern, with a human description for errors. */
  pattern?: RegExp;
  patternHint?: string;
  enum?: readonly string[];
  format?: "email" | "phone" | "url" | "date" | "datetime";
  /** For `string[]`: maximum number of items. */
  maxItems?: number;
  /** Never written to reports, logs or errors (passwords). */
  secret?: boolean;
  /** Must be unique within the input, like the key (GenAuth email/phone/username). */
  unique?: boolean;
  /** Case-insensitive uniqueness (emails). */
  uniqueIgnoreCase?: boolean;
  description: string;
  /** Vendor's error code for a breach of this rule, when it has one. */
  vendorCode?: string;
  /** What the field holds, best first, so `mapping init` can find a column for it by synonyms. */
  meaning?: readonly Meaning[];
}

/** Kinds of value `mapping init` knows synonyms for; "first+last" means a name template. */
export type Meaning =
  | "id" | "username" | "name" | "first+last" | "first" | "last" | "nickname" | "avatar" | "email" | "phone"
  | "password" | "salt" | "groups" | "description" | "country" | "emailVerified" | "phoneVerified" | "birthdate";

export interface EnvVarSpec {
  name: string;
  description: string;
  /** `true`: always needed to send; `false`: optional; a string: needed unless that variable is set. */
  required: boolean | string;
  secret: boolean;
}

export interface FieldIssue {
  field: string;
  code: string;
  message: string;
}

/** Shared by the rows without problems: most rows allocate no issue list. */
export const NO_ISSUES: readonly FieldIssue[] = Object.freeze([]);

export interface HttpRequest {
  method: "GET" | "POST";
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** The bearer/session token used, so a 401 renews only if nobody renewed it already. */
  authToken?: string;
}

/** Answer headers by name, case-insensitive (fetch's `Headers` fits). */
export interface ResponseHeaders {
  get(name: string): string | null;
}

export interface HttpResponse {
  status: number;
  headers: ResponseHeaders;
  text: string;
  /** Parsed body, `undefined` if empty or not JSON. */
  json: unknown;
}

export type RecordResult =
  /**
   * `unsure`: why the answer may concern another user (a clash on another of its unique values).
   * Added to the message, and the run warns of such rows, unless this run or the one it resumes
   * had sent the user without an answer (then the clash is most likely with itself).
   */
  | { status: SuccessStatus; id?: string; code?: string; message?: string; unsure?: string }
  | { status: "failed"; code: string; message: string }
  /** `throttled`: the vendor refused this user for the request rate (the limiter slows down). */
  | { status: "retry"; code: string; message: string; throttled?: boolean };

/** What a response means for the batch that was sent. */
export type BatchResult =
  /** One result per user, in the order sent. */
  | { kind: "records"; results: RecordResult[] }
  /** Transient failure of the whole request: resend after backoff. */
  | { kind: "retry"; code: string; message: string; throttled?: boolean; retryAfterMs?: number }
  /** The token expired: renew it and resend. */
  | { kind: "reauth"; code: string; message: string }
  /** Credentials rejected: stop the run. */
  | { kind: "auth"; code: string; message: string }
  /** The endpoint does not serve this API (no such route): every request would get the same, so stop the run. */
  | { kind: "endpoint"; code: string; message: string }
  /** Whole request rejected for record(s) the vendor does not name: split and resend. */
  | { kind: "split"; code: string; message: string }
  /** Whole request failed for good, for every record in it. */
  | { kind: "failed"; code: string; message: string };

/** Per-run state of a provider (token caches). */
export interface ProviderSession {
  /** Drop a token the vendor called expired; a no-op if it was already renewed. */
  invalidate?(usedToken: string | undefined): void;
}

export interface ProviderContext<O = Record<string, unknown>> {
  /** Credential variables, resolved from the environment or an env file. */
  env: Readonly<Record<string, string>>;
  /** Base URL of the vendor API (or of an emulator). */
  endpoint: string;
  /** Provider options from the mapping's `options` and flags, parsed by `optionsSchema`. */
  options: O;
  /** Plain HTTP for auxiliary calls (token endpoints); no retries, throws HttpError on network failure. */
  fetch(req: HttpRequest, signal?: AbortSignal): Promise<HttpResponse>;
  /** Register a secret obtained at run time (a token) so it is redacted everywhere. */
  addSecret(value: string): void;
  now(): number;
}

export interface Provider<O = unknown, S extends ProviderSession = ProviderSession> {
  name: string;
  title: string;
  /** Vendor documentation the adapter follows. */
  docs: string;
  fields: Record<string, FieldSpec>;
  /** The field that identifies a user in the report and in duplicate detection. */
  key: string;
  /** Most records in one request. */
  maxBatch: number;
  /** Most requests per interval, over any sliding window. */
  rate: { limit: number; intervalMs: number };
  env: EnvVarSpec[];
  /** Default base URL, from env or a constant; undefined = the user must give one. */
  defaultEndpoint(env: Readonly<Record<string, string>>): string | undefined;
  /** Variable that holds the endpoint, named in the error when none is given. */
  endpointEnv?: string;
  /** Schema of `options:` in the mapping file (and option flags). */
  optionsSchema?: z.ZodType<O>;
  /** Run-level checks of the options: return an error message to refuse the run. */
  checkOptions?(options: O, mode: { dryRun: boolean }): { error?: string; warning?: string };
  /** Cross-field rules beyond FieldSpec. */
  validateUser?(user: MappedUser, options: O): FieldIssue[];
  /** Users with the same conflict key never share a request (Royalti answers by name). */
  conflictKey?(user: MappedUser): string;
  /** Example mapping (YAML text) for `providers <name>` and docs. */
  exampleMapping: string;
  createSession?(ctx: ProviderContext<O>): S;
  buildRequest(users: MappedUser[], ctx: ProviderContext<O>, session: S): HttpRequest | Promise<HttpRequest>;
  parseResponse(res: HttpResponse, users: MappedUser[], ctx: ProviderContext<O>): BatchResult;
}

/** The fields whose values are never shown (passwords, salts). */
export const secretFields = (p: Provider): string[] => Object.entries(p.fields).flatMap(([name, spec]) => (spec.secret ? [name] : []));

/** Identity function for type inference of provider modules. */
export function defineProvider<O, S extends ProviderSession = ProviderSession>(p: Provider<O, S>): Provider<O, S> {
  return p;
}
