import { readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redactor } from "../../src/report/redact.js";
import { csv, runCli, tmp, write } from "../helpers.js";

describe("Redactor", () => {
  it("masks a secret as given, JSON-escaped, URL-encoded and as Latin-1-read UTF-8", () => {
    const r = new Redactor();
    r.add('Se"cr/et+ key');
    r.add("pässwört-1");
    const echoes = [
      'Se"cr/et+ key',
      JSON.stringify('Se"cr/et+ key').slice(1, -1),
      encodeURIComponent('Se"cr/et+ key'),
      new URLSearchParams({ k: 'Se"cr/et+ key' }).toString().slice(2),
      Buffer.from("pässwört-1").toString("latin1"),
    ];
    for (const e of echoes) expect(r.redact(`vendor said: ${e} (end)`)).toBe("vendor said: *** (end)");
  });

  it("masks a secret in JSON as other encoders escape it: PHP, Python, Go and .NET", () => {
    const r = new Redactor();
    r.add("Pä/s<&>😀w-1");
    const echoes = [
      String.raw`Pä\/s<&>😀w-1`, // PHP with JSON_UNESCAPED_UNICODE
      String.raw`P\u00e4/s<&>\ud83d\ude00w-1`, // Python json.dumps
      String.raw`P\u00e4\/s<&>\ud83d\ude00w-1`, // PHP json_encode
      String.raw`P\u00E4/s<&>\uD83D\uDE00w-1`, // capitals
      String.raw`Pä/s\u003c\u0026\u003e😀w-1`, // Go encoding/json
      String.raw`P\u00E4/s\u003C\u0026\u003E\uD83D\uDE00w-1`, // .NET System.Text.Json
    ];
    for (const e of echoes) {
      expect(JSON.parse(`"${e}"`)).toBe("Pä/s<&>😀w-1");
      expect(r.redact(`vendor said: ${e} (end)`)).toBe("vendor said: *** (end)");
    }
  });

  it("masks what is left of a secret a message was cut through, but not in a key", () => {
    const r = new Redactor();
    r.add("RWAK-0123456789abcdefghijklmnopqrstuv");
    expect(r.redact("Unauthorized: Bearer RWAK-0123456789abcdefghijklmnopqr")).toBe("Unauthorized: Bearer ***");
    expect(r.redact("ends in RWAK-01", false)).toBe("ends in RWAK-01");
    // Fewer than 4 characters left proves nothing: left alone.
    expect(r.redact("ends in RWA")).toBe("ends in RWA");
  });
});

/**
 * A GenAuth stand-in that answers like the vendor but echoes what it was sent: the batch's
 * passwords, the bearer token and the access key secret, whole, JSON-escaped and cut short.
 */
function echoingVendor(style: "js" | "php" = "js"): Promise<{ url: string; server: Server }> {
  // PHP's json_encode: `\/` and non-ASCII as `\u00e4`, which JSON.parse reads back as the secret.
  const encode = (v: unknown) => {
    const text = JSON.stringify(v);
    return style === "js" ? text : text.replace(/\//g, "\\/").replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  };
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      // An endpoint given with a query (a token in it) keeps it after the route's path.
      if (new URL(req.url!, "http://vendor").pathname === "/api/v3/get-management-token") {
        res.end(JSON.stringify({ statusCode: 200, data: { access_token: "tok-issued-9f8e7d6c5b4a", expires_in: 7200 } }));
        return;
      }
      const { list } = JSON.parse(body) as { list: { password?: string }[] };
      const auth = String(req.headers.authorization);
      const passwords = list.map((u) => u.password).join(", ");
      // The PHP one echoes nothing its escapes leave as sent (no bearer token), so no plain form is in its text.
      if (style === "php") return void res.end(encode({ statusCode: 400, apiCode: "E400", message: `refused ${passwords} for ${body}` }));
      const at = req.url!.includes("?") ? `${req.url} ` : "";
      const message = `${at}refused ${passwords} with ${auth} for ${body}`.slice(0, 150 + at.length) + ` | ${auth.slice(0, 20)}`;
      res.end(encode({ statusCode: 400, apiCode: auth, message }));
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server })));
}

