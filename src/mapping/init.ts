import { validateUser } from "../core/validate.js";
import type { FieldIssue, FieldSpec, Meaning, Provider } from "../providers/define.js";
import { readInputs } from "../readers/index.js";
import { compileMapping } from "./apply.js";
import { checkMapping } from "./load.js";
import { valueGetter } from "./path.js";
import type { FieldDef } from "./schema.js";
import { withoutGz } from "../readers/open.js";

type Single = Exclude<Meaning, "first+last">;

/**
 * Column names that usually hold each kind of value, normalised (lower case, no spaces, `_`, `-`
 * or `.`). Keyed by meaning, not by provider field: each provider declares what its fields mean
 * (`FieldSpec.meaning`), so one table serves ZEGO `UserAvatar`, IMKIT `avatarUrl` and GenAuth `photo`.
 */
const SYNONYMS: Record<Single, string[]> = {
  id: ["id", "userid", "uid", "externalid", "localid", "employeeid", "employeenumber", "staffid", "memberid", "accountid", "personid", "sub", "objectid"],
  username: ["username", "login", "loginname", "handle", "screenname", "userprincipalname", "upn", "preferredusername", "samaccountname"],
  name: ["name", "displayname", "fullname", "realname", "commonname", "cn"],
  first: ["firstname", "givenname", "first", "fname", "forename"],
  last: ["lastname", "familyname", "surname", "last", "lname"],
  nickname: ["nickname", "nick", "alias", "aliasname"],
  avatar: ["avatar", "avatarurl", "photo", "photourl", "picture", "pictureurl", "image", "imageurl", "profileimageurl", "profilepicture", "thumbnailphoto"],
  email: ["email", "mail", "emailaddress", "workemail", "primaryemailaddress", "primaryemail", "businessemail", "useremail"],
  phone: ["phone", "mobile", "tel", "telephone", "phonenumber", "mobilephone", "mobilenumber", "primaryphonenumber", "cell", "cellphone", "workphone", "userphone"],
  // Plain passwords only: a hash column sent as a password would be hashed again (see HASHES).
  password: ["password", "pwd", "passwd", "initialpassword"],
  salt: ["salt", "passwordsalt"],
  groups: ["groups", "group", "groupids", "departments", "department", "teams", "team"],
  description: ["description", "bio", "about", "notes", "jobtitle", "title"],
  country: ["country", "countrycode"],
  emailVerified: ["emailverified", "verifiedemail", "isemailverified"],
  phoneVerified: ["phoneverified", "isphoneverified"],
  birthdate: ["birthdate", "dateofbirth", "dob", "birthday"],
};

/** Columns of password hashes (Firebase, Auth0, Cognito exports): never proposed as a plain password. */
const HASHES = ["passwordhash", "passhash", "hashedpassword", "pwdhash", "hash"];

/** How comments name each kind of value. */
const LABEL: Record<Meaning, string> = {
  id: "an id",
  username: "a username",
  name: "a full name",
  "first+last": "a first and a last name",
  first: "a first name",
  last: "a last name",
  nickname: "a nickname",
  avatar: "an avatar",
  email: "an email address",
  phone: "a phone number",
  password: "a password",
  salt: "a password salt",
  groups: "a list of groups",
  description: "a description",
  country: "a country",
  emailVerified: "an email-verified flag",
  phoneVerified: "a phone-verified flag",
  birthdate: "a birth date",
};

const norm = (s: string) => s.toLowerCase().replace(/[\s_.\-]/g, "");

const orList = (xs: string[]) => (xs.length < 2 ? (xs[0] ?? "") : `${xs.slice(0, -1).join(", ")} or ${xs[xs.length - 1]}`);

export interface Guess {
  field: string;
  /** YAML value text, e.g. `email` or `{ template: "{a} {b}" }`. */
  value: string;
  /** The same as a mapping field definition. */
  def: FieldDef;
  why: string;
  /** Sampled rows break the field's rules with this guess: what to check. */
  check?: string;
  /** Most sampled values break the rules: written commented out (optional fields only). */
  off?: boolean;
}

export interface Proposal {
  guesses: Guess[];
  unmapped: { field: string; required: boolean; why: string }[];
  unusedColumns: string[];
}

