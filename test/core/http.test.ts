import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpError, httpSend, safeUrl } from "../../src/core/http.js";

let server: Server;
let base = "";
const seen: { method?: string; length?: string; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => (body += d));
    const path = (req.url ?? "").split("?")[0];
    req.on("end", () => {
      seen.push({ method: req.method, length: req.headers["content-length"], body });
      if (path === "/json") {
        res.writeHead(201, { "Content-Type": "application/json", "X-Subject-Token": "tok", "Retry-After": "2" });
        res.end(JSON.stringify({ echo: body }));
      } else if (path === "/text") res.writeHead(502).end("<html>bad gateway</html>");
      else if (path === "/cut") {
        // Announces 100 bytes, sends 5, then cuts the connection.
        res.writeHead(200, { "Content-Length": "100" });
        res.write("hello");
        setTimeout(() => res.socket?.destroy(), 20);
      } else if (path === "/drop") req.socket.destroy();
      // /hang: never answers.
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe("httpSend", () => {
  it("sends the body with its byte length, parses JSON and reads headers by any case", async () => {
    const res = await httpSend({ method: "POST", url: `${base}/json`, headers: { "Content-Type": "application/json" }, body: '{"name":"Zoë"}' });
    expect(res.status).toBe(201);
    expect(res.json).toEqual({ echo: '{"name":"Zoë"}' });
    expect(res.headers.get("x-subject-token")).toBe("tok");
    expect(res.headers.get("Retry-After")).toBe("2");
    expect(res.headers.get("missing")).toBeNull();
    expect(seen.at(-1)).toEqual({ method: "POST", length: String(Buffer.byteLength('{"name":"Zoë"}')), body: '{"name":"Zoë"}' });
  });

  it("returns a non-JSON answer as text for the adapter to judge", async () => {
    const res = await httpSend({ method: "GET", url: `${base}/text`, headers: {} });
    expect(res).toMatchObject({ status: 502, text: "<html>bad gateway</html>", json: undefined });
  });

  it.each([
    ["/drop", "network"],
    ["/cut", "network"],
  ])("a connection lost at %s is a %s error", async (path, reason) => {
    const err = await httpSend({ method: "POST", url: `${base}${path}`, headers: {}, body: "{}" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).reason).toBe(reason);
  });

  it("times out the whole exchange and cancels on abort", async () => {
    const t0 = performance.now();
    const late = await httpSend({ method: "POST", url: `${base}/hang`, headers: {}, body: "{}" }, { timeoutMs: 100 }).catch((e: unknown) => e);
    expect((late as HttpError).reason).toBe("timeout");
    expect(performance.now() - t0).toBeLessThan(2000);
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 50);
    const aborted = await httpSend({ method: "POST", url: `${base}/hang`, headers: {}, body: "{}" }, { signal: ctl.signal }).catch((e: unknown) => e);
    expect((aborted as HttpError).reason).toBe("abort");
    expect((aborted as HttpError).message).not.toContain("undefined");
  });

  it("hides signing query values in its errors", async () => {
    const err = (await httpSend({ method: "POST", url: `${base}/drop?Signature=abc123&AppId=1`, headers: {}, body: "{}" }).catch((e: unknown) => e)) as HttpError;
    expect(err.message).toContain("Signature=***");
    expect(err.message).not.toContain("abc123");
  });
});

describe("safeUrl", () => {
  it("masks query values that sign or authenticate, not a signature's version or method", () => {
    const u = new URL(safeUrl("https://x.example/api?AppId=1&Signature=abc&SignatureNonce=n1&SignatureVersion=2.0&SignatureMethod=HMAC-SHA256&access_token=t&u=p"));
    expect(Object.fromEntries(u.searchParams)).toEqual({ AppId: "1", Signature: "***", SignatureNonce: "***", SignatureVersion: "2.0", SignatureMethod: "HMAC-SHA256", access_token: "***", u: "p" });
  });
});