describe("secrets a vendor echoes back never leak", () => {
  const dir = tmp("bu-echo-");
  const KEY_SECRET = 'ak-secret"with/quotes+1';
  const PASSWORDS = ['Pw-"Hunter2"-Ada', "Pw-Grace-Hopper-77", "SaltyAda99"];
  let vendor: Awaited<ReturnType<typeof echoingVendor>>;
  beforeAll(async () => {
    vendor = await echoingVendor();
  });
  afterAll(() => vendor.server.close());

  it("in reports, summaries, rows-to-fix and output", async () => {
    const f = write(dir, "u.csv", csv(["email", "password", "salt"], [["a@x.io", PASSWORDS[0]!, PASSWORDS[2]!], ["b@x.io", PASSWORDS[1]!, ""]]));
    const mapping = write(dir, "m.yaml", "fields:\n  email: email\n  password: password\n  salt: salt\n");
    const env = { GENAUTH_ACCESS_KEY_ID: "AKID123", GENAUTH_ACCESS_KEY_SECRET: KEY_SECRET, GENAUTH_USER_POOL_ID: "pool1" };
    const out: string[] = [];
    for (const report of ["r.jsonl", "r.csv"]) {
      const r = await runCli(["import", f, "-p", "genauth", "-m", mapping, "--endpoint", vendor.url, "--report", join(dir, report), "--summary", join(dir, "s.md"), "--retries", "0"], { env });
      expect(r.code).toBe(1);
      out.push(r.stdout, r.stderr);
    }
    const html = await runCli(["report", join(dir, "r.jsonl"), "--html", join(dir, "r.html"), "--json"]);
    out.push(html.stdout, html.stderr);
    for (const name of readdirSync(dir)) if (name !== "u.csv") out.push(readFileSync(join(dir, name), "utf8"));
    const all = out.join("\n");
    expect(all).toMatch(/failed/);
    expect(all).toContain("refused ***");
    for (const s of [...PASSWORDS, JSON.stringify(PASSWORDS[0]).slice(1, -1), "tok-issued-9f8e7d6c5b4a", "tok-issued", KEY_SECRET, JSON.stringify(KEY_SECRET).slice(1, -1)]) expect(all, s).not.toContain(s);
  });

  it("when the vendor escapes them as PHP does (`\\/`, `\\u00e4`)", async () => {
    const php = await echoingVendor("php");
    try {
      const pw = ["Pw/Slash/Secret-1", "Pässwört-Secret-2"];
      const f = write(dir, "php.csv", csv(["email", "password"], [["a@x.io", pw[0]!], ["b@x.io", pw[1]!]]));
      const mapping = write(dir, "php.yaml", "fields:\n  email: email\n  password: password\n");
      const env = { GENAUTH_ACCESS_KEY_ID: "AKID123", GENAUTH_ACCESS_KEY_SECRET: "ak/secret/ä-9", GENAUTH_USER_POOL_ID: "pool1" };
      const report = join(dir, "php-report.jsonl");
      const r = await runCli(["import", f, "-p", "genauth", "-m", mapping, "--endpoint", php.url, "--report", report, "--retries", "0"], { env });
      expect(r.code).toBe(1);
      const all = r.stdout + r.stderr + readFileSync(report, "utf8");
      expect(all).toContain("refused ***");
      for (const s of [...pw, "Pw\\/Slash", "P\\u00e4ssw", "ak/secret", "ak\\/secret"]) expect(all, s).not.toContain(s);
    } finally {
      php.server.close();
    }
  });

  it("in a secret field holding a JSON number too big to keep exact", async () => {
    const f = write(dir, "num.jsonl", `{"email":"n@x.io","password":918273645546372819}\n`);
    const r = await runCli(["validate", f, "-p", "genauth", "--report", join(dir, "num-report.jsonl"), "--summary", join(dir, "num.md")]);
    const all = r.stdout + r.stderr + readFileSync(join(dir, "num-report.jsonl"), "utf8") + readFileSync(join(dir, "num.md"), "utf8");
    expect(all).toContain("UNSAFE_NUMBER");
    expect(all).toContain("read as ***");
    expect(all).not.toMatch(/9182736455463728/);
  });

  it("in a JSONL line that is not JSON, and in an unknown --name=value flag", async () => {
    const f = write(dir, "bad.jsonl", `{"email":"a@x.io","password":'SqPw-Secret-Ada'}\n`);
    const r = await runCli(["validate", f, "-p", "genauth", "--report", join(dir, "bad-report.jsonl")]);
    const all = r.stdout + r.stderr + readFileSync(join(dir, "bad-report.jsonl"), "utf8");
    expect(all).toContain("INPUT_BAD_JSON");
    expect(all).not.toContain("SqPw");
    const flag = await runCli(["import", f, "-p", "genauth", "--token=RWAK-argv-secret"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("unknown option '--token");
    expect(flag.stderr).not.toContain("RWAK-argv-secret");
  });

  it("in a transform's error on a secret field, and in the resume hint's endpoint", async () => {
    const f = write(dir, "t.csv", csv(["email", "password"], [["a@x.io", "HwPass-Ada-1!"], ["b@x.io", "HwPass-Bob-2!"]]));
    const m = write(dir, "t.yaml", "fields:\n  email: email\n  password: { column: password, transform: [e164] }\n");
    const v = await runCli(["validate", f, "-p", "genauth", "-m", m, "--report", join(dir, "t.jsonl")]);
    const shown = v.stdout + v.stderr + readFileSync(join(dir, "t.jsonl"), "utf8");
    expect(shown).toContain("TRANSFORM");
    expect(shown).not.toContain("HwPass");
    const env = { GENAUTH_ACCESS_KEY_ID: "AKID123", GENAUTH_ACCESS_KEY_SECRET: KEY_SECRET, GENAUTH_USER_POOL_ID: "pool1" };
    const proxy = vendor.url.replace("http://", "http://proxyuser:ProxyPw-Secret@");
    const g = write(dir, "g.csv", csv(["email"], [["a@x.io"], ["b@x.io"]]));
    const r = await runCli(["import", g, "-p", "genauth", "--endpoint", proxy, "--report", join(dir, "p.jsonl"), "--retries", "0", "--max-errors", "1"], { env });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/--resume/);
    expect(r.stdout + r.stderr).not.toContain("ProxyPw-Secret");
    // A token in the endpoint's query: masked in the hint as in any echo of the URL.
    const tokened = `${vendor.url}/?access_token=QueryTok-Secret-1&region=eu`;
    const q = await runCli(["import", g, "-p", "genauth", "--endpoint", tokened, "--report", join(dir, "q.jsonl"), "--retries", "0", "--max-errors", "1", "--json"], { env });
    expect(q.code).toBe(3);
    const hint = (JSON.parse(q.stdout) as { resumeCommand: string }).resumeCommand;
    expect(hint).toContain("access_token=***");
    expect(hint).toContain("region=eu");
    expect(q.stdout + q.stderr + readFileSync(join(dir, "q.jsonl"), "utf8")).not.toContain("QueryTok-Secret");
  });

  it("rows-to-fix written over an existing file are the owner's only", async () => {
    const f = write(dir, "v.csv", csv(["email", "password"], [["not-an-email", "pw-1234"]]));
    const fix = write(dir, "fix-existing.csv", "old\n");
    const r = await runCli(["validate", f, "-p", "genauth", "--report", join(dir, "v.jsonl"), "--failed-out", fix]);
    expect(r.code).toBe(1);
    expect(statSync(fix).mode & 0o777).toBe(0o600);
  });
});
