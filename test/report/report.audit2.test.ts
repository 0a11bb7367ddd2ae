import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ImportSummary } from "../../src/core/import.js";
import { keyHash, loadResumeState, metaPath } from "../../src/core/resume.js";
import { LOST_ANSWER } from "../../src/core/sender.js";
import { readInputs } from "../../src/readers/index.js";
import { createFailedOut } from "../../src/report/failed-out.js";
import { reportHtml } from "../../src/report/html.js";
import { mdCell, summaryMarkdown } from "../../src/report/markdown.js";
import { readReportStats, type ReportStats } from "../../src/report/read.js";
import { Redactor } from "../../src/report/redact.js";
import { reportRows } from "../../src/report/rows.js";
import { createReportWriter, REPORT_COLUMNS } from "../../src/report/writer.js";
import type { ReportRow, SourceRecord } from "../../src/types.js";
import { createZegoEmulator } from "../../src/emulators/zego.js";
import { csv, readReport, runCli, tmp, write } from "../helpers.js";

async function rowsOf(file: string): Promise<(ReportRow | undefined)[]> {
  const out: (ReportRow | undefined)[] = [];
  for await (const r of reportRows(file)) out.push(r);
  return out;
}

function writeReport(file: string, rows: ReportRow[], redactor = new Redactor()): void {
  const w = createReportWriter(file, redactor);
  for (const r of rows) w.write(r);
  w.close();
}

const KNOWN = new Set(["created", "updated", "upserted", "exists", "valid", "invalid", "duplicate", "failed"]);
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

