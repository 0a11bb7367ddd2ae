import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parseDocument } from "yaml";
import { BulkUsersError, ErrorCode } from "../errors.js";
import { secretFields, type Provider } from "../providers/define.js";
import { closest } from "../util/suggest.js";
import { constantProblem, PLACEHOLDER } from "./apply.js";
import { MappingSchema, type MappingFile } from "./schema.js";

/** A mapping after loading: where it came from, for error messages. */
export interface LoadedMapping extends MappingFile {
  source: string;
  /** Automatic JSONL mapping: fields read from a key spelled as the field, which no early record held. */
  guessed?: string[];
}

interface Issue {
  code: string;
  path: PropertyKey[];
  message: string;
  errors?: Issue[][];
}

/** The most specific problem: inside a union, the branch that got furthest. */
function specific(issue: Issue): { path: PropertyKey[]; message: string } {
  if (issue.code === "invalid_union" && issue.errors?.length) {
    const firsts = issue.errors.map((l) => l[0]).filter((x): x is Issue => x !== undefined);
    // The branch that read deepest into the value is the one meant (`{ split: 3 }` is a split
    // with a wrong argument, not an unknown transform); at equal depth, not a type mismatch at the root.
    // A key the value lacks (`received undefined`) counts as its parent: `{ spilt: ";" }` is no split.
    const depth = (b: Issue) => (b.path.length - (/received undefined$/.test(b.message) ? 1 : 0)) * 2 + (b.code === "invalid_type" && b.path.length === 0 ? 0 : 1);
    const best = firsts.reduce<Issue | undefined>((a, b) => (a === undefined || depth(b) > depth(a) ? b : a), undefined);
    if (best) {
      const inner = specific(best);
      return { path: [...issue.path, ...inner.path], message: inner.message };
    }
  }
  return { path: issue.path, message: issue.message };
}

function pathOf(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");
}

/** Reads and validates a YAML or JSON mapping file against the schema and the provider's fields. */
export function loadMapping(file: string, provider: Provider): LoadedMapping {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const folder = (e as NodeJS.ErrnoException).code === "EISDIR";
    throw new BulkUsersError(ErrorCode.MAPPING_INVALID, folder ? `The mapping is a folder, not a file: ${file}` : `Mapping file not found: ${file}`, {
      context: { file },
      hint: "Check the --mapping path, or write one with `bulk-users mapping init`.",
    });
  }
  // An editor's BOM: YAML skips it, JSON.parse would not.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let raw: unknown;
  const json = extname(file).toLowerCase() === ".json";
  try {
    if (json) raw = JSON.parse(text);
    else {
      const doc = parseDocument(text);
      // A warning is refused too: an unresolved tag (`!!js/function "x"`) would leave the text "x".
      const problem = doc.errors[0] ?? doc.warnings[0];
      if (problem) throw problem;
      raw = doc.toJS();
    }
  } catch (e) {
    // Where it went wrong as a line and column, the same for both: yaml gives linePos, JSON.parse a character offset.
    const err = e as Error & { linePos?: { line: number; col: number }[] };
    // Without the stretch of the file V8 quotes (`..."value":Welcome-20"... is not valid JSON`): a constant password may be in it.
    let why = err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "").replace(/, (?:\.\.\.)?"[^]*"(?:\.\.\.)? is not valid JSON$/, "");
    let at = err.linePos?.[0];
    const offset = / in JSON at position (\d+)/.exec(why);
    if (json && offset) {
      const before = text.slice(0, Number(offset[1]));
      at = { line: before.split("\n").length, col: before.length - before.lastIndexOf("\n") };
      why = why.slice(0, offset.index);
    }
    throw new BulkUsersError(ErrorCode.MAPPING_INVALID, `Invalid mapping: not valid ${json ? "JSON" : "YAML"}: ${why} (${file}${at ? `, line ${at.line}, column ${at.col}` : ""})`, {
      context: { file, line: at?.line },
    });
  }
  // JSON.parse keeps the last of two equal keys without a word; YAML (JSON's superset) refuses them.
  const dup = json ? parseDocument(text).errors.find((e) => e.code === "DUPLICATE_KEY") : undefined;
  if (dup) {
    const at = dup.linePos?.[0];
    throw new BulkUsersError(ErrorCode.MAPPING_INVALID, `Invalid mapping: a key appears twice in the same object (${file}${at ? `, line ${at.line}, column ${at.col}` : ""})`, {
      context: { file, line: at?.line },
      hint: "Keep one of them: JSON would silently use the last.",
    });
  }
  return checkMapping(raw, provider, file);
}

