import { existsSync, readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redactor } from "../../src/report/redact.js";
import { csv, runCli, tmp, write } from "../helpers.js";

type Answer = { status: number; body: unknown };

/**
 * A vendor stand-in on loopback: GenAuth's token route issues a token; every other request gets
 * what `answer` makes of it (the request's headers and body, to echo back).
 */
function vendor(): Promise<{ url: string; server: Server; answer: (fn: (req: { headers: IncomingHttpHeaders; body: string }) => Answer) => void }> {
  let make: (req: { headers: IncomingHttpHeaders; body: string }) => Answer = () => ({ status: 500, body: "unset" });
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      if (req.url === "/api/v3/get-management-token") {
        res.setHeader("content-type", "application/json");
        return void res.end(JSON.stringify({ statusCode: 200, data: { access_token: "tok-audit-5f4e3d2c1b0a", expires_in: 7200 } }));
      }
      const a = make({ headers: req.headers, body });
      res.statusCode = a.status;
      if (typeof a.body === "string") return void res.end(a.body);
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(a.body));
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, answer: (fn) => (make = fn) })),
  );
}

/** Everything a run printed and wrote: output, report, meta, summary, the `report` command's pages, and `_error` of the rows to fix (their cells are the input's own). */
async function everything(dir: string, r: { stdout: string; stderr: string }): Promise<string> {
  const report = join(dir, "r.jsonl");
  const out = [r.stdout, r.stderr];
  for (const f of ["r.jsonl", "r.jsonl.meta.json", "s.md"]) if (existsSync(join(dir, f))) out.push(readFileSync(join(dir, f), "utf8"));
  if (existsSync(report)) {
    const page = await runCli(["report", report, "--html", join(dir, "r.html")]);
    out.push(page.stdout, page.stderr);
    if (existsSync(join(dir, "r.html"))) out.push(readFileSync(join(dir, "r.html"), "utf8"));
  }
  if (existsSync(join(dir, "fix.jsonl")))
    for (const l of readFileSync(join(dir, "fix.jsonl"), "utf8").split("\n").filter(Boolean)) out.push(String((JSON.parse(l) as { _error: string })._error));
  return out.join("\n");
}

const GENAUTH = { GENAUTH_ACCESS_KEY_ID: "AKID-audit", GENAUTH_ACCESS_KEY_SECRET: "ak-audit-secret-0f1e2d3c", GENAUTH_USER_POOL_ID: "pool1" };