describe("the report format is the one README documents", () => {
  it("the README's columns, in its order, are the CSV header; JSONL fields come in the same order", async () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("\n## Report\n"), readme.indexOf("\n## Failures and resume\n"));
    const table = section.split("\n").filter((l) => /^\| `/.test(l));
    const documented = table.flatMap((l) => [...l.split("|")[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]));
    expect(documented).toEqual([...REPORT_COLUMNS]);
    const statuses = [...table.find((l) => l.startsWith("| `status`"))!.matchAll(/`(\w+)`/g)].map((m) => m[1]).slice(1);
    expect(new Set(statuses)).toEqual(KNOWN);

    const dir = tmp();
    const row: ReportRow = { file: "u.csv", line: 2, key: "k", status: "failed", code: "C", message: "m", field: "f", id: "i", attempts: 3, retryable: true, t: 84 };
    writeReport(join(dir, "r.jsonl"), [row]);
    writeReport(join(dir, "r.csv"), [row]);
    expect(Object.keys(JSON.parse(readFileSync(join(dir, "r.jsonl"), "utf8")))).toEqual([...REPORT_COLUMNS]);
    expect(readFileSync(join(dir, "r.csv"), "utf8")).toBe(`${REPORT_COLUMNS.join(",")}\nu.csv,2,k,failed,C,m,f,i,3,true,84\n`);
  });
});

describe("report writer → reader: values come back exactly", () => {
  const LONG = `${"x".repeat(199_990)}é中😀`;
  const VALUES = ["é中😀", LONG, "a\u2028b\u2029c", "\uFEFFbom", " lead", "trail ", "a;b\tc|d", "#not a comment", '"', 'x"', "'", "-", "\u0007bell"];
  const rowsFor = (values: string[]): ReportRow[] =>
    values.map((v, i) => ({ file: i % 2 ? v : "u.csv", line: i + 2, key: v, status: "failed", code: v, message: v, field: v, id: v, attempts: i, retryable: i % 2 === 0, t: i * 7 }));

  it.each(["r.csv", "r.jsonl"])("non-ASCII, 200,000 characters, U+2028, a BOM character, spaces, quotes (%s)", async (name) => {
    const file = join(tmp(), name);
    const rows = rowsFor(VALUES);
    writeReport(file, rows);
    expect(await rowsOf(file)).toEqual(rows);
  });

  it("a lone surrogate: exact in JSONL; in CSV (UTF-8) it becomes U+FFFD, and its key hash still matches", async () => {
    const dir = tmp();
    const rows = rowsFor(["bad\ud800x", "\udc00"]);
    writeReport(join(dir, "r.jsonl"), rows);
    expect(await rowsOf(join(dir, "r.jsonl"))).toEqual(rows);
    writeReport(join(dir, "r.csv"), rows);
    const back = (await rowsOf(join(dir, "r.csv"))) as ReportRow[];
    expect(back.map((r) => r.key)).toEqual(["bad\ufffdx", "\ufffd"]);
    // What --resume compares a line's user by.
    expect(back.map((r) => keyHash(r.key))).toEqual(rows.map((r) => keyHash(r.key)));
  });

  it("a CSV report a spreadsheet saved again (BOM, CRLF) reads the same, whatever its name", async () => {
    const dir = tmp();
    const rows = rowsFor(["=1+1", "a,b", "é", "plain"]);
    writeReport(join(dir, "r.csv"), rows);
    const saved = `\uFEFF${readFileSync(join(dir, "r.csv"), "utf8").replace(/\n/g, "\r\n")}`;
    for (const name of ["saved.csv", "saved.jsonl"]) {
      writeFileSync(join(dir, name), saved);
      expect(await rowsOf(join(dir, name)), name).toEqual(rows);
    }
  });

  it("a report cut at any byte of its last line (a crash) keeps every earlier row and never reads another user or status", async () => {
    const rows: ReportRow[] = [
      { file: "u.csv", line: 2, key: "a", status: "created", attempts: 1, t: 5 },
      { file: "u.csv", line: 3, key: "b", status: "exists", code: "660700002", message: "exists", attempts: 1, t: 6 },
    ];
    const last: ReportRow = { file: "u.csv", line: 9, key: 'k,"9"', status: "failed", code: "E", message: 'one\ntwo, "é中"\r\nu.csv,10,k10,created', attempts: 2, retryable: true, t: 1234 };
    for (const ext of ["csv", "jsonl"]) {
      const dir = tmp();
      writeReport(join(dir, `a.${ext}`), rows);
      writeReport(join(dir, `b.${ext}`), [...rows, last]);
      const start = readFileSync(join(dir, `a.${ext}`)).length;
      const full = readFileSync(join(dir, `b.${ext}`));
      for (let cut = start + 1; cut < full.length - 1; cut++) {
        const f = join(dir, `cut.${ext}`);
        writeFileSync(f, full.subarray(0, cut));
        const back = await rowsOf(f);
        expect(back.slice(0, 2), `${ext} cut at ${cut}`).toEqual(rows);
        expect(back.length, `${ext} cut at ${cut}`).toBeLessThanOrEqual(3);
        const torn = back[2];
        if (ext === "jsonl") expect(torn, `cut at ${cut}`).toBeUndefined();
        else if (torn && KNOWN.has(torn.status)) expect({ file: torn.file, line: torn.line, key: torn.key, status: torn.status }, `cut at ${cut}`).toEqual({ file: last.file, line: last.line, key: last.key, status: last.status });
        const stats = await readReportStats(f);
        expect(stats.rows + stats.unreadable, `${ext} cut at ${cut}`).toBe(3);
        expect(stats.counts.created).toBe(1);
      }
    }
  });

  it("local outcomes past 64 KiB reach the file before the run ends, as whole lines", () => {
    const file = join(tmp(), "r.jsonl");
    const w = createReportWriter(file, new Redactor());
    for (let i = 0; i < 80; i++) w.write({ file: "u.csv", line: i + 2, key: `k${i}`, status: "invalid", code: "E", message: "m".repeat(1000) });
    const early = readFileSync(file, "utf8");
    expect(early.length).toBeGreaterThan(0);
    expect(early.endsWith("\n")).toBe(true);
    w.close();
    expect(readReport(file)).toHaveLength(80);
  });

  it("keys and ids are masked only where a secret is whole: a key's last characters are not taken for a cut-off secret", () => {
    const r = new Redactor();
    r.add("RWAK-0123456789abcdef");
    const file = join(tmp(), "r.jsonl");
    writeReport(file, [{ file: "u.csv", line: 2, key: "ada-RWAK", status: "created", id: "id-RWAK-01", message: "bad RWAK-01" }], r);
    expect(readReport(file)).toEqual([{ file: "u.csv", line: 2, key: "ada-RWAK", status: "created", id: "id-RWAK-01", message: "bad ***" }]);
  });
});

describe("hostile reports: `report` and --resume", () => {
  const good = { file: "u.csv", line: 2, key: "a", status: "created", attempts: 1, t: 5 };
  const odd = [
    { ...good, line: 3, key: 12 },
    { ...good, line: 4, status: "failed", code: "E", message: { toString: 1 } },
    { ...good, line: 5, file: 5 },
    { ...good, line: 6, attempts: "x y" },
    { ...good, line: 7, status: "failed", code: { x: 1 } },
    { ...good, line: "8" },
    { ...good, line: 9, retryable: "no" },
  ];

  it("rows whose fields have types the writer never writes are shown as text, not a crash (text, --html, --json)", async () => {
    const dir = tmp();
    const f = write(dir, "r.jsonl", `${[good, ...odd].map((x) => JSON.stringify(x)).join("\n")}\n`);
    const text = await runCli(["report", f]);
    expect(text.stderr).not.toMatch(/unexpected failure/);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/: 8 row\(s\)\n {2}created 6, failed 2\n/);
    expect(text.stdout).toContain('u.csv:4 (a): {"toString":1}');
    expect(text.stdout).toContain('{"x":1} ×1:');
    const html = await runCli(["report", f, "--html", join(dir, "r.html"), "--json"]);
    expect(html.stderr).toBe("");
    expect(html.code).toBe(0);
    const j = JSON.parse(html.stdout);
    expect(j).toMatchObject({ rows: 8, unreadable: 0 });
    expect(j.errors.map((e: { code: string }) => e.code).sort()).toEqual(["E", '{"x":1}']);
    expect(readFileSync(join(dir, "r.html"), "utf8")).toContain("<td>{&quot;toString&quot;:1}</td>");
    // No file or key at all, a key that is a list: still one line each, as text.
    const bare = write(dir, "bare.jsonl", '{"status":"failed","code":"E","message":"m"}\n{"file":"u.csv","line":null,"key":["k"],"status":"invalid"}\n');
    const b = await runCli(["report", bare]);
    expect(b.code).toBe(0);
    expect(b.stdout).toContain("  E ×1:\n    :: m\n  invalid ×1:\n    u.csv:null ([\"k\"]): invalid\n");
  });

  it("--resume does not carry rows of types the writer never writes, from JSONL or CSV", async () => {
    const dir = tmp();
    const meta = { version: 1 as const, provider: "zego", inputs: [{ file: "u.csv", sha256: "x", size: 1 }], mapping: { source: "m", sha256: "y" }, startedAt: "2024-01-01T00:00:00Z" };
    const j = write(dir, "r.jsonl", `${[good, ...odd].map((x) => JSON.stringify(x)).join("\n")}\n`);
    const carried: ReportRow[] = [];
    const s = await loadResumeState(j, meta, meta, (row) => carried.push(row));
    expect(s).toMatchObject({ carried: 1, unreadable: odd.length });
    expect(carried).toEqual([{ file: "u.csv", line: 2, key: "a", status: "created", attempts: 1 }]);
    const c = write(dir, "r.csv", `${REPORT_COLUMNS.join(",")}\nu.csv,2,a,created,,,,,1,,5\nu.csv,x,b,created,,,,,1,,5\nu.csv,4,c,created,,,,,one,,5\n`);
    const fromCsv: ReportRow[] = [];
    expect(await loadResumeState(c, meta, meta, (row) => fromCsv.push(row))).toMatchObject({ carried: 1, unreadable: 2 });
    expect(fromCsv.map((r) => r.key)).toEqual(["a"]);
  });

  it("--resume over a hand-edited report sends its odd rows again and writes a report of whole JSON lines", async () => {
    const dir = tmp("bu-odd-");
    const f = write(dir, "u.csv", csv(["user_id", "name"], [["u1", "A"], ["u2", "B"], ["u3", "C"]]));
    expect((await runCli(["import", f, "-p", "zego", "--sandbox", "--report", join(dir, "r1.jsonl")])).code).toBe(0);
    const lines = readFileSync(join(dir, "r1.jsonl"), "utf8").split("\n");
    lines[0] = lines[0]!.replace('"key":"u1"', '"key":1');
    lines[1] = lines[1]!.replace(/"attempts":\d+/, '"attempts":"x y"');
    writeFileSync(join(dir, "r1.jsonl"), lines.join("\n"));
    const r = await runCli(["import", f, "-p", "zego", "--sandbox", "--report", join(dir, "r2.jsonl"), "--resume", join(dir, "r1.jsonl")]);
    expect(r.stderr).not.toMatch(/unexpected failure/);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/2 unreadable line\(s\) in .*r1\.jsonl ignored/);
    const again = readReport(join(dir, "r2.jsonl"));
    expect(again.map((x) => [x.line, x.key, x.status]).sort()).toEqual([
      [2, "u1", "created"],
      [3, "u2", "created"],
      [4, "u3", "created"],
    ]);
  });

  it("the meta file's counts reach the terminal only as numbers (a string there could hold an escape)", async () => {
    const dir = tmp();
    const f = write(dir, "r.jsonl", `${JSON.stringify(good)}\n`);
    const esc = "\u001b]0;pwned\u0007\u001b[2J";
    writeFileSync(metaPath(f), JSON.stringify({ provider: "zego", summary: { durationMs: 5, dryRun: false, requests: 1, retries: esc, throttled: esc, usersPerSecond: esc } }));
    const r = await runCli(["report", f]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("1 request(s), 0 retries, 0 throttled, 0 users/s");
    expect(r.stdout).not.toMatch(CONTROL);
  });
});

describe("bulk-users report: the text summary", () => {
  it("ten codes with three examples each, the rest counted; a run without its final summary says so; --json names the page", async () => {
    const dir = tmp();
    const rows = Array.from({ length: 48 }, (_, i) => ({ file: "u.csv", line: i + 2, key: `k${i}`, status: "failed", code: `E${String(i % 12).padStart(2, "0")}`, message: `m${i}`, attempts: 1, t: i * 10 }));
    const f = write(dir, "r.jsonl", `${rows.map((x) => JSON.stringify(x)).join("\n")}\n`);
    writeFileSync(metaPath(f), JSON.stringify({ provider: "zego", startedAt: "2024-01-01T00:00:00Z" }));
    const r = await runCli(["report", f, "--html", join(dir, "r.html")]);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^ {2}E\d\d ×4:$/gm)).toHaveLength(10);
    expect(r.stdout.match(/^ {4}u\.csv:\d+ \(k\d+\): m\d+$/gm)).toHaveLength(30);
    expect(r.stdout).toContain("  … 2 more error code(s) (all in the HTML page)");
    expect(r.stdout).toContain("provider zego · started 2024-01-01T00:00:00Z · no final summary (the run did not finish)");
    expect(r.stdout).not.toContain("no per-row times");
    const j = JSON.parse((await runCli(["report", f, "--json", "--html", join(dir, "r2.html")])).stdout);
    expect(j).toMatchObject({ rows: 48, html: join(dir, "r2.html"), run: { provider: "zego" } });
    expect(j.errors).toHaveLength(12);
  });
});

describe("--resume and --max-errors over a CSV report", () => {
  it("an invalid row whose key holds a lone surrogate is the same user when met again: the resume goes on", async () => {
    const dir = tmp("bu-surr-");
    const f = write(dir, "u.jsonl", '{"user_id":"bad\\ud800x"}\n{"user_id":"ok1"}\n{"user_id":"ok2"}\n');
    const first = await runCli(["import", f, "-p", "zego", "--sandbox", "--report", join(dir, "r1.csv"), "--max-errors", "1"]);
    expect(first.code).toBe(3);
    const again = await runCli(["import", f, "-p", "zego", "--sandbox", "--report", join(dir, "r2.csv"), "--resume", join(dir, "r1.csv"), "--max-errors", "1"]);
    expect(again.stderr).not.toMatch(/Stopping: /);
    expect(again.code).toBe(1);
    const stats = await readReportStats(join(dir, "r2.csv"));
    expect(stats.counts).toEqual({ created: 2, invalid: 1 });
  });
});

describe("a secret the vendor cut short, in a message the tool adds to", () => {
  const TOKEN = "RWAK-audit2-0123456789abcdefghijkl";

  it("is masked in the report, the summaries and the output when an unanswered attempt's doubt follows it", async () => {
    let n = 0;
    const server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        // The first attempt gets no answer (the client times out); later ones a 503 whose
        // message ends in the bearer token, cut short by the vendor.
        if (++n === 1) return;
        res.statusCode = 503;
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ message: `upstream refused ${String(req.headers.authorization).slice(0, 24)}` }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const dir = tmp("bu-cut-");
      const f = write(dir, "u.csv", csv(["firstName", "lastName", "email"], [["Ada", "L", "ada@x.io"]]));
      const argv = ["import", f, "-p", "royalti", "--no-send-email", "--endpoint", url, "--retries", "2", "--timeout", "1000", "--summary", join(dir, "s.md")];
      const r = await runCli([...argv, "--report", join(dir, "r.jsonl")], { env: { ROYALTI_TOKEN: TOKEN } });
      expect(r.code).toBe(1);
      const [row] = readReport(join(dir, "r.jsonl"));
      expect(row).toMatchObject({ status: "failed", code: "HTTP_503", retryable: true, attempts: 3 });
      expect(row!.message).toMatch(/^gave up after 3 attempts: upstream refused Bearer \*\*\*; an attempt got no answer/);
      const all = [r.stdout, r.stderr, readFileSync(join(dir, "r.jsonl"), "utf8"), readFileSync(join(dir, "s.md"), "utf8"), readFileSync(metaPath(join(dir, "r.jsonl")), "utf8")].join("\n");
      expect(all).not.toContain(TOKEN.slice(0, 6));
    } finally {
      server.closeAllConnections();
      server.close();
    }
  }, 30_000);
});

describe("a secret the vendor cut short, in an `exists` answer after an unanswered attempt", () => {
  const SECRET = "zego-audit2-secret-0123456789abc";

  it("is masked before the lost answer's note is added to the message", async () => {
    let n = 0;
    const server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        if (++n === 1) return;
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ Code: 660700002, Message: `user exists, signed with ${SECRET.slice(0, 14)}` }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const dir = tmp("bu-cut2-");
      const f = write(dir, "u.csv", csv(["user_id"], [["u1"]]));
      const r = await runCli(["import", f, "-p", "zego", "--endpoint", url, "--retries", "2", "--timeout", "1000", "--report", join(dir, "r.jsonl")], { env: { ZEGO_APP_ID: "1", ZEGO_SERVER_SECRET: SECRET } });
      expect(r.code).toBe(0);
      const [row] = readReport(join(dir, "r.jsonl"));
      expect(row).toMatchObject({ status: "exists", code: "660700002", message: `user exists, signed with ***; ${LOST_ANSWER}` });
      expect([r.stdout, r.stderr, readFileSync(join(dir, "r.jsonl"), "utf8")].join("\n")).not.toContain(SECRET.slice(0, 6));
    } finally {
      server.closeAllConnections();
      server.close();
    }
  }, 30_000);
});

describe("a secret the vendor cut short, before the note an adapter adds", () => {
  const SECRET = "zego-audit2-note-0123456789abcde";

  it("ZEGO's `(user not in ErrorList)`: masked in the report after the retries", async () => {
    const server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ Code: 660000002, Message: `refused, key ${SECRET.slice(0, 14)}`, ErrorList: [{ UserId: "someone-else", SubCode: 660000002 }] }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const dir = tmp("bu-note-");
      const f = write(dir, "u.csv", csv(["user_id"], [["u1"]]));
      const r = await runCli(["import", f, "-p", "zego", "--endpoint", url, "--retries", "1", "--report", join(dir, "r.jsonl"), "--summary", join(dir, "s.md")], { env: { ZEGO_APP_ID: "1", ZEGO_SERVER_SECRET: SECRET } });
      expect(r.code).toBe(1);
      expect(readReport(join(dir, "r.jsonl"))).toEqual([expect.objectContaining({ status: "failed", message: "gave up after 2 attempts: refused, key *** (user not in ErrorList)" })]);
      expect([r.stdout, r.stderr, readFileSync(join(dir, "r.jsonl"), "utf8"), readFileSync(join(dir, "s.md"), "utf8")].join("\n")).not.toContain(SECRET.slice(0, 6));
    } finally {
      server.closeAllConnections();
      server.close();
    }
  }, 30_000);

  it("an endpoint hint after the vendor's text; a note is only a last parenthesis, and keys are never cut", () => {
    const r = new Redactor();
    r.add("RWAK-0123456789abcdef");
    expect(r.redact("Not Found: Bearer RWAK-0123 (check ROYALTI_BASE_URL / --endpoint)")).toBe("Not Found: Bearer *** (check ROYALTI_BASE_URL / --endpoint)");
    expect(r.redact("Bearer RWAK-0123 (a) and more")).toBe("Bearer RWAK-0123 (a) and more");
    expect(r.redact("Bearer RWAK-0123 (a)", false)).toBe("Bearer RWAK-0123 (a)");
    // No last note: only the very end counts.
    expect(r.redact("RWAK-01 (RWAK-0123")).toBe("RWAK-01 (***");
    expect(r.redact("x RWAK-01 (note) RWAK-0123")).toBe("x RWAK-01 (note) ***");
  });
});

describe("readReportStats: odd numbers in a report", () => {
  it("a negative t stays off the chart, negative attempts are not counted, a row sent 0 times adds no negative retries, an empty code groups by status", async () => {
    const rows = [
      { file: "u.csv", line: 2, key: "a", status: "created", attempts: 1, t: -5 },
      { file: "u.csv", line: 3, key: "b", status: "created", attempts: -1 },
      { file: "u.csv", line: 4, key: "c", status: "failed", code: "TOKEN_TIMEOUT", attempts: 0, t: 100, retryable: true },
      { file: "u.csv", line: 5, key: "d", status: "invalid", code: "" },
    ];
    const f = write(tmp(), "r.jsonl", `${rows.map((x) => JSON.stringify(x)).join("\n")}\n`);
    const s = await readReportStats(f);
    expect(s.timed).toBe(1);
    expect(s.timeline).toEqual([{ second: 0, ok: 0, failed: 1, retries: 0 }]);
    expect(s.attempts).toEqual({ 0: 1, 1: 1 });
    expect(s.errors.map((e) => e.code).sort()).toEqual(["TOKEN_TIMEOUT", "invalid"]);
  });
});

const summary = (over: Partial<ImportSummary> = {}): ImportSummary => ({
  provider: "zego", dryRun: false, rows: 10, counts: { created: 4, updated: 0, upserted: 0, exists: 0, invalid: 0, duplicate: 0, failed: 0, valid: 0 },
  resumed: 0, otherShards: 0, notSent: 0, requests: 2, retries: 0, throttled: 0, splits: 0, durationMs: 1500, usersPerSecond: 4, topErrors: [], exitCode: 0, ...over,
});

describe("Markdown summary", () => {
  it("a lone CR makes no new table row, and markup becomes entities", () => {
    expect(mdCell("a\rb|<img src=x onerror=alert(1)>")).toBe("a b\\|&lt;img src=x onerror=alert(1)&gt;");
  });

  it("carried-over, other-shard and unsent rows; the resume command; a report path with line breaks stays in its code span", () => {
    const md = summaryMarkdown(summary({ resumed: 3, otherShards: 2, notSent: 1, stopped: "interrupted", exitCode: 3, report: "r\n\n# owned.jsonl" }), "bulk-users import u.csv --resume r.jsonl");
    expect(md).toContain("| carried over (resume) | 3 |\n| **total read** | **10** |\n| other shards (skipped) | 2 |\n| read, not sent (stopped) | 1 |\n");
    expect(md).toContain("⏸️ interrupted");
    expect(md).toContain("Finish with: `bulk-users import u.csv --resume r.jsonl`");
    expect(md).toContain("Report: `r  # owned.jsonl`");
    expect(md).not.toMatch(/\n# owned/);
  });

  it("top errors come most frequent first (validate --json)", async () => {
    const dir = tmp();
    const f = write(dir, "u.csv", "user_id,name\nbad id,a\n,b\n,c\n");
    const r = await runCli(["validate", f, "-p", "zego", "--report", join(dir, "r.jsonl"), "--json"]);
    const s = JSON.parse(r.stdout) as ImportSummary;
    expect(s.topErrors.map((e) => [e.code, e.count, e.example.line])).toEqual([
      ["REQUIRED", 2, 3],
      ["BAD_CHARACTERS", 1, 2],
    ]);
  });
});

