// bulk-users benchmarks: `npm run bench` (full: 1M rows, 50,000 users per provider) or
// `npm run bench -- --quick` (100k rows, 10,000 users). Each figure is a ratio measured side by
// side in this one run; the table is printed and written to bench/results.json.
import { spawn, spawnSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { writeFileSync, mkdirSync } from "node:fs";
import { generate } from "./generate.mjs";
import { emulators } from "../dist/emulators/index.js";
import { providers, providerNames } from "../dist/providers/index.js";

const quick = process.argv.includes("--quick");
const only = process.argv.find((a) => a.startsWith("--only="))?.slice(7);
const BIG = quick ? 100_000 : 1_000_000;
const QUOTA_USERS = quick ? 10_000 : 50_000;
const DATA = "bench/data";
const figures = [];
const log = (...a) => console.error(...a);

function time(cmd, args, env = {}) {
  const t = performance.now();
  const r = spawnSync(cmd, args, { encoding: "utf8", env: { ...process.env, NO_COLOR: "1", ...env }, maxBuffer: 1 << 26 });
  const ms = performance.now() - t;
  if (r.status !== 0 && r.status !== 1) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr.slice(-500)}`);
  const rss = Number(/RSS_KB=(\d+)/.exec(r.stderr)?.[1] ?? NaN);
  return { ms, rss, stdout: r.stdout };
}
/** Like time(), without blocking this process (whose emulator must keep answering). */
function timeAsync(cmd, args, env = {}) {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn(cmd, args, { env: { ...process.env, NO_COLOR: "1", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => {
      if (code !== 0 && code !== 1) return reject(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${stderr.slice(-500)}`));
      resolve({ ms: performance.now() - t, rss: Number(/RSS_KB=(\d+)/.exec(stderr)?.[1] ?? NaN), stdout });
    });
  });
}
const best = (n, f) => Array.from({ length: n }, f).sort((a, b) => a.ms - b.ms)[0];
const bare = (kind, file) => JSON.parse(time("node", ["bench/bare.mjs", kind, file]).stdout).ms;
const add = (figure, target, measured, ratio, pass) => {
  figures.push({ figure, target, measured, ratio: Math.round(ratio * 1000) / 1000, pass });
  log(`${pass ? "PASS" : "MISS"}  ${figure}: ${measured} (${target})`);
};
const cli = (args) => ["bench/rss.mjs", ...args, "--no-progress", "--json"];

async function throughput() {
  for (const format of ["csv", "jsonl"]) {
    const file = await generate(DATA, BIG, format);
    const map = `bench/zego.${format}.mapping.yaml`;
    // Alternate the runs so both see the same machine state; keep each side's best of 3.
    const runs = { tool: [], base: [] };
    for (let i = 0; i < 3; i++) {
      // The tool's own run time (summary.durationMs), like the bare parsers' in-process time.
      runs.tool.push(JSON.parse(time("node", cli(["validate", file, "-p", "zego", "-m", map, "--report", "/tmp/bench-validate.jsonl"])).stdout).durationMs);
      runs.base.push(format === "csv" ? Math.min(bare("csv-stream", file), bare("csv-events", file)) : bare("jsonl", file));
    }
    const tool = Math.min(...runs.tool);
    const base = Math.min(...runs.base);
    const baseName = format === "csv" ? "csv-parse (fastest streaming API)" : "JSON.parse per line";
    add(`validate ${BIG.toLocaleString("en")} ${format} rows vs bare ${baseName}`, "≤ 1.2x", `${(tool / 1000).toFixed(2)} s vs ${(base / 1000).toFixed(2)} s`, tool / base, tool / base <= 1.2);
    if (format === "csv") {
      const sync = bare("csv-sync", file);
      const papa = bare("papaparse", file);
      add(`reference: csv-parse/sync (whole file in memory), papaparse on the same file`, "reference", `${(sync / 1000).toFixed(2)} s, ${(papa / 1000).toFixed(2)} s`, tool / sync, true);
    }
  }
}

async function memory() {
  const small = await generate(DATA, 10_000, "csv");
  const big = await generate(DATA, BIG, "csv");
  const map = "bench/zego.csv.mapping.yaml";
  const dry = (f) => best(2, () => time("node", cli(["validate", f, "-p", "zego", "-m", map, "--report", "/tmp/bench-mem.jsonl"]))).rss;
  const d10k = dry(small);
  const dBig = dry(big);
  add(`dry run peak RSS, 10k vs ${BIG / 1000}k rows`, "< 120 MB and ≤ 1.3x", `${(d10k / 1024).toFixed(0)} MB → ${(dBig / 1024).toFixed(0)} MB`, dBig / d10k, dBig / 1024 < 120 && dBig / d10k <= 1.3);
  // Import memory: the emulator runs in this process with a raised limit so the run is CPU-bound.
  const def = await emulators.zego();
  const env = def.sandboxEnv();
  const emu = def.create({ env, rateLimit: 100_000 });
  await emu.listen(0);
  const imp = async (f) => (await timeAsync("node", cli(["import", f, "-p", "zego", "-m", map, "--endpoint", emu.url, "--rate", "400", "--concurrency", "8", "--report", "/tmp/bench-imp.jsonl"]), env)).rss;
  const i10k = await imp(small);
  const iBig = await imp(big);
  await emu.close();
  add(`import peak RSS, 10k vs ${BIG / 1000}k rows`, "< 120 MB and ≤ 1.3x", `${(i10k / 1024).toFixed(0)} MB → ${(iBig / 1024).toFixed(0)} MB`, iBig / i10k, iBig / 1024 < 120 && iBig / i10k <= 1.3);
}