/** Where the first own `__proto__` key of a parsed value is (a dotted path from `at`), if any. */
function protoKey(value: unknown, at: string): string | undefined {
  const stack: [unknown, string][] = [[value, at]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (!v || typeof v !== "object") continue;
    if (Object.hasOwn(v, "__proto__")) return `${path}.__proto__`;
    for (const [k, c] of Object.entries(v)) stack.push([c, `${path}.${k}`]);
  }
  return undefined;
}

/** A transform step written as one object with several keys (`{ split: ",", join: "|" }`), which no branch of the schema names. */
function transformWithKeys(raw: unknown): { path: string; keys: string[] } | undefined {
  const fields = raw && typeof raw === "object" ? (raw as { fields?: unknown }).fields : undefined;
  if (!fields || typeof fields !== "object") return undefined;
  for (const [field, def] of Object.entries(fields)) {
    const steps = def && typeof def === "object" ? (def as { transform?: unknown }).transform : undefined;
    if (!Array.isArray(steps)) continue;
    for (const [i, step] of steps.entries()) {
      const keys = step && typeof step === "object" && !Array.isArray(step) ? Object.keys(step) : [];
      if (keys.length > 1) return { path: `fields.${field}.transform[${i}]`, keys };
    }
  }
  return undefined;
}

/**
 * Validates a mapping object (from a file or the library API). `partial`: a mapping still being
 * written (mapping init's guesses) may leave required fields out.
 */
export function checkMapping(raw: unknown, provider: Provider, source = "<mapping>", partial = false): LoadedMapping {
  // `options:` with every line under it commented out is YAML null: no options, not a type error.
  if (raw && typeof raw === "object" && !Array.isArray(raw) && (raw as Record<string, unknown>).options === null) {
    const { options: _none, ...rest } = raw as Record<string, unknown>;
    raw = rest;
  }
  // So is `fields:` (mapping init found nothing to guess): no fields, so the error names the required one.
  if (raw && typeof raw === "object" && !Array.isArray(raw) && (raw as Record<string, unknown>).fields === null) raw = { ...(raw as object), fields: {} };
  const parsed = MappingSchema.safeParse(raw);
  if (!parsed.success) {
    const multi = transformWithKeys(raw);
    if (multi)
      throw new BulkUsersError(ErrorCode.MAPPING_INVALID, `Invalid mapping: a transform object has one key, this one has ${multi.keys.map((k) => `\`${k}\``).join(", ")} (${source}, ${multi.path})`, {
        context: { file: source, field: multi.path },
        hint: "Give each step its own list item, in order: transform: [{ split: \",\" }, { join: \"|\" }].",
      });
    const issues = parsed.error.issues as unknown as Issue[];
    const issue = specific(issues.find((i) => i.code === "unrecognized_keys") ?? issues[0]!);
    const key = pathOf(issue.path) || "(top level)";
    throw new BulkUsersError(ErrorCode.MAPPING_INVALID, `Invalid mapping: ${issue.message} (${source}, ${key})`, {
      context: { file: source, field: key },
      hint: "See the README section \"Mapping file\" or run `bulk-users providers " + provider.name + "` for an example.",
    });
  }
  const m = parsed.data;
  // zod drops a `__proto__` key (from YAML or JSON text it is an own key): an option so named would vanish without a word.
  const proto = protoKey((raw as { options?: unknown }).options, "options");
  if (proto)
    throw new BulkUsersError(ErrorCode.PROVIDER_OPTIONS, `Invalid mapping: unknown option \`__proto__\` (${source}, ${proto})`, { context: { file: source, field: proto } });
  if (m.provider && m.provider !== provider.name)
    throw new BulkUsersError(ErrorCode.MAPPING_INVALID, `Invalid mapping: written for provider \`${m.provider}\`, not ${provider.name} (${source}, provider)`, {
      context: { file: source, field: "provider" },
    });
  // The raw keys: zod's record drops a `__proto__` key, which would then map nothing without a word.
  for (const field of Object.keys((raw as { fields: object }).fields)) {
    if (!Object.hasOwn(provider.fields, field)) {
      const guess = closest(field, Object.keys(provider.fields));
      throw new BulkUsersError(
        ErrorCode.MAPPING_UNKNOWN_FIELD,
        `Invalid mapping: unknown field \`${field}\` for provider ${provider.name} (${source}, fields.${field})`,
        {
          context: { file: source, field: `fields.${field}` },
          hint: guess ? `Did you mean \`${guess}\`?` : `Fields of ${provider.name}: ${Object.keys(provider.fields).join(", ")}.`,
        },
      );
    }
  }
  // A constant the field's rules refuse makes every row it fills invalid: refused here, once.
  const secret = new Set(secretFields(provider));
  for (const [field, def] of Object.entries(m.fields)) {
    if (typeof def === "string") continue;
    const constants: [string, unknown][] = [];
    if (def.value !== undefined) constants.push(["value", def.value]);
    if (def.template !== undefined && def.template.search(PLACEHOLDER) === -1) constants.push(["template", def.template]);
    if (def.default !== undefined) constants.push(["default", def.default]);
    for (const [which, constant] of constants) {
      const why = constantProblem(provider, field, constant, def.transform ?? [], secret.has(field));
      if (why)
        throw new BulkUsersError(
          ErrorCode.MAPPING_INVALID,
          `Invalid mapping: the ${which} of fields.${field} would make ${which === "default" ? `every row without a ${field} of its own` : "every row"} invalid: ${why} (${source}, fields.${field}.${which})`,
          { context: { file: source, field: `fields.${field}.${which}` }, hint: `\`bulk-users providers ${provider.name}\` lists the rules of ${field}.` },
        );
    }
  }
  // No row could hold a field the mapping never fills: every one would come out invalid.
  const missing = partial ? undefined : Object.entries(provider.fields).find(([f, spec]) => spec.required && !Object.hasOwn(m.fields, f));
  if (missing)
    throw new BulkUsersError(ErrorCode.MAPPING_INVALID, `Invalid mapping: ${provider.name} requires fields.${missing[0]}, which the mapping does not map (${source}, fields)`, {
      context: { file: source, field: `fields.${missing[0]}` },
      hint: `Map it to a column, a template or a value (\`bulk-users providers ${provider.name}\` lists the fields).`,
    });
  return { ...m, source };
}