const stats = (over: Partial<ReportStats> = {}): ReportStats => ({ rows: 1, counts: { created: 1 }, errors: [], timeline: [], timed: 0, attempts: {}, unreadable: 0, ...over });

describe("HTML page: the run's facts", () => {
  it("carried-over rows, a stop, and the request counts of a real run; none of those for a dry run; a run without summary says so", () => {
    const full = reportHtml(stats({ meta: { provider: "zego", summary: { durationMs: 2000, dryRun: false, requests: 3, retries: 1, throttled: 0, usersPerSecond: 2, resumed: 4, stopped: "max-errors" } } }), "r.jsonl");
    for (const fact of ["<dt>requests</dt><dd>3</dd>", "<dt>retries</dt><dd>1</dd>", "<dt>carried over from a resumed report</dt><dd>4</dd>", "<dt>stopped</dt><dd>by --max-errors</dd>", "<dt>duration</dt><dd>2 s</dd>"])
      expect(full).toContain(fact);
    const dry = reportHtml(stats({ meta: { provider: "zego", summary: { durationMs: 2000, dryRun: true, requests: 0, retries: 0, stopped: "interrupted" } } }), "r.jsonl");
    expect(dry).not.toContain("<dt>requests</dt>");
    expect(dry).toContain("<dt>stopped</dt><dd>interrupted</dd>");
    const crashed = reportHtml(stats({ meta: { provider: "zego" } }), "r.jsonl");
    expect(crashed).toContain("<dt>summary</dt><dd>none (the run did not finish)</dd>");
  });
});

