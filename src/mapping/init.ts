import type { FieldSpec, Meaning, Provider } from "../providers/define.js";
import { readInputs } from "../readers/index.js";

/** Column names (normalised: lower case, no spaces, `_`, `-` or `.`) that usually hold each kind of value. */
const SYNONYMS: Record<Exclude<Meaning, "first+last">, string[]> = {
  id: ["id", "userid", "uid", "externalid", "localid", "employeeid", "staffid", "memberid", "accountid", "sub", "objectid"],
  username: ["username", "login", "loginname", "handle", "screenname", "userprincipalname", "upn", "preferredusername", "samaccountname"],
  name: ["name", "displayname", "fullname", "realname"],
  first: ["firstname", "givenname", "first", "fname", "forename"],
  last: ["lastname", "familyname", "surname", "last", "lname"],
  nickname: ["nickname", "nick", "alias"],
  avatar: ["avatar", "avatarurl", "photo", "photourl", "picture", "pictureurl", "image", "imageurl", "profileimageurl", "profilepicture"],
  email: ["email", "mail", "emailaddress", "workemail", "primaryemailaddress", "primaryemail", "businessemail"],
  phone: ["phone", "mobile", "tel", "telephone", "phonenumber", "mobilephone", "mobilenumber", "primaryphonenumber", "cell", "cellphone", "workphone"],
  password: ["password", "passwordhash", "pwd", "passhash"],
  salt: ["salt", "passwordsalt"],
  groups: ["groups", "group", "groupids", "departments", "department", "teams", "team"],
  description: ["description", "bio", "about", "notes", "jobtitle", "title"],
  country: ["country", "countrycode"],
  emailVerified: ["emailverified", "verifiedemail", "isemailverified"],
  phoneVerified: ["phoneverified", "isphoneverified"],
  birthdate: ["birthdate", "dateofbirth", "dob", "birthday"],
};

const norm = (s: string) => s.toLowerCase().replace(/[\s_.\-]/g, "");

export interface Guess {
  field: string;
  /** YAML value text, e.g. `email` or `{ template: "{a} {b}" }`. */
  value: string;
  why: string;
}

export interface Proposal {
  guesses: Guess[];
  unmapped: { field: string; required: boolean; why: string }[];
  unusedColumns: string[];
}

/** Columns of an input: the CSV header, or the dotted paths of the first JSONL records. */
export async function sampleColumns(file: string, opts: { format?: "csv" | "jsonl"; delimiter?: string } = {}): Promise<string[]> {
  const cols = new Set<string>();
  const flatten = (o: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(o)) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (v && typeof v === "object" && !Array.isArray(v)) flatten(v as Record<string, unknown>, path);
      else cols.add(path);
    }
  };
  let header: string[] | undefined;
  let n = 0;
  for await (const rec of readInputs([file], { ...opts, onColumns: (_f, c) => (header ??= c) })) {
    if (header && !/\.jsonl$|\.ndjson$|\.json$/i.test(file) && opts.format !== "jsonl") break;
    if (!rec.error) flatten(rec.data, "");
    if (++n >= 50) break;
  }
  if (header && cols.size === 0) return header;
  return header && !/\.jsonl$|\.ndjson$|\.json$/i.test(file) && opts.format !== "jsonl" ? header : [...cols];
}

function yamlString(s: string): string {
  return /^[A-Za-z_][\w.\-]*$/.test(s) && !/^(true|false|null|yes|no|on|off)$/i.test(s) ? s : JSON.stringify(s);
}

/** A column reference, with the transform its kind of value usually needs. */
function columnValue(col: string, spec: FieldSpec, m: Meaning | undefined): string {
  const t = m === "email" ? ", transform: [trim, lower]" : m === "groups" && spec.type === "string[]" ? ', transform: [{ split: ";" }]' : "";
  return t ? `{ column: ${yamlString(col)}${t} }` : yamlString(col);
}

/** Proposes a mapping: same names first, then synonyms of what each field holds. */
export function propose(provider: Provider, columns: string[]): Proposal {
  const used = new Set<string>();
  const byNorm = new Map<string, string>();
  const byLast = new Map<string, string>();
  for (const c of columns) {
    if (!byNorm.has(norm(c))) byNorm.set(norm(c), c);
    const last = norm(c.split(".").pop()!);
    if (!byLast.has(last)) byLast.set(last, c);
  }
  const find = (names: string[]): string | undefined => {
    for (const n of names) {
      const c = byNorm.get(n) ?? byLast.get(n);
      if (c !== undefined && !used.has(c)) return c;
    }
    return undefined;
  };
  const guesses: Guess[] = [];
  const unmapped: Proposal["unmapped"] = [];
  const entries = Object.entries(provider.fields) as [string, FieldSpec][];
  // The key and required fields choose first, so a column goes where it matters most.
  entries.sort(([a, x], [b, y]) => Number(b === provider.key) - Number(a === provider.key) || Number(!!y.required) - Number(!!x.required));
  for (const [field, spec] of entries) {
    const same = find([norm(field)]);
    if (same) {
      used.add(same);
      guesses.push({ field, value: columnValue(same, spec, spec.meaning?.[0]), why: `column "${same}" has the field's name` });
      continue;
    }
    let done = false;
    for (const m of spec.meaning ?? []) {
      if (m === "first+last") {
        const first = find(SYNONYMS.first);
        const last = first && find(SYNONYMS.last.filter((n) => byNorm.get(n) !== first && byLast.get(n) !== first));
        if (first && last) {
          used.add(first).add(last);
          guesses.push({ field, value: `{ template: ${JSON.stringify(`{${first}} {${last}}`)}, transform: [trim] }`, why: `"${first}" and "${last}" joined` });
          done = true;
          break;
        }
        continue;
      }
      const col = find(SYNONYMS[m]);
      if (col) {
        used.add(col);
        guesses.push({ field, value: columnValue(col, spec, m), why: `column "${col}" looks like ${/^[aeiou]/.test(m) && m !== "username" ? "an" : "a"} ${m}` });
        done = true;
        break;
      }
    }
    if (!done) unmapped.push({ field, required: spec.required === true, why: spec.meaning?.length ? `no column looked like ${spec.meaning.join(" or ")}` : "no column with this name" });
  }
  return { guesses, unmapped, unusedColumns: columns.filter((c) => !used.has(c)) };
}

/** The mapping file text, with a comment on every guess and every field left out. */
export function renderMapping(provider: Provider, p: Proposal, schemaRef: string, source: string): string {
  const lines = [
    `# yaml-language-server: $schema=${schemaRef}`,
    `# Mapping for ${source} → ${provider.name}, proposed by \`bulk-users mapping init\`: check every guess.`,
    `provider: ${provider.name}`,
    "fields:",
  ];
  const order = Object.keys(provider.fields);
  const rows = [...p.guesses.map((g) => ({ f: g.field, line: `  ${g.field}: ${g.value}`, note: `guess: ${g.why}` })), ...p.unmapped.map((u) => ({ f: u.field, line: `  # ${u.field}:`, note: `${u.required ? "REQUIRED, fill in: " : "not mapped: "}${u.why}` }))];
  rows.sort((a, b) => order.indexOf(a.f) - order.indexOf(b.f));
  for (const r of rows) lines.push(`${r.line.padEnd(58)} # ${r.note}`);
  if (provider.name === "royalti") lines.push("options:", "  sendEmail: false    # CHOOSE: true mails every user an invite (the vendor's default)");
  if (p.unusedColumns.length) lines.push(`# Columns not used: ${p.unusedColumns.join(", ")}`);
  return `${lines.join("\n")}\n`;
}