const isJsonl = (file: string, format?: "csv" | "jsonl") => format === "jsonl" || (format === undefined && /\.(jsonl|ndjson|json)$/i.test(withoutGz(file)));

/** Rows `mapping init` reads: enough to see JSONL keys and to try each guess on real values. */
export const SAMPLE_ROWS = 50;

/** Columns of an input (the CSV header, or the dotted paths of the first JSONL records) and its first rows. */
export async function sampleInput(file: string, opts: { format?: "csv" | "jsonl"; delimiter?: string } = {}): Promise<{ columns: string[]; rows: Record<string, unknown>[] }> {
  const jsonl = isJsonl(file, opts.format);
  const cols = new Set<string>();
  const flatten = (o: Record<string, unknown>, prefix: string, record: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(o)) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length) flatten(v as Record<string, unknown>, path, record);
      // Only a path the mapping reads back: under a key holding a dot (`{"profile":{"e.mail":…}}`)
      // it would read `profile.e.mail` as three keys, and find nothing.
      else if (valueGetter(path)(record) === v) cols.add(path);
    }
  };
  let header: string[] | undefined;
  const rows: Record<string, unknown>[] = [];
  for await (const rec of readInputs([file], { ...opts, onColumns: (_f, c) => (header ??= c) })) {
    if (!rec.error) {
      rows.push(rec.data);
      if (jsonl) flatten(rec.data, "", rec.data);
    }
    if (rows.length >= SAMPLE_ROWS) break;
  }
  return { columns: jsonl ? [...cols] : (header ?? []), rows };
}

/** Columns of an input: the CSV header, or the dotted paths of the first 50 JSONL records. */
export async function sampleColumns(file: string, opts: { format?: "csv" | "jsonl"; delimiter?: string } = {}): Promise<string[]> {
  return (await sampleInput(file, opts)).columns;
}

function yamlString(s: string): string {
  return /^[A-Za-z_][\w.\-]*$/.test(s) && !/^(true|false|null|yes|no|on|off|y|n|~)$/i.test(s) ? s : JSON.stringify(s);
}

/** A column reference, with the transform its kind of value usually needs, and a note on it. */
function columnValue(col: string, spec: FieldSpec, m: Meaning | undefined): { value: string; def: FieldDef; note?: string } {
  let t: { text: string; def: NonNullable<Exclude<FieldDef, string>["transform"]> } | undefined;
  let note: string | undefined;
  if (m === "email" || spec.format === "email") t = { text: "trim, lower", def: ["trim", "lower"] };
  else if (spec.type === "string[]") t = { text: '{ split: ";" }', def: [{ split: ";" }] };
  else if (spec.format === "phone") {
    t = { text: "{ e164: US }", def: [{ e164: "US" }] };
    note = "e164: set the country of numbers written without +";
  } else if (spec.format === "date") t = { text: "{ date: date }", def: [{ date: "date" }] };
  else if (spec.format === "datetime") t = { text: "{ date: iso }", def: [{ date: "iso" }] };
  if (!t) return { value: yamlString(col), def: col, note };
  return { value: `{ column: ${yamlString(col)}, transform: [${t.text}] }`, def: { column: col, transform: t.def }, note };
}

