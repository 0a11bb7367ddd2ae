// Deterministic generator of realistic user files for the benchmarks, CSV and JSONL, under
// bench/data/ (gitignored): quoted names with commas and quotes, non-ASCII names, ~3% invalid rows
// (a key with a space, or one over ZEGO's 32 bytes), ~1% duplicate keys. `--valid` files (for the
// quota runs) have none of those, and unique ids, emails and phones.
//
//   node bench/generate.mjs                 10k, 100k and 1M rows, CSV and JSONL
//   node bench/generate.mjs 50000 csv       one file
//
// A file is written under a temporary name and renamed when complete, with a marker
// (`<file>.meta.json`: generator version, seed, rows, bytes); an existing file is reused only if
// its marker matches, so an interrupted run never leaves a truncated file that looks finished.
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { once } from "node:events";

/** Bump when the rows change, so existing files are regenerated. */
const VERSION = 2;
const SEED = 20261124;

export const CSV_HEADER = "user_id,first_name,last_name,email,phone,avatar";

/** mulberry32: small, seeded, the same on every machine and Node version. */
function createRng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Export-file realism: commas and quotes inside names (quoted in CSV), accents, CJK, Cyrillic,
// Arabic, Vietnamese, apostrophes and hyphens.
const FIRST = ["Ada", "Alan", "Grace", "José", "Zoë", "李", "Smith, Jr.", "Mary-Jane", "O'Neil", "Łukasz", "Søren", "Chloé", "Анна", "محمد", "Ngọc", 'Dwayne "The Rock"', "Siobhán", "Jürgen"];
const LAST = ["Lovelace", "Turing", "Hopper", "Martínez", "Müller", "王", "Dupont, III", "Nakamura", "Kowalski", "Ødegaard", "Nguyễn", "Ó Briain"];
const DOMAINS = ["example.com", "example.org", "mail.example.net", "exämple.de"];

const q = (s) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/**
 * Row `i`. With `valid`, every row passes every provider's rules and every unique field is unique;
 * otherwise ~1.5% of keys have a space, ~1.5% are longer than 32 bytes and ~1% repeat an earlier key.
 */
export function user(i, r, valid = false) {
  let id = `user${i}`;
  const x = r();
  if (!valid) {
    if (x < 0.015) id = `bad id ${i}`; // a space: not allowed in a ZEGO UserId
    else if (x < 0.03) id = `id-${"x".repeat(40)}-${i}`; // over ZEGO's 32 bytes
    else if (x < 0.04 && i > 10) id = `user${Math.floor(r() * i)}`; // repeats an earlier key
  }
  const first = FIRST[Math.floor(r() * FIRST.length)];
  const last = `${LAST[Math.floor(r() * LAST.length)]} ${i}`;
  const domain = valid ? "example.com" : DOMAINS[Math.floor(r() * DOMAINS.length)];
  // Unique for up to 8M rows: area code from i / 10000, line number from i % 10000.
  const area = 201 + (Math.floor(i / 10000) % 799);
  const line = String(i % 10000).padStart(4, "0");
  // Exports mix formats; the valid files use E.164, which every provider accepts as it is.
  const phone = valid ? `+1${area}555${line}` : r() < 0.5 ? `+1 ${area} 555 ${line}` : `(${area}) 555-${line}`;
  return { id, first, last, email: `u${i}@${domain}`, phone, avatar: `https://example.com/a/${i}.png` };
}

/** Path of the file for `rows` rows; generates it unless an identical one is already there. */
export async function generate(dir, rows, format, { valid = false } = {}) {
  const file = `${dir}/${valid ? "valid" : "users"}-${rows}.${format}`;
  const marker = `${file}.meta.json`;
  const want = { version: VERSION, seed: SEED, rows, format, valid };
  if (existsSync(file) && existsSync(marker)) {
    try {
      const m = JSON.parse(readFileSync(marker, "utf8"));
      if (Object.entries(want).every(([k, v]) => m[k] === v) && m.bytes === statSync(file).size) return file;
    } catch {
      /* regenerate */
    }
  }
  mkdirSync(dir, { recursive: true });
  const t = performance.now();
  const tmp = `${file}.tmp`;
  const out = createWriteStream(tmp);
  const r = createRng(SEED);
  let buf = format === "csv" ? `${CSV_HEADER}\n` : "";
  for (let i = 0; i < rows; i++) {
    const u = user(i, r, valid);
    buf +=
      format === "csv"
        ? `${q(u.id)},${q(u.first)},${q(u.last)},${u.email},${u.phone},${u.avatar}\n`
        : `${JSON.stringify({ user_id: u.id, name: { first: u.first, last: u.last }, email: u.email, phone: u.phone, avatar: u.avatar })}\n`;
    if (buf.length > 1 << 16) {
      if (!out.write(buf)) await once(out, "drain");
      buf = "";
    }
  }
  out.end(buf);
  await once(out, "finish");
  renameSync(tmp, file);
  writeFileSync(marker, `${JSON.stringify({ ...want, bytes: statSync(file).size })}\n`);
  if (rows >= 100_000) console.error(`  generated ${file} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return file;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [rows, format] = process.argv.slice(2).filter((a) => !a.startsWith("--"));
  const valid = process.argv.includes("--valid");
  const jobs = rows ? [[Number(rows), format ?? "csv"]] : [10_000, 100_000, 1_000_000].flatMap((n) => [[n, "csv"], [n, "jsonl"]]);
  for (const [n, f] of jobs) console.log(await generate("bench/data", n, f, { valid }));
}
