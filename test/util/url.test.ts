import { describe, expect, it } from "vitest";
import { canParseUrl } from "../../src/util/url.js";
import { join } from "node:path";
import { runImport } from "../../src/index.js";
import { csv, readReport, tmp, write } from "../helpers.js";

/** The WHATWG parser's own answer, through the constructor (no fast call behind it). */
const parses = (s: string) => {
  try {
    new URL(s);
    return true;
  } catch {
    return false;
  }
};

/** Deterministic addresses: hosts of ASCII and Latin-1 letters, digits, dots and hyphens, ports, paths. */
function* inputs(n: number): Generator<string> {
  let seed = 20261201;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
  const pick = (a: string) => a[Math.floor(rnd() * a.length)]!;
  for (let i = 0; i < n; i++) {
    let s = rnd() < 0.5 ? "http://" : "https://";
    const len = 1 + Math.floor(rnd() * 10);
    for (let j = 0; j < len; j++) s += pick("abcxn019-.éüßÿ@:%_ ");
    if (rnd() < 0.2) s += `:${Math.floor(rnd() * 70000)}`;
    if (rnd() < 0.5) s += `/${pick("aé%?#")}`;
    yield s;
  }
}

// Warms the call sites past V8's optimisation, where Node 20's URL.canParse goes wrong.
const warm = (f: (s: string) => boolean) => {
  for (let i = 0; i < 20_000; i++) f(`https://example.com/a/${i}.png`);
};

describe("canParseUrl", () => {
  it("answers as the URL parser does once optimised, Latin-1 hosts included", () => {
    warm(canParseUrl);
    expect(canParseUrl("https://bücher.de/a.png")).toBe(true);
    expect(canParseUrl("https://ουτοπία.δπθ.gr/")).toBe(true);
    expect(canParseUrl("http://a:99999")).toBe(false);
    expect(canParseUrl("not a url")).toBe(false);
    let latin = 0;
    for (const s of inputs(50_000)) {
      const got = canParseUrl(s);
      if (got !== parses(s)) expect.fail(`${JSON.stringify(s)}: canParseUrl ${got}, new URL ${!got}`);
      if (got && /[\x80-\xff]/.test(s)) latin++;
    }
    // The corpus must hold many parseable Latin-1 addresses, the case that goes wrong.
    expect(latin).toBeGreaterThan(1000);
  });

  it("keeps a Latin-1 avatar host valid deep into a file (an IMKIT dry run through the public API)", async () => {
    const dir = tmp();
    const n = 20_000;
    const rows: string[][] = Array.from({ length: n }, (_, i) => [`u${i}`, `https://example.com/${i}.png`]);
    rows.push(["late-latin1", "https://bücher.example/a.png"], ["late-bad", "https://exa mple.com/a.png"]);
    const file = write(dir, "users.csv", csv(["id", "avatar"], rows));
    const report = join(dir, "report.jsonl");
    await runImport({ files: [file], provider: "imkit", mapping: { fields: { _id: "id", avatarUrl: "avatar" } }, dryRun: true, report });
    const last = readReport(report).slice(-2);
    expect(last.map((r) => [r.key, r.status, r.code])).toEqual([
      ["late-latin1", "valid", undefined],
      ["late-bad", "invalid", "BAD_FORMAT"],
    ]);
  });
});