/** Proposes a mapping: same names first, then synonyms of what each field holds. */
export function propose(provider: Provider, columns: string[], samples: Record<string, unknown>[] = []): Proposal {
  /** Columns taken by a field, and the meaning they were taken for. */
  const used = new Map<string, Meaning | undefined>();
  /** Columns joined in a name template: a first/last-name field may still use them as they are. */
  const inTemplate = new Set<string>();
  const byNorm = new Map<string, string>();
  const byLast = new Map<string, string>();
  for (const c of columns) {
    if (!byNorm.has(norm(c))) byNorm.set(norm(c), c);
    const last = norm(c.split(".").pop()!);
    if (!byLast.has(last)) byLast.set(last, c);
  }
  // A column spelled as any of the names first, and only then the last part of a path: `uid` is
  // the user's id, not `manager.id` (which would make the users of one manager duplicates).
  const find = (names: string[], free: (c: string) => boolean = (c) => !used.has(c)): string | undefined => {
    for (const by of [byNorm, byLast])
      for (const n of names) {
        const c = by.get(n);
        if (c !== undefined && free(c)) return c;
      }
    return undefined;
  };
  const guesses: Guess[] = [];
  const unmapped: Proposal["unmapped"] = [];
  const entries = Object.entries(provider.fields) as [string, FieldSpec][];
  // The key and required fields choose first, so a column goes where it matters most.
  entries.sort(([a, x], [b, y]) => Number(b === provider.key) - Number(a === provider.key) || Number(!!y.required) - Number(!!x.required));
  const take = (field: string, col: string, spec: FieldSpec, m: Meaning | undefined, why: string) => {
    used.set(col, m);
    const v = columnValue(col, spec, m);
    guesses.push({ field, value: v.value, def: v.def, why: v.note ? `${why}; ${v.note}` : why });
  };
  for (const [field, spec] of entries) {
    const same = find([norm(field)]);
    if (same) {
      take(field, same, spec, spec.meaning?.[0], `column "${same}" has the field's name`);
      continue;
    }
    let done = false;
    for (const m of spec.meaning ?? []) {
      if (m === "first+last") {
        // A column already given to a first- or last-name field can also be part of a full name.
        // A name holding a brace cannot be a placeholder (templates have no literal braces): the
        // proposal would not load, and trying it on the sampled rows stopped `mapping init`.
        const free = (want: Meaning) => (c: string) => !/[{}]/.test(c) && (!used.has(c) || used.get(c) === want);
        const first = find(SYNONYMS.first, free("first"));
        const last = first && find(SYNONYMS.last, (c) => c !== first && free("last")(c));
        if (first && last) {
          inTemplate.add(first).add(last);
          const template = `{${first}} {${last}}`;
          guesses.push({ field, value: `{ template: ${JSON.stringify(template)}, transform: [trim] }`, def: { template, transform: ["trim"] }, why: `"${first}" and "${last}" joined` });
          done = true;
          break;
        }
        continue;
      }
      const col = find(SYNONYMS[m]);
      if (col) {
        take(field, col, spec, m, `column "${col}" looks like ${LABEL[m]}`);
        done = true;
        break;
      }
    }
    if (!done) {
      const hash = spec.meaning?.includes("password") ? find(HASHES) : undefined;
      if (hash) {
        unmapped.push({ field, required: spec.required === true, why: `column "${hash}" holds password hashes, not passwords: sent as a password, a hash would be hashed again${provider.name === "genauth" ? " (GenAuth takes hashes it can read with options.keepPassword: check its docs before mapping it)" : ""}` });
        continue;
      }
      const what = spec.meaning?.length ? `no column looked like ${orList(spec.meaning.map((m) => LABEL[m]))}` : `no column named ${field}`;
      const allowed = spec.enum ? ` (one of ${spec.enum.join(", ")})` : "";
      unmapped.push({ field, required: spec.required === true, why: `${what}${allowed}` });
    }
  }
  trySamples(provider, guesses, samples);
  return { guesses, unmapped, unusedColumns: columns.filter((c) => !used.has(c) && !inTemplate.has(c)) };
}