describe("secrets audit: leaks found and fixed", () => {
  let v: Awaited<ReturnType<typeof vendor>>;
  beforeAll(async () => {
    v = await vendor();
  });
  afterAll(() => v.server.close());

  /** A GenAuth import of `rows` (email, password) into the stand-in. */
  const run = async (name: string, rows: string[][]) => {
    const dir = tmp(`bu-sa-${name}-`);
    const f = write(dir, "u.csv", csv(["email", "password"], rows));
    const r = await runCli(
      ["import", f, "-p", "genauth", "--endpoint", v.url, "--report", join(dir, "r.jsonl"), "--failed-out", join(dir, "fix.jsonl"), "--summary", join(dir, "s.md"), "--retries", "0"],
      { env: GENAUTH },
    );
    return { r, all: await everything(dir, r) };
  };

  it("a user's password the vendor cut short in its answer (the run's redaction never knew it)", async () => {
    const pw = "Pw-Grace-Hopper-1906!";
    // The vendor quotes what it refused, shortened to 30 characters: the password is cut at the end.
    v.answer(({ body }) => {
      const sent = (JSON.parse(body) as { list: { password: string }[] }).list[0]!.password;
      return { status: 200, body: { statusCode: 400, apiCode: "WEAK_PASSWORD", message: `weak password: ${sent}`.slice(0, 30) } };
    });
    const { r, all } = await run("cut", [["grace@x.io", pw]]);
    expect(r.code).toBe(1);
    expect(all).toContain("weak password: ***");
    expect(all).not.toContain(pw.slice(0, 8));
  });

  it("a password in the endpoint's user info, echoed as the Basic authorization header a proxy got", async () => {
    v.answer(({ headers }) => ({ status: 502, body: `proxy: refused ${headers.authorization} (user proxy-u, password Proxy-Pw-9d8c7b)` }));
    const endpoint = v.url.replace("http://", "http://proxy-u:Proxy-Pw-9d8c7b@");
    // On the command line, and in IMKIT_BASE_URL (the provider's base-URL variable, from the environment).
    for (const how of ["argv", "env"] as const) {
      const dir = tmp(`bu-sa-basic-${how}-`);
      const f = write(dir, "u.csv", csv(["_id", "nickname"], [["u1", "Ada"]]));
      const env = { IMKIT_API_KEY: "imkit-audit-key-7a6b5c", ...(how === "env" && { IMKIT_BASE_URL: endpoint }) };
      const r = await runCli(
        ["import", f, "-p", "imkit", ...(how === "argv" ? ["--endpoint", endpoint] : []), "--report", join(dir, "r.jsonl"), "--failed-out", join(dir, "fix.jsonl"), "--summary", join(dir, "s.md"), "--retries", "0"],
        { env },
      );
      const all = await everything(dir, r);
      expect(r.code, how).toBe(1);
      expect(all, how).toContain("refused Basic ***");
      expect(all, how).not.toContain(Buffer.from("proxy-u:Proxy-Pw-9d8c7b").toString("base64").slice(0, 12));
      expect(all, how).not.toContain("Proxy-Pw-9d8c7b");
    }
  });

  it("a run secret the vendor cut short and marked with an ellipsis", async () => {
    v.answer(() => ({ status: 403, body: { statusCode: 403, apiCode: "FORBIDDEN", message: `key ${GENAUTH.GENAUTH_ACCESS_KEY_SECRET.slice(0, 14)}...` } }));
    const { r, all } = await run("ellipsis", [["a@x.io", "Pw-aaaa-1111"]]);
    expect(r.code).toBe(2);
    expect(all).toContain("key ***...");
    expect(all).not.toContain("ak-audit-se");
    // A mark before an adapter's note too; a mark with no secret before it stays as it was.
    const red = new Redactor();
    red.add("RWAK-0123456789");
    expect(red.redact("token RWAK-0123…")).toBe("token ***…");
    expect(red.redact("wait...")).toBe("wait...");
    expect(red.redact("token RWAK-0123... (HTTP 401)")).toBe("token ***... (HTTP 401)");
  });

  it("a password URL-encoded as Python, PHP and Go write it, or in base64", async () => {
    const pw = "Hunter2!(x)*~ Ada";
    const encoded = [
      "Hunter2%21%28x%29%2A~%20Ada", // Python quote, PHP rawurlencode
      "Hunter2%21%28x%29%2A~+Ada", // Python quote_plus, Go QueryEscape
      "Hunter2%21%28x%29%2A%7E+Ada", // PHP urlencode
      Buffer.from(pw).toString("base64"),
    ];
    for (const e of encoded) {
      v.answer(() => ({ status: 200, body: { statusCode: 400, apiCode: "BAD_LINK", message: `cannot open https://id.example/reset?password=${e} for this user` } }));
      const { r, all } = await run("url", [["a@x.io", pw]]);
      expect(r.code, e).toBe(1);
      expect(all, e).toContain("?password=*** for this user");
      expect(all, e).not.toContain("Hunter2");
      expect(all, e).not.toContain(Buffer.from(pw).toString("base64").slice(0, 12));
    }
  });

  it("a password with `=` or `'` in a request body a gateway quotes as Java's Gson writes JSON (`\\u003d`, `\\u0027`)", async () => {
    const pw = "Pw='Ada'=Lovelace-1815";
    // A plain-text error page (not parsed as JSON) quoting the body as Gson re-serialized it.
    v.answer(({ body }) => ({ status: 500, body: `gateway error for ${body.replace(/[<>&='\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)}` }));
    const { r, all } = await run("gson", [["a@x.io", pw]]);
    expect(r.code).toBe(1);
    expect(all).toContain('"password":"***"');
    expect(all).not.toContain("Lovelace");
  });

  it("a JSON mapping that does not parse: the error does not quote the file around a constant password", async () => {
    const dir = tmp("bu-sa-json-");
    const f = write(dir, "u.csv", csv(["email"], [["a@x.io"]]));
    const m = write(dir, "m.json", '{"fields":{"email":"email","password":{"value":Welcome-Secret-2024}}}');
    const r = await runCli(["validate", f, "-p", "genauth", "-m", m, "--report", join(dir, "r.jsonl"), "--summary", join(dir, "s.md")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("not valid JSON");
    const all = r.stdout + r.stderr + (existsSync(join(dir, "s.md")) ? readFileSync(join(dir, "s.md"), "utf8") : "");
    expect(all).not.toContain("Welcome");
  });
});
