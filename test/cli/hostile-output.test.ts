import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { csv, runCli, tmp, write } from "../helpers.js";

// What the tool prints and writes from row data: nothing a terminal, a Markdown page or a
// spreadsheet would run, and reports that read back exactly.
describe("hostile row data in output", () => {
  const dir = tmp("bu-hostile-");
  const ESC = "\u001b]0;pwned\u0007\u001b[2J";
  const input = write(dir, "u.csv", csv(["user_id"], [["ok1"], [`${ESC}bad id`], ["![x](http://evil.example/p.png) [click](http://evil.example)"], ["'=1+1"], ["=1+1"], ["''x"]]));

  it("keys reach the terminal without control characters, and the Markdown summary without images or links", async () => {
    const r = await runCli(["validate", input, "-p", "zego", "--report", `${dir}/r.jsonl`, "--summary", `${dir}/s.md`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("]0;pwned");
    expect(r.stdout + r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    const shown = await runCli(["report", `${dir}/r.jsonl`]);
    expect(shown.stdout).toContain("]0;pwned");
    expect(shown.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    const md = readFileSync(`${dir}/s.md`, "utf8");
    expect(md).not.toMatch(/!\[x\]\(|[^\\]\[click\]/);
    expect(md).toContain("!\\[x\\](http://evil.example/p.png) \\[click\\](http://evil.example)");
  });

  it("a CSV report keeps `'=1+1`, `=1+1` and `''x` apart when read back", async () => {
    const r = await runCli(["validate", input, "-p", "zego", "--report", `${dir}/r.csv`]);
    expect(r.code).toBe(1);
    const text = readFileSync(`${dir}/r.csv`, "utf8");
    expect(text).toContain(",'=1+1,valid");
    expect(text).toContain(",''=1+1,invalid");
    const back = JSON.parse((await runCli(["report", `${dir}/r.csv`, "--json"])).stdout);
    const keys = back.errors.flatMap((e: { examples: { key: string }[] }) => e.examples.map((x) => x.key));
    expect(keys).toEqual(expect.arrayContaining(["'=1+1", "''x"]));
    expect(keys).not.toContain("=1+1");
  });

  it("report refuses what is not a report, a directory, and an HTML page over the report", async () => {
    const notReport = write(dir, "package.json", '{\n  "name": "x"\n}\n');
    for (const f of [notReport, input]) {
      const r = await runCli(["report", f]);
      expect(r.code, f).toBe(2);
      expect(r.stderr).toMatch(/Not a bulk-users report: none of the \d+ line\(s\) of .* is a report row/);
    }
    mkdirSync(`${dir}/d`);
    const d = await runCli(["report", `${dir}/d`]);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/Report is a directory, not a file/);
    await runCli(["validate", input, "-p", "zego", "--report", `${dir}/keep.jsonl`]);
    const before = readFileSync(`${dir}/keep.jsonl`, "utf8");
    const over = await runCli(["report", `${dir}/keep.jsonl`, "--html", `${dir}/./keep.jsonl`]);
    expect(over.code).toBe(2);
    expect(over.stderr).toMatch(/would overwrite .*keep\.jsonl, which is the report or its resume state/);
    expect(readFileSync(`${dir}/keep.jsonl`, "utf8")).toBe(before);
  });

  it("a CSV report line csv-parse cannot read is counted unreadable, not dropped", async () => {
    const f = `${dir}/hand.csv`;
    writeFileSync(f, 'file,line,key,status\nu.csv,2,a,created\nu.csv,3,"b"x,created\nu.csv,4,c,created\n');
    const r = JSON.parse((await runCli(["report", f, "--json"])).stdout);
    expect(r.rows).toBe(2);
    expect(r.unreadable).toBe(1);
  });

  it("the resume command quotes a report path the shell would split or run", async () => {
    const sub = `${dir}/my $(touch x) run`;
    mkdirSync(sub);
    const r = await runCli(["import", input, "-p", "zego", "--sandbox", "--report", `${sub}/r.jsonl`, "--max-errors", "1"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`--resume '${sub}/r.jsonl'`);
  });
});

describe("huge text on the terminal", () => {
  it("a vendor message of megabytes is cut on the terminal (whole in the report), never inside a surrogate pair", async () => {
    const dir = tmp("bu-huge-");
    const message = `${"x".repeat(1999)}😀${"y".repeat(5_000_000)}`;
    const report = write(dir, "r.jsonl", `${JSON.stringify({ file: "u.csv", line: 2, key: "k", status: "failed", code: "E1", message })}\n`);
    const r = await runCli(["report", report]);
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeLessThan(10_000);
    expect(r.stdout).toMatch(/x{1999}… \(5000002 more characters\)/);
    expect(r.stdout).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });
});