/** Rule breaches without the values (a mapping file gets committed; sample values are personal data). */
const ruleOnly = (m: string) => m.replace(/`[^`]*`/g, "a value").replace(/\s*\([^()]*\bline \d+[^()]*\)$/, "");

/**
 * Runs the guesses over the sampled rows, as `validate` would: a guess most values of which break
 * the field's rules is left commented out (unless the field is required or the key) with the rule
 * to look at; one that breaks for some rows keeps a CHECK note.
 */
function trySamples(provider: Provider, guesses: Guess[], samples: Record<string, unknown>[]): void {
  if (!samples.length || !guesses.length) return;
  const apply = compileMapping(checkMapping({ fields: Object.fromEntries(guesses.map((g) => [g.field, g.def])) }, provider, "<mapping init>", true));
  const seen = new Map<string, number>();
  const bad = new Map<string, { n: number; first: FieldIssue }>();
  for (const row of samples) {
    const { user, issues } = apply(row);
    // A value a transform refused was sampled too: it is not in `user`.
    for (const f of new Set([...Object.keys(user), ...issues.map((i) => i.field)])) seen.set(f, (seen.get(f) ?? 0) + 1);
    const all = [...issues, ...validateUser(provider, user, {})];
    const hit = new Set<string>();
    for (const i of all) {
      if (hit.has(i.field) || i.code === "REQUIRED") continue;
      hit.add(i.field);
      const b = bad.get(i.field) ?? { n: 0, first: i };
      b.n++;
      bad.set(i.field, b);
    }
  }
  for (const g of guesses) {
    const b = bad.get(g.field);
    if (!b) continue;
    const spec = provider.fields[g.field];
    const tried = Math.max(b.n, seen.get(g.field) ?? 0);
    const rule = spec?.secret ? b.first.code : ruleOnly(b.first.message);
    g.check = `${b.n} of ${tried} sampled value(s) break the rules: ${rule}`;
    g.off = b.n * 2 > tried && !spec?.required && g.field !== provider.key;
  }
}

interface OptionLine {
  key: string;
  /** Must be set before an import may run (the provider refuses to start without it). */
  choose: boolean;
  type: string;
  /** Its `.describe()` text. */
  description?: string;
}

/**
 * The provider's options, read from its `optionsSchema` (a zod object). An option is one to
 * CHOOSE when `checkOptions` refuses a run without it and accepts one with it set.
 */
export function optionLines(provider: Provider): OptionLine[] {
  const def = (provider.optionsSchema as { def?: { type?: string; shape?: Record<string, { def: Record<string, unknown>; description?: string }> } } | undefined)?.def;
  if (def?.type !== "object" || !def.shape) return [];
  const refuses = (o: Record<string, unknown>) => provider.checkOptions?.(o, { dryRun: false }).error !== undefined;
  const bare = refuses({});
  return Object.entries(def.shape).map(([key, s]) => {
    let d = s.def;
    while ((d.type === "optional" || d.type === "default" || d.type === "nullable") && d.innerType) d = (d.innerType as { def: Record<string, unknown> }).def;
    const type = d.type === "enum" ? Object.keys((d.entries as Record<string, string>) ?? {}).join(" | ") : typeof d.format === "string" ? d.format : String(d.type);
    return { key, type, description: s.description, choose: bare && d.type === "boolean" && !refuses({ [key]: false }) };
  });
}

/** Text for a YAML comment: a line break in a column name would end it and leave the rest as YAML. */
const comment = (text: string) => text.replace(/[\x00-\x1f\x7f]/g, (c) => JSON.stringify(c).slice(1, -1));

/** The mapping file text, with a comment on every guess and every field left out. */
export function renderMapping(provider: Provider, p: Proposal, schemaRef: string, source: string): string {
  const lines = [
    `# yaml-language-server: $schema=${schemaRef}`,
    `# Mapping for ${source} → ${provider.name}, proposed by \`bulk-users mapping init\`: check every guess.`,
    `provider: ${provider.name}`,
    "fields:",
  ];
  const order = Object.keys(provider.fields);
  const rows = [
    ...p.guesses.map((g) => ({
      f: g.field,
      line: `  ${g.off ? "# " : ""}${g.field}: ${g.value}`,
      note: g.off ? `CHECK, left out: ${g.why}, but ${g.check}` : `guess: ${g.why}${g.check ? `; CHECK: ${g.check}` : ""}`,
    })),
    ...p.unmapped.map((u) => ({ f: u.field, line: `  # ${u.field}:`, note: `${u.required ? "REQUIRED, fill in: " : "not mapped: "}${u.why}` })),
  ];
  rows.sort((a, b) => order.indexOf(a.f) - order.indexOf(b.f));
  for (const r of rows) lines.push(`${r.line.padEnd(58)} # ${comment(r.note)}`);
  const opts = optionLines(provider);
  if (opts.length) {
    const choose = opts.some((o) => o.choose);
    lines.push(choose ? "options:" : "# options:");
    for (const o of opts)
      lines.push(
        o.choose
          ? `${`  ${o.key}: false`.padEnd(22)} # CHOOSE true or false: ${provider.name} refuses to import until it is set`
          : `${`  # ${o.key}:`.padEnd(22)} # optional (${o.type})`,
      );
  }
  if (p.unusedColumns.length) lines.push(`# Columns not used: ${comment(p.unusedColumns.join(", "))}`);
  return `${lines.join("\n")}\n`;
}