describe("Redactor: more echoes", () => {
  it("a secret missing only its last character at the end of a message", () => {
    const r = new Redactor();
    r.add("RWAKxyz9Q");
    expect(r.redact("ends in RWAKxyz9")).toBe("ends in ***");
  });

  it("U+2028 escaped as Go's encoding/json writes it (non-ASCII and `+` left as they are)", () => {
    const r = new Redactor();
    r.add("é\u2028+sep-secret");
    expect(r.redact(`said "${String.raw`é\u2028+sep-secret`}"`)).toBe('said "***"');
  });
});

describe("--failed-out rows read back as they were read", () => {
  const CELLS = ["a,b", 'q"q', "x\ny", "x\r\ny", "x\ry", "=1+1", "@x", "'q", " lead ", "é中😀", "", "a;b", "a|b", "\tTab", '"'];

  it.each([",", ";", "\t", "||"])("CSV with delimiter %j: every cell of every row, _error beside them", async (delimiter) => {
    const dir = tmp();
    const q = (s: string) => (/["\r\n;\t|,]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    const input = write(dir, "in.csv", `${["user_id", "name", "note"].join(delimiter)}\n${CELLS.map((c, i) => [`bad id ${i}`, q(c), q(c)].join(delimiter)).join("\n")}\n`);
    const opts = { delimiter: delimiter === "," ? undefined : delimiter };
    const read: SourceRecord[] = [];
    for await (const rec of readInputs([input], opts)) read.push(rec);
    expect(read).toHaveLength(CELLS.length);
    const out = createFailedOut(join(dir, "fix.csv"), new Redactor(), opts);
    out.setColumns(0, ["user_id", "name", "note"]);
    for (const rec of read) out.write(rec, "BAD_CHARACTERS (UserId): no");
    out.close();
    const back: SourceRecord[] = [];
    for await (const rec of readInputs([join(dir, "fix.csv")], opts)) back.push(rec);
    expect(back.map(({ data: { _error, ...d } }) => d)).toEqual(read.map((r) => r.data));
    expect(back.map((r) => r.data._error)).toEqual(read.map((r) => `line ${r.line}: BAD_CHARACTERS (UserId): no`));
  });

  it("JSONL: exactly the invalid and the vendor-refused rows (not the duplicate), re-importable with the same flags", async () => {
    const env = { ZEGO_APP_ID: "31337", ZEGO_SERVER_SECRET: "audit2-secret-audit2-secret-0001" };
    const emu = createZegoEmulator({ env, refuseKeys: ["vendor-no"] });
    await emu.listen(0);
    try {
      const dir = tmp("bu-fo2-");
      // A line with escapes and a number past 2^53: written back as it was, text and digits.
      const BAD = String.raw`{"user_id":"bad id", "x":"a,\"b\"\n\u00e9", "n":98765432109876543210}`;
      const f = write(dir, "u.jsonl", ['{"user_id":"ok1","n":12345678901234567891}', BAD, '{"user_id":"vendor-no"}', '{"user_id":"ok1"}', "not json"].join("\n") + "\n");
      const r = await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--report", join(dir, "r.jsonl"), "--failed-out", join(dir, "fix.jsonl")], { env });
      expect(r.code).toBe(1);
      const report = readReport(join(dir, "r.jsonl"));
      expect(report.find((x) => x.key === "vendor-no")).toMatchObject({ status: "failed", retryable: false, attempts: 1 });
      const lines = readFileSync(join(dir, "fix.jsonl"), "utf8").split("\n").filter(Boolean);
      const byLine = lines.map((l) => JSON.parse(l) as Record<string, string>).sort((a, b) => parseInt(a._error!.slice(5)) - parseInt(b._error!.slice(5)));
      expect(byLine.map((x) => [x.user_id, x._error!.replace(/^(line \d+: [A-Z_0-9]+).*$/s, "$1")])).toEqual([
        ["bad id", "line 2: BAD_CHARACTERS"],
        ["vendor-no", "line 3: 660000002"],
        [undefined, "line 5: INPUT_BAD_JSON"],
      ]);
      expect(lines).toContain(`${BAD.slice(0, -1)},"_error":${JSON.stringify(byLine[0]!._error)}}`);
      // Fixed, the same command line imports them (the `_error` key is not a mapped field).
      writeFileSync(join(dir, "fixed.jsonl"), lines.filter((l) => !l.startsWith('{"_error"')).map((l) => l.replace('"bad id"', '"bad-id"').replace('"vendor-no"', '"vendor-yes"')).join("\n") + "\n");
      const again = await runCli(["import", join(dir, "fixed.jsonl"), "-p", "zego", "--endpoint", emu.url, "--report", join(dir, "r2.jsonl")], { env });
      expect(again.code).toBe(0);
      expect(readReport(join(dir, "r2.jsonl")).map((x) => [x.key, x.status]).sort()).toEqual([["bad-id", "created"], ["vendor-yes", "created"]]);
    } finally {
      await emu.close();
    }
  });

  it("JSONL: an empty object's line stays JSON", () => {
    const file = join(tmp(), "fix.jsonl");
    const out = createFailedOut(file, new Redactor());
    out.write({ file: "u.jsonl", fileIndex: 0, line: 1, data: {}, raw: "{}" }, "REQUIRED (UserId): UserId is required");
    out.write({ file: "u.jsonl", fileIndex: 0, line: 2, data: {}, raw: " { } " }, "REQUIRED (UserId): UserId is required");
    out.close();
    expect(readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l))).toEqual([
      { _error: "line 1: REQUIRED (UserId): UserId is required" },
      { _error: "line 2: REQUIRED (UserId): UserId is required" },
    ]);
  });
});
