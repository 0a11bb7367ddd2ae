import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createZegoEmulator } from "../../src/emulators/zego.js";
import type { Emulator } from "../../src/emulators/_base.js";
import { csv, readReport, runCli, tmp, write } from "../helpers.js";

const env = { ZEGO_APP_ID: "779", ZEGO_SERVER_SECRET: "report-secret-report-secret-0001" };
/** Allowed in a ZEGO UserId (so the emulator creates it), and hostile in HTML. */
const HOSTILE = "<script>alert(1)<script>";

describe("bulk-users report", () => {
  const dir = tmp("bu-report-");
  let emu: Emulator;
  beforeAll(async () => {
    emu = createZegoEmulator({ env });
    await emu.listen(0);
  });
  afterAll(() => emu.close());

  // 12 good rows, a hostile id twice (created, then a DUPLICATE whose message quotes it),
  // a formula-like id twice, and 7 ids ZEGO refuses (more than the 5 examples a code shows).
  const rows = [
    ...Array.from({ length: 12 }, (_, i) => [`r${i}`, `R ${i}`]),
    [HOSTILE, "x"],
    [HOSTILE, "y"],
    ["=1+1", "f"],
    ["=1+1", "g"],
    ...Array.from({ length: 7 }, (_, i) => [`bad id ${i}`, "z"]),
  ];
  const input = write(dir, "u.csv", csv(["user_id", "name"], rows));

  it("summarises an import's report, with the run's facts from <report>.meta.json", async () => {
    const imp = await runCli(["import", input, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/r.jsonl`], { env });
    expect(imp.code).toBe(1);
    const created = readReport(`${dir}/r.jsonl`).filter((r) => r.status === "created");
    expect(created).toHaveLength(14);
    expect(created.every((r) => typeof r.t === "number")).toBe(true);
    const r = await runCli(["report", `${dir}/r.jsonl`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/r\.jsonl: 23 row\(s\)\n {2}created 14, invalid 7, duplicate 2\n/);
    expect(r.stdout).toMatch(/provider zego · to http:\/\/127\.0\.0\.1:\d+\/ · started \d{4}-\d\d-\d\dT.* · \d+\.\d s · \d+ request\(s\), 0 retries, 0 throttled, [\d.]+ users\/s/);
    expect(r.stdout).toMatch(/BAD_CHARACTERS ×7:\n {4}.*u\.csv:18 \(bad id 0\): UserId may hold only/);
    expect(r.stdout).toMatch(/DUPLICATE ×2:/);

    const j = JSON.parse((await runCli(["report", `${dir}/r.jsonl`, "--json"])).stdout);
    expect(j.counts).toEqual({ created: 14, invalid: 7, duplicate: 2 });
    expect(j.errors.map((e: { code: string; count: number }) => [e.code, e.count])).toEqual([["BAD_CHARACTERS", 7], ["DUPLICATE", 2]]);
    expect(j.errors[0].examples).toHaveLength(5);
    expect(j.run).toMatchObject({ provider: "zego", endpoint: `${emu.url}/`, summary: { counts: { created: 14 }, dryRun: false } });
    expect(j.timedRows).toBe(14);
    expect(j.attempts).toEqual({ 1: 14 });
  });

  it("--html writes one self-contained page that escapes every row", async () => {
    const r = await runCli(["report", `${dir}/r.jsonl`, "--html", `${dir}/r.html`]);
    expect(r.stdout).toMatch(/html: .*r\.html/);
    const html = readFileSync(`${dir}/r.html`, "utf8");
    expect(html).toMatch(/<b>14<\/b><span>created<\/span>/);
    expect(html).toMatch(/<b>7<\/b><span>invalid<\/span>/);
    expect(html).toMatch(/<b>23<\/b><span>total<\/span>/);
    expect(html).toMatch(/<h3><code>BAD_CHARACTERS<\/code> — 7 row\(s\)<\/h3>/);
    expect(html).toContain("… and 2 more row(s) with this code");
    // The hostile id, in the key cell and quoted in the DUPLICATE message, never as markup.
    expect(html).toContain("<td>&lt;script&gt;alert(1)&lt;script&gt;</td>");
    expect(html).toContain("UserId `&lt;script&gt;alert(1)&lt;script&gt;` already appears");
    expect(html).not.toContain(HOSTILE);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|src=|href=|url\(|@import/i);
    expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src 'none'/);
    expect(html).toMatch(/<svg id="chart" role="img" aria-label="users answered and retries per second/);
    expect(html).toMatch(/<dt>provider<\/dt><dd>zego<\/dd>/);
    expect(html).toMatch(/<dt>requests<\/dt><dd>\d+<\/dd>/);
  });

  it("reads CSV reports too, undoing the formula guard for display", async () => {
    await runCli(["import", input, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/r.csv`, "--force"], { env });
    expect(readFileSync(`${dir}/r.csv`, "utf8")).toContain("'=1+1");
    const j = JSON.parse((await runCli(["report", `${dir}/r.csv`, "--json"])).stdout);
    expect(j.counts).toEqual({ exists: 14, invalid: 7, duplicate: 2 });
    const dup = j.errors.find((e: { code: string }) => e.code === "DUPLICATE");
    expect(dup.examples.map((x: { key: string }) => x.key)).toEqual([HOSTILE, "=1+1"]);
    expect(dup.examples[0]).toMatchObject({ line: 15, status: "duplicate" });
    await runCli(["report", `${dir}/r.csv`, "--html", `${dir}/csv.html`]);
    const html = readFileSync(`${dir}/csv.html`, "utf8");
    expect(html).toContain("<td>=1+1</td>");
    expect(html).not.toContain(HOSTILE);
  });

  it("reads a report by what it holds, not by its name: a renamed report counts the same", async () => {
    const asJsonl = JSON.parse((await runCli(["report", `${dir}/r.jsonl`, "--json"])).stdout);
    const asCsv = JSON.parse((await runCli(["report", `${dir}/r.csv`, "--json"])).stdout);
    writeFileSync(`${dir}/jsonl-named.csv`, readFileSync(`${dir}/r.jsonl`));
    writeFileSync(`${dir}/csv-named.jsonl`, readFileSync(`${dir}/r.csv`));
    const renamedJsonl = JSON.parse((await runCli(["report", `${dir}/jsonl-named.csv`, "--json"])).stdout);
    const renamedCsv = JSON.parse((await runCli(["report", `${dir}/csv-named.jsonl`, "--json"])).stdout);
    expect(renamedJsonl.unreadable).toBe(0);
    expect(renamedJsonl.counts).toEqual(asJsonl.counts);
    expect(renamedCsv.unreadable).toBe(0);
    expect(renamedCsv.counts).toEqual(asCsv.counts);
  });

  it("without per-row times (t) it charts attempts per row instead, and says so", async () => {
    const noT = readReport(`${dir}/r.jsonl`).map(({ t: _t, ...row }, i) => (row.status === "created" ? { ...row, attempts: i % 4 === 0 ? 3 : 1 } : row));
    writeFileSync(`${dir}/old.jsonl`, `${noT.map((x) => JSON.stringify(x)).join("\n")}\n`);
    const r = await runCli(["report", `${dir}/old.jsonl`, "--html", `${dir}/old.html`]);
    expect(r.stdout).toMatch(/no per-row times \(t\) in this report; attempts per row: 1× \d+, 3× \d+/);
    expect(r.stdout).not.toMatch(/provider zego/); // no meta.json beside this one
    const html = readFileSync(`${dir}/old.html`, "utf8");
    expect(html).toContain("This report has no per-row time (<code>t</code>)");
    expect(html).toMatch(/<svg id="chart" role="img" aria-label="rows per number of attempts"/);
    expect(html).toMatch(/<title>\d+ row\(s\) took 3 request\(s\)<\/title>/);
  });

  it("a dry run's report has no chart; a long run's chart is grouped into at most 240 bars", async () => {
    await runCli(["validate", input, "-p", "zego", "--report", `${dir}/v.jsonl`]);
    await runCli(["report", `${dir}/v.jsonl`, "--html", `${dir}/v.html`]);
    expect(readFileSync(`${dir}/v.html`, "utf8")).toContain("Nothing in this report was sent");

    // Two hours of answers, one row every 2 s, retries in the second hour.
    const long = Array.from({ length: 3600 }, (_, i) => ({ file: "u.csv", line: i + 2, key: `k${i}`, status: i % 100 === 0 ? "failed" : "created", attempts: i > 1800 && i % 10 === 0 ? 2 : 1, t: i * 2000 }));
    writeFileSync(`${dir}/long.jsonl`, `${long.map((x) => JSON.stringify(x)).join("\n")}\n{"file":"u.csv","line":9`);
    const r = await runCli(["report", `${dir}/long.jsonl`, "--html", `${dir}/long.html`, "--json"]);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ rows: 3600, unreadable: 1, seconds: 7199, counts: { created: 3564, failed: 36 } });
    const html = readFileSync(`${dir}/long.html`, "utf8");
    const bars = html.match(/<g><title>seconds \d+–\d+:/g) ?? [];
    expect(bars.length).toBeGreaterThan(200);
    expect(bars.length).toBeLessThanOrEqual(240);
    expect(html).toContain("Each bar is 30 seconds (averaged)");
    expect(html).toContain("retries/s (right scale)");
    expect(html).toContain("120 min</text>");
    expect(html).toContain("1 unreadable line(s) skipped");
  });

  it("a hand-made report with markup in every field stays text", async () => {
    const evil = { file: '"><img src=x onerror=alert(1)>', line: 2, key: "</td></tr></table><iframe>", status: "failed", code: "<b onmouseover=x>", message: "</style><script>alert(2)</script>", field: "'x'" };
    writeFileSync(`${dir}/evil.jsonl`, `${JSON.stringify(evil)}\n`);
    const r = await runCli(["report", `${dir}/evil.jsonl`, "--html", `${dir}/evil.html`]);
    expect(r.code).toBe(0);
    const html = readFileSync(`${dir}/evil.html`, "utf8");
    expect(html).not.toMatch(/<(img|iframe|script|b )/i);
    expect(html).toContain("&lt;/style&gt;&lt;script&gt;alert(2)&lt;/script&gt;");
    expect(html).toContain("<h3><code>&lt;b onmouseover=x&gt;</code> — 1 row(s)</h3>");
    expect(html).toContain("<td class=\"n\">&#39;x&#39;</td>");
  });

  it("a missing report, or an HTML path that cannot be written, is a usage error", async () => {
    const r = await runCli(["report", `${dir}/nope.jsonl`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Report not found: .*nope\.jsonl/);
    const w = await runCli(["report", `${dir}/r.jsonl`, "--html", `${dir}/no/such/dir/r.html`]);
    expect(w.code).toBe(2);
    expect(w.stderr).toMatch(/error: Cannot write the HTML page .*r\.html: ENOENT/);
    expect(w.stderr).not.toMatch(/unexpected failure/);
  });
});
