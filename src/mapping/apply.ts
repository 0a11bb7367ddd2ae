import { BulkUsersError, ErrorCode } from "../errors.js";
import { validateField } from "../core/validate.js";
import { NO_ISSUES, type FieldIssue, type Provider } from "../providers/define.js";
import type { MappedUser } from "../types.js";
import type { LoadedMapping } from "./load.js";
import type { Transform } from "./schema.js";
import { valueGetter as getter, type Getter } from "./path.js";
import { applyTransform, isEmpty } from "./transforms.js";

/** A `{column}` placeholder of a template. */
export const PLACEHOLDER = /\{([^{}]+)\}/g;

/** Index of a `{` or `}` that is not part of a placeholder, or -1: templates have no literal braces. */
export function strayBrace(template: string): number {
  return template.replace(PLACEHOLDER, (p) => " ".repeat(p.length)).search(/[{}]/);
}

/** Columns a mapping reads: checked against a CSV header, and all a JSONL parse thread sends. */
export function columnsUsed(m: LoadedMapping): { field: string; column: string }[] {
  const out: { field: string; column: string }[] = [];
  for (const [field, def] of Object.entries(m.fields)) {
    if (typeof def === "string") out.push({ field, column: def });
    else if (def.column !== undefined) out.push({ field, column: def.column });
    else if (def.template !== undefined) for (const [, c] of def.template.matchAll(PLACEHOLDER)) out.push({ field, column: c! });
  }
  return out;
}

/** Refuses a CSV header that lacks a column the mapping reads (nothing has been sent yet). */
/** A one-column header that holds another usual delimiter: the file was most likely split on the wrong one. */
function delimiterHint(columns: string[]): string {
  if (columns.length !== 1) return "";
  const d = [";", "\t", "|"].find((x) => columns[0]!.includes(x));
  return d ? ` The header looks delimited by ${d === "\t" ? "tabs" : `\`${d}\``}: pass --delimiter ${d === "\t" ? "$'\\t'" : `'${d}'`}.` : "";
}

export function checkColumns(m: LoadedMapping, file: string, columns: string[]): void {
  const have = new Set(columns);
  const used = columnsUsed(m);
  // With none of the mapping's columns there, the first line is likely data (an export without a
  // header): its cells, a password among them, are not repeated in the hint.
  const headerless = !used.some((u) => have.has(u.column));
  for (const { field, column } of used) {
    // A CSV cell is text: a dotted name is a column of that name, never a path into another.
    if (have.has(column)) continue;
    const hint = headerless
      ? `None of the mapping's columns is in the first line of ${file}: does the file start with a header row?${delimiterHint(columns)}`
      : `Columns in ${file}: ${columns.join(", ") || "(none)"}.${delimiterHint(columns)}`;
    throw new BulkUsersError(ErrorCode.MAPPING_MISSING_COLUMN, `Invalid mapping: column \`${column}\` is not in the header of ${file} (${m.source}, fields.${field})`, {
      context: { file: m.source, field: `fields.${field}` },
      hint,
    });
  }
}

/** A row's value that cannot be used, with the issue code it becomes. */
class ValueError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Why a mapping's constant (a `value`, a `default`, a template without placeholders), once through
 * the field's transforms, breaks the field's rules; undefined if it does not. A secret field's
 * constant is not quoted.
 */
export function constantProblem(provider: Provider, field: string, constant: unknown, transforms: readonly Transform[], secret: boolean): string | undefined {
  let v = constant;
  try {
    for (const t of transforms) v = applyTransform(v, t);
  } catch (e) {
    return secret ? "a transform refuses it (not shown: the field is secret)" : (e as Error).message;
  }
  // A required field no row could fill: every row would be invalid.
  if (isEmpty(v)) return provider.fields[field]?.required ? `${field} is required and the constant is empty${transforms.length ? " once transformed" : ""}` : undefined;
  const issues = validateField(provider, field, v);
  return issues.length ? issues.map((i) => i.message).join("; ") : undefined;
}

/** A compiled mapping; `unseen` lists the fields whose source never held a value (a misspelt JSONL path). */
export type CompiledMapping = ((data: Record<string, unknown>) => { user: MappedUser; issues: readonly FieldIssue[] }) & {
  /** `part`: a placeholder of a template that did get values (the field itself is not empty). */
  unseen(): { field: string; source: string; defaulted: boolean; part?: boolean }[];
};

/**
 * Compiles a mapping into one function per field; a row's value errors become issues. `secret`:
 * fields whose value a transform's error must not quote (passwords).
 */
