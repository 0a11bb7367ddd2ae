import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpError, httpSend, safeUrl } from "../../src/core/http.js";

// What httpSend and safeUrl promise beyond http.test.ts: an aborted signal sends nothing, the
// timeout covers the body and not only the headers, a connection lost after the request arrived
// may have delivered it, and every key-like query value is masked.

let server: Server;
let base = "";
/** Requests the server received, by path. */
const seen: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    const path = (req.url ?? "").split("?")[0] ?? "";
    req.on("end", () => {
      seen.push(path);
      if (path === "/ok") res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
      else if (path === "/stall") {
        // Headers and the first bytes of a 100-byte body, then nothing (the connection stays open).
        res.writeHead(200, { "Content-Length": "100" });
        res.write("hello");
      } else if (path === "/drop") req.socket.destroy(); // the request arrived: the vendor may have acted on it
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const post = (path: string) => ({ method: "POST" as const, url: `${base}${path}`, headers: {}, body: "{}" });

describe("httpSend", () => {
  it("with a signal already aborted, sends nothing and fails as an abort", async () => {
    const before = seen.length;
    const err = await httpSend(post("/ok"), { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).reason).toBe("abort");
    // A request that went out would have reached the server by the time a later one is answered.
    await httpSend(post("/ok"));
    expect(seen.slice(before)).toEqual(["/ok"]);
  });

  it("times out an answer whose body stalls after the headers", async () => {
    const t0 = performance.now();
    // The signal only bounds the test if the timeout does not fire (it would fail as an abort).
    const err = await httpSend(post("/stall"), { timeoutMs: 100, signal: AbortSignal.timeout(3000) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).reason).toBe("timeout");
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it("a connection lost after the request arrived is a network error that may have delivered it", async () => {
    const err = await httpSend(post("/drop")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).reason).toBe("network");
    expect((err as HttpError).neverSent).toBe(false);
    expect(seen).toContain("/drop");
  });
});

describe("safeUrl", () => {
  it.each([
    ["https://x.example/a?api_key=s&key=k", { api_key: "***", key: "***" }],
    ["https://x.example/a?AccessKeyId=AK1&u=p", { AccessKeyId: "***", u: "p" }],
  ])("masks key-like query values: %s", (url, query) => {
    expect(Object.fromEntries(new URL(safeUrl(url)).searchParams)).toEqual(query);
  });
});