/** Columns and a mapping per provider for an all-valid quota run. */
const QUOTA_MAPPINGS = {
  zego: "fields:\n  UserId: id\n  UserName: { template: \"{first} {last}\" }\n",
  imkit: "fields:\n  _id: id\n  nickname: { template: \"{first} {last}\" }\n",
  genauth: "fields:\n  email: email\n  username: id\n",
  royalti: "fields:\n  firstName: first\n  lastName: last\n  email: email\noptions:\n  sendEmail: false\n",
  "huawei-workspace": "fields:\n  user_name: id\n  user_email: email\n",
};

async function quota() {
  mkdirSync(DATA, { recursive: true });
  const file = `${DATA}/quota-${QUOTA_USERS}.csv`;
  let text = "id,first,last,email\n";
  for (let i = 0; i < QUOTA_USERS; i++) text += `q${i},Ada,L${i},q${i}@example.com\n`;
  writeFileSync(file, text);
  for (const name of providerNames()) {
    if (only && only !== name) continue;
    const p = await providers[name]();
    const mapping = `${DATA}/quota-${name}.yaml`;
    writeFileSync(mapping, QUOTA_MAPPINGS[name] ?? "");
    const def = await emulators[name]();
    const env = def.sandboxEnv();
    const emu = def.create({ env, latencyMs: 30 });
    await emu.listen(0);
    const q = (p.rate.limit * p.maxBatch * 1000) / p.rate.intervalMs;
    log(`  ${name}: ${QUOTA_USERS} users at ≤ ${q} users/s…`);
    const child = spawn("node", ["bin/bulk-users.js", "import", file, "-p", name, "-m", mapping, "--endpoint", emu.url, "--report", `/tmp/bench-quota-${name}.jsonl`, "--json", "--no-progress", "--concurrency", "8"], { env: { ...process.env, ...env } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    await new Promise((r) => child.on("exit", r));
    await emu.close();
    const s = JSON.parse(out);
    const ok = s.counts.created + s.counts.upserted + s.counts.exists;
    const requests = Math.ceil(QUOTA_USERS / p.maxBatch);
    const idealS = ((Math.ceil(requests / p.rate.limit) - 1) * p.rate.intervalMs + 30) / 1000;
    const ideal = QUOTA_USERS / idealS;
    // Target as the issue defines it: achieved ÷ (limit × batch per second). The finite-run ideal
    // (one burst of `limit` at the start, then a window per `limit` requests) is shown beside it.
    const ratio = s.usersPerSecond / q;
    add(`${name}: import ${QUOTA_USERS.toLocaleString("en")} users, emulator latency 30 ms`, "≥ 0.98 of quota, 0 throttled", `${s.usersPerSecond} users/s vs quota ${q}/s (${(s.usersPerSecond / ideal).toFixed(3)} of the finite-run ideal ${Math.round(ideal)}/s), ${emu.stats.throttled} throttled, ${ok} ok`, ratio, ratio >= 0.98 && emu.stats.throttled === 0 && ok === QUOTA_USERS);
  }
}

function startup() {
  mkdirSync(DATA, { recursive: true });
  const tiny = `${DATA}/tiny.csv`;
  writeFileSync(tiny, "user_id,first_name,last_name,email,phone,avatar\n" + Array.from({ length: 10 }, (_, i) => `t${i},A,B,t${i}@x.com,1,https://x/${i}.png\n`).join(""));
  const help = best(5, () => time("node", ["bin/bulk-users.js", "--help"])).ms;
  const val = best(5, () => time("node", ["bin/bulk-users.js", "validate", tiny, "-p", "zego", "--report", "/tmp/bench-tiny.jsonl", "--no-progress"])).ms;
  const nodeOnly = best(5, () => time("node", ["-e", "0"])).ms;
  add("start-up: bulk-users --help", "< 0.2 s", `${(help / 1000).toFixed(3)} s (bare node ${(nodeOnly / 1000).toFixed(3)} s)`, help / 200, help < 200);
  add("start-up: validate a 10-row file", "< 0.2 s", `${(val / 1000).toFixed(3)} s`, val / 200, val < 200);
}

const sections = { startup, throughput, memory, quota };
for (const [name, f] of Object.entries(sections)) {
  if (only && only in sections && only !== name) continue;
  log(`# ${name}`);
  await f();
}
const c = cpus();
const result = { date: new Date().toISOString(), quick, machine: { cpus: c.length, model: c[0]?.model, memGB: Math.round(totalmem() / 2 ** 30), node: process.version }, figures };
if (!only) writeFileSync("bench/results.json", `${JSON.stringify(result, null, 2)}\n`);
console.log("| figure | target | measured | ratio |\n| --- | --- | --- | --- |");
for (const f of figures) console.log(`| ${f.figure} | ${f.target} | ${f.measured} | ${f.ratio}${f.pass ? "" : " (missed)"} |`);
