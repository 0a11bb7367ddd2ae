import { NO_ISSUES, type FieldIssue, type FieldSpec, type Provider } from "../providers/define.js";
import type { MappedUser } from "../types.js";
import { deeperThan, MAX_OBJECT_DEPTH } from "../util/depth.js";
import { canParseUrl } from "../util/url.js";

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^\+?[0-9][0-9 ()-]{3,24}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})$/;
const TRUE = new Set(["true", "1", "yes", "y"]);
const FALSE = new Set(["false", "0", "no", "n"]);

const FORMATS: Record<NonNullable<FieldSpec["format"]>, (s: string) => boolean> = {
  email: (s) => EMAIL.test(s),
  phone: (s) => PHONE.test(s),
  // A web address: `javascript:` or `mailto:` parse as URLs too, and an avatar or site is neither.
  url: (s) => /^https?:\/\//i.test(s) && canParseUrl(s),
  date: (s) => DATE.test(s) && !Number.isNaN(Date.parse(s)),
  datetime: (s) => DATETIME.test(s) && !Number.isNaN(Date.parse(s)),
};

function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
}

function report(out: FieldIssue[], field: string, spec: FieldSpec, code: string, message: string): void {
  out.push({ field, code: spec.vendorCode && code === "TOO_LONG" ? spec.vendorCode : code, message });
}

/** `String.prototype.isWellFormed` (node 20 has it; the ES2023 library types do not). */
const wellFormed = (s: string) => (s as string & { isWellFormed(): boolean }).isWellFormed();

function checkString(field: string, spec: FieldSpec, s: string, out: FieldIssue[]): void {
  // A lone surrogate (a JSONL escape such as \ud83d without its pair) is not a character: UTF-8
  // cannot hold it, so a vendor would store U+FFFD in its place or refuse the user. The length
  // rules below count a pair as one code point.
  if (!wellFormed(s)) return report(out, field, spec, "BAD_CHARACTERS", `${field} holds a lone UTF-16 surrogate (an escape such as \\ud83d without its pair), which is not text`);
  if (spec.maxBytes !== undefined) {
    const b = Buffer.byteLength(s, "utf8");
    if (b > spec.maxBytes) return report(out, field, spec, "TOO_LONG", `${field} is ${b} bytes, at most ${spec.maxBytes} allowed`);
  }
  if (spec.maxLength !== undefined || spec.minLength !== undefined) {
    const n = codePoints(s);
    if (spec.maxLength !== undefined && n > spec.maxLength) return report(out, field, spec, "TOO_LONG", `${field} is ${n} characters, at most ${spec.maxLength} allowed`);
    if (spec.minLength !== undefined && n < spec.minLength) return report(out, field, spec, "TOO_SHORT", `${field} is ${n} characters, at least ${spec.minLength} needed`);
  }
  if (spec.pattern && !spec.pattern.test(s)) {
    const hint = spec.patternHint ?? spec.pattern.source;
    return report(out, field, spec, "BAD_CHARACTERS", hint.startsWith("must ") ? `${field} ${hint}` : `${field} may hold only ${hint}`);
  }
  if (spec.enum && !spec.enum.includes(s)) return report(out, field, spec, "NOT_ALLOWED", `${field} must be one of ${spec.enum.join(", ")}, got \`${spec.secret ? "***" : s}\``);
  if (spec.format && !FORMATS[spec.format](s)) return report(out, field, spec, "BAD_FORMAT", `${field} is not a valid ${spec.format}`);
}

/** One field's rules on `user` (coercing its value in place); problems go to `out`. */
function checkField(field: string, spec: FieldSpec, user: MappedUser, out: FieldIssue[]): void {
  let v = user[field];
  if (v === undefined) {
    if (spec.required) out.push({ field, code: "REQUIRED", message: `${field} is required` });
    return;
  }
  switch (spec.type) {
    case "string":
      // JSON numbers are taken as text (numeric ids); booleans, lists and objects are mistakes.
      // An integer past 2^53 has already lost digits in JSON.parse: sending it would change the id.
      if (typeof v === "number" && Number.isInteger(v) && !Number.isSafeInteger(v)) {
        out.push({ field, code: "UNSAFE_NUMBER", message: `${field} is a JSON number beyond 2^53 (read as ${spec.secret ? "***" : v}): its last digits are lost; write it as a string` });
        break;
      }
      if (typeof v === "number" && Number.isFinite(v)) v = user[field] = String(v);
      if (typeof v !== "string") {
        out.push({ field, code: "WRONG_TYPE", message: `${field} must be text, got ${Array.isArray(v) ? "a list" : typeof v}` });
        break;
      }
      checkString(field, spec, v, out);
      break;
    case "boolean":
      if (typeof v === "string") {
        const s = v.trim().toLowerCase();
        if (TRUE.has(s)) v = user[field] = true;
        else if (FALSE.has(s)) v = user[field] = false;
      }
      if (typeof v !== "boolean") out.push({ field, code: "WRONG_TYPE", message: `${field} must be true or false` });
      break;
    case "string[]":
      if (typeof v === "string") v = user[field] = v.split(",").map((s) => s.trim()).filter(Boolean);
      // Text of commas and spaces is no list: missing, as an empty value is.
      if (Array.isArray(v) && v.length === 0) {
        delete user[field];
        if (spec.required) out.push({ field, code: "REQUIRED", message: `${field} is required` });
        break;
      }
      if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
        out.push({ field, code: "WRONG_TYPE", message: `${field} must be a list of texts` });
        break;
      }
      if (spec.maxItems !== undefined && v.length > spec.maxItems)
        out.push({ field, code: "TOO_MANY", message: `${field} has ${v.length} items, at most ${spec.maxItems} allowed` });
      else for (const x of v as string[]) checkString(field, spec, x, out);
      break;
    case "object":
      if (typeof v === "string") {
        try {
          v = user[field] = JSON.parse(v);
        } catch {
          /* reported below */
        }
      }
      if (!v || typeof v !== "object" || Array.isArray(v)) out.push({ field, code: "WRONG_TYPE", message: `${field} must be a JSON object` });
      // Sending it would overflow the stack of JSON.stringify thousands of levels down, stopping the run.
      else if (deeperThan(v, MAX_OBJECT_DEPTH - 1)) out.push({ field, code: "TOO_DEEP", message: `${field} nests more than ${MAX_OBJECT_DEPTH} levels deep` });
      break;
  }
}

const fieldLists = new WeakMap<Provider, [string, FieldSpec][]>();

/** Reused by every call (validation is synchronous): a row without problems allocates no list. */
const scratch: FieldIssue[] = [];

/**
 * Checks a mapped user against the provider's field rules, coercing CSV text to the declared types
 * (booleans, lists split on commas, numbers to text). Mutates `user`; returns the problems found.
 */
export function validateUser(provider: Provider, user: MappedUser, options: unknown): readonly FieldIssue[] {
  const out = scratch;
  out.length = 0;
  let fields = fieldLists.get(provider);
  if (!fields) fieldLists.set(provider, (fields = Object.entries(provider.fields)));
  for (const [field, spec] of fields) checkField(field, spec, user, out);
  if (provider.validateUser) out.push(...provider.validateUser(user, options));
  return out.length ? out.slice() : NO_ISSUES;
}

/** The problems one field's rules find in `value` (a mapping's constant, checked when it loads). */
export function validateField(provider: Provider, field: string, value: unknown): FieldIssue[] {
  const out: FieldIssue[] = [];
  const spec = provider.fields[field];
  if (spec) checkField(field, spec, { [field]: value }, out);
  return out;
}