export function compileMapping(m: LoadedMapping, secret: ReadonlySet<string> = new Set()): CompiledMapping {
  const steps: { field: string; get: Getter; def: unknown; transforms: NonNullable<Exclude<LoadedMapping["fields"][string], string>["transform"]> }[] = [];
  /** Per template placeholder: its name, its field, and whether any row gave it a value. */
  const placeholders: { field: string; name: string; hit: boolean }[] = [];
  for (const [field, def] of Object.entries(m.fields)) {
    if (typeof def === "string") {
      steps.push({ field, get: getter(def), def: undefined, transforms: [] });
      continue;
    }
    let get: Getter;
    if (def.column !== undefined) {
      get = getter(def.column);
    } else if (def.template !== undefined) {
      // Split once into literal text and column getters, so a row costs no regex.
      const parts = def.template.split(PLACEHOLDER);
      const cols = parts.map((p, i) => (i % 2 ? getter(p) : undefined));
      const marks = parts.map((p, i) => (i % 2 ? placeholders[placeholders.push({ field, name: p, hit: false }) - 1] : undefined));
      const literal = parts[0]!;
      get =
        parts.length === 1
          ? () => literal
          : (d) => {
              let any = false;
              let s = parts[0]!;
              let wrong: ValueError | undefined;
              for (let i = 1; i < parts.length; i += 2) {
                const v = cols[i]!(d);
                if (!isEmpty(v)) {
                  // Held a value, if one it cannot use: every placeholder is looked at, so the
                  // misspelt-name warning speaks only of those that never held one.
                  marks[i]!.hit = true;
                  // Text and numbers only: an object would read "[object Object]", a list "a,b".
                  if (typeof v !== "string" && typeof v !== "number")
                    wrong ??= new ValueError("WRONG_TYPE", `${field}: {${parts[i]}} must be text, got ${Array.isArray(v) ? "a list" : typeof v}`);
                  any = true;
                  s += String(v);
                }
                s += parts[i + 1]!;
              }
              if (wrong) throw wrong;
              return any ? s : undefined;
            };
    } else {
      const value = def.value;
      get = () => value;
    }
    steps.push({ field, get, def: def.default, transforms: def.transform ?? [] });
  }
  const seen = steps.map(() => false);
  const apply = (data: Record<string, unknown>) => {
    const user: MappedUser = {};
    let issues = NO_ISSUES as FieldIssue[];
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i]!;
      let v: unknown;
      let got = false;
      try {
        v = s.get(data);
        got = true;
        const given = !isEmpty(v);
        if (given) seen[i] = true;
        else v = s.def;
        for (const t of s.transforms) v = applyTransform(v, t);
        // A value the transforms emptied (spaces, then trim) is missing too: the default applies.
        if (given && isEmpty(v) && s.def !== undefined) {
          v = s.def;
          for (const t of s.transforms) v = applyTransform(v, t);
        }
      } catch (e) {
        // A source refuses only a value it holds (a template's object): it did have one.
        if (!got) seen[i] = true;
        if (issues === NO_ISSUES) issues = [];
        const code = e instanceof ValueError ? e.code : "TRANSFORM";
        const message = secret.has(s.field) ? `${s.field}: ${code === "TRANSFORM" ? "a transform refused the value" : "the value is not text"} (not shown: the field is secret)` : (e as Error).message;
        issues.push({ field: s.field, code, message });
        continue;
      }
      if (!isEmpty(v)) user[s.field] = v;
    }
    return { user, issues };
  };
  // A constant (`value`) always has one; a column or template may be misspelt.
  const source = (field: string) => {
    const def = m.fields[field]!;
    if (typeof def === "string") return `column \`${def}\``;
    if (def.column !== undefined) return `column \`${def.column}\``;
    return def.template !== undefined ? `template \`${def.template}\`` : undefined;
  };
  return Object.assign(apply, {
    unseen: () => [
      ...steps.flatMap((st, i) => {
        const from = seen[i] ? undefined : source(st.field);
        const def = m.fields[st.field]!;
        return from ? [{ field: st.field, source: from, defaulted: typeof def === "object" && def.default !== undefined }] : [];
      }),
      // A template that did get values may still have a misspelt placeholder ({family_nmae}).
      ...placeholders.filter((p) => !p.hit && steps.some((st, i) => st.field === p.field && seen[i])).map((p) => ({ field: p.field, source: `placeholder \`{${p.name}}\` of its template`, defaulted: false, part: true })),
    ],
  });
}
