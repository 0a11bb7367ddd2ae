// CPU profile of the dry run, summarised: `node bench/profile.mjs [rows=1000000] [csv|jsonl]`, or
// `node bench/profile.mjs --summary FILE.cpuprofile` for a profile made elsewhere. Runs
// `node --cpu-prof bin/bulk-users.js validate …` on the generated file (build first) and prints the
// functions with the most self time, then self time per source file. Profiles go to bench/data/.
// PROFILE_ARGS adds flags to the run, e.g. PROFILE_ARGS="--parse-thread off".
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { generate } from "./generate.mjs";

/** Self time per function and per file from a .cpuprofile (V8 CPU profile JSON). */
export function summarise(profile, top = 15) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  // samples[i] was taken timeDeltas[i+1] before the next one: charge each interval to its node.
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
  }
  const cwd = process.cwd();
  const where = (cf) => {
    if (!cf.url) return "(native)";
    const path = cf.url.startsWith("file://") ? relative(cwd, new URL(cf.url).pathname) : cf.url;
    return `${path}:${cf.lineNumber + 1}`;
  };
  const fns = new Map();
  const files = new Map();
  let total = 0;
  for (const [id, us] of self) {
    const cf = byId.get(id).callFrame;
    total += us;
    const name = `${cf.functionName || "(anonymous)"}  ${where(cf)}`;
    fns.set(name, (fns.get(name) ?? 0) + us);
    const file = cf.url ? where(cf).replace(/:\d+$/, "").replace(/^node_modules\/([^/]+)\/.*/, "node_modules/$1") : cf.functionName || "(native)";
    files.set(file, (files.get(file) ?? 0) + us);
  }
  const rows = (m, n) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, us]) => ({ name, ms: Math.round(us / 1000), pct: Math.round((us / total) * 1000) / 10 }));
  return { totalMs: Math.round(total / 1000), functions: rows(fns, top), files: rows(files, 12) };
}

function print({ totalMs, functions, files }) {
  console.log(`total sampled: ${totalMs} ms\n\n  self ms      %  function (top ${functions.length} by self time)`);
  for (const f of functions) console.log(`${String(f.ms).padStart(9)} ${f.pct.toFixed(1).padStart(6)}  ${f.name}`);
  console.log(`\n  self ms      %  file or category`);
  for (const f of files) console.log(`${String(f.ms).padStart(9)} ${f.pct.toFixed(1).padStart(6)}  ${f.name}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  if (args[0] === "--summary") {
    print(summarise(JSON.parse(readFileSync(args[1], "utf8"))));
  } else {
    const rows = Number(args[0] ?? 1_000_000);
    const format = args[1] ?? "csv";
    const file = await generate("bench/data", rows, format);
    const dir = "bench/data/profile";
    rmSync(dir, { recursive: true, force: true });
    const t = performance.now();
    const r = spawnSync(
      "node",
      ["--cpu-prof", `--cpu-prof-dir=${dir}`, "bin/bulk-users.js", "validate", file, ...(process.env.PROFILE_ARGS?.split(" ") ?? []), "-p", "zego", "-m", `bench/zego.${format}.mapping.yaml`, "--report", "bench/data/profile-report.jsonl", "--no-progress", "--json"],
      { encoding: "utf8", maxBuffer: 1 << 26 },
    );
    if (r.status !== 0 && r.status !== 1) throw new Error(`validate exited ${r.status}: ${r.stderr.slice(-500)}`);
    const prof = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
    console.log(`validate ${rows.toLocaleString("en")} ${format} rows with --cpu-prof: ${((performance.now() - t) / 1000).toFixed(2)} s wall, profile ${join(dir, prof)}`);
    print(summarise(JSON.parse(readFileSync(join(dir, prof), "utf8"))));
  }
}
