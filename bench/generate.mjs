// Deterministic generator of realistic user files for the benchmarks (CSV and JSONL):
// quoted names with commas, non-ASCII names, ~3% invalid rows, ~1% duplicate keys.
import { createWriteStream, existsSync, mkdirSync, statSync } from "node:fs";
import { once } from "node:events";
import { createRng as rng } from "../dist/emulators/_base.js";

const FIRST = ["Ada", "Alan", "Grace", "José", "Zoë", "李", "Smith, Jr.", "Mary-Jane", "O'Neil", "Łukasz", "Søren", "Chloé", "Анна", "محمد", "Ngọc"];
const LAST = ["Lovelace", "Turing", "Hopper", "Martínez", "Müller", "王", "Dupont, III", "Nakamura", "Kowalski", "Ødegaard"];


const q = (s) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** Row i: a user, sometimes invalid (bad id), sometimes repeating an earlier key. */
export function user(i, r) {
  let id = `user${i}`;
  const x = r();
  if (x < 0.015) id = `bad id ${i}`; // a space: invalid for every provider key rule used here
  else if (x < 0.03) id = `id-${"x".repeat(40)}-${i}`; // too long for ZEGO
  else if (x < 0.04 && i > 10) id = `user${Math.floor(r() * i)}`; // a duplicate key
  const first = FIRST[Math.floor(r() * FIRST.length)];
  const last = `${LAST[Math.floor(r() * LAST.length)]} ${i}`;
  return { id, first, last, email: `u${i}@example.com`, phone: `+1 202 555 ${String(i % 10000).padStart(4, "0")}`, avatar: `https://example.com/a/${i}.png` };
}

export async function generate(dir, rows, format) {
  const file = `${dir}/users-${rows}.${format}`;
  if (existsSync(file) && statSync(file).size > rows * 40) return file;
  mkdirSync(dir, { recursive: true });
  const out = createWriteStream(file);
  const r = rng(20261124);
  if (format === "csv") out.write("user_id,first_name,last_name,email,phone,avatar\n");
  let buf = "";
  for (let i = 0; i < rows; i++) {
    const u = user(i, r);
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
  return file;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = Number(process.argv[2] ?? 10000);
  console.log(await generate("bench/data", rows, process.argv[3] ?? "csv"));
}