const norm = (s: string) => s.toLowerCase().replace(/[_\-\s.]/g, "");

/**
 * Without a mapping file: a column whose name equals a provider field (case and `_`/`-` ignored).
 * JSONL records need not all hold the same keys, so there (`jsonl`) a field no early record names
 * is read from a key spelled as the field itself, in the records that have one.
 */
export function autoMapping(provider: Provider, columns: string[], jsonl = false): LoadedMapping {
  const fields: Record<string, string> = {};
  const guessed: string[] = [];
  // Of two columns spelled alike (user_id, User ID), the first is used, as `mapping init` proposes.
  const byNorm = new Map<string, string>();
  for (const c of columns) if (!byNorm.has(norm(c))) byNorm.set(norm(c), c);
  for (const f of Object.keys(provider.fields)) {
    const col = byNorm.get(norm(f));
    if (col !== undefined) fields[f] = col;
    else if (jsonl) {
      fields[f] = f;
      guessed.push(f);
    }
  }
  return jsonl ? { fields, source: "<automatic mapping>", guessed } : { fields, source: "<automatic mapping>" };
}

/**
 * autoMapping for an input's columns, refused (exit 2) when none is named like the key field or
 * another field the vendor wants unique: every row would be invalid. `said` tells what was mapped.
 */
export function autoMappingFor(provider: Provider, file: string, columns: string[], said?: (m: string) => void, jsonl = false): LoadedMapping {
  const m = autoMapping(provider, columns, jsonl);
  const guessed = new Set(m.guessed);
  const keyLike = Object.entries(provider.fields).filter(([name, spec]) => name === provider.key || spec.unique || spec.uniqueIgnoreCase);
  if (columns.length && !keyLike.some(([name]) => name in m.fields && !guessed.has(name)))
    throw new BulkUsersError(ErrorCode.MAPPING_INVALID, `No mapping given and no column of ${file} is named like the key field ${provider.key}`, {
      context: { file },
      hint: `Pass --mapping FILE (see \`bulk-users providers ${provider.name}\`), or run \`bulk-users mapping init ${file} --provider ${provider.name}\`.`,
    });
  const named = Object.entries(m.fields).filter(([f]) => !guessed.has(f));
  const which = guessed.size > 6 ? `the other ${guessed.size} fields` : [...guessed].join(", ");
  const rest = guessed.size ? `; ${which} from keys so named, in the records that hold one` : "";
  // Columns that map to no field are not imported: say so, or a migration loses its names unseen.
  const used = new Set(Object.values(m.fields));
  const unused = columns.filter((c) => !used.has(c));
  const list = unused.length > 6 ? `${unused.slice(0, 6).join(", ")} and ${unused.length - 6} more` : unused.join(", ");
  const left = unused.length ? `; ${jsonl ? "keys" : "columns"} not imported: ${list} (\`bulk-users mapping init ${file} -p ${provider.name}\` proposes a mapping for them)` : "";
  said?.(`No --mapping: mapped ${named.map(([f, c]) => `${c} → ${f}`).join(", ") || "nothing"}${rest} (${file})${left}`);
  return m;
}
