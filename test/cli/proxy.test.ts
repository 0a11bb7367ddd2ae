import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import { createServer as createTlsServer, type Server as TlsServer } from "node:https";
import { connect, type AddressInfo, type Socket } from "node:net";
import { join, resolve } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { proxyFor } from "../../src/core/proxy.js";
import type { Emulator } from "../../src/emulators/_base.js";
import { createGenauthEmulator } from "../../src/emulators/genauth.js";
import { createZegoEmulator } from "../../src/emulators/zego.js";
import { csv, readReport, tmp, write } from "../helpers.js";

// A self-signed certificate for zego.example.test (test/fixtures/tls, valid to 2126), trusted by
// the CLI through NODE_EXTRA_CA_CERTS: the vendor stand-in is reached by name, through the proxy.
const TLS = resolve("test/fixtures/tls");
const VENDOR = "https://zego.example.test";
const ZEGO = { ZEGO_APP_ID: "1234567890", ZEGO_SERVER_SECRET: "proxy-test-zego-secret-000000001" };
const PROXY_PW = "ProxyPw-Secret-9";

const port = (s: Server | TlsServer) => (s.address() as AddressInfo).port;
const listen = (s: Server | TlsServer) => new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
const close = (s: Server | TlsServer) => new Promise((r) => s.close(r));

/** Runs the built CLI in its own process: NODE_EXTRA_CA_CERTS is read when node starts. */
function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ["bin/bulk-users.js", ...args], { env: { PATH: process.env.PATH ?? "", NO_COLOR: "1", NODE_EXTRA_CA_CERTS: join(TLS, "vendor.crt"), ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

describe("a forward proxy from HTTPS_PROXY", () => {
  const dir = tmp("bu-proxy-");
  const mapping = write(dir, "z.yaml", "fields:\n  UserId: user_id\n  UserName: name\n");
  const input = write(dir, "u.csv", csv(["user_id", "name"], [["p1", "Ann"], ["p2", "Bob"], ["p3", "Cy"]]));
  let emu: Emulator;
  /** The emulator the stand-in forwards to: ZEGO's unless a test points it elsewhere. */
  let upstream: URL;
  let vendor: TlsServer;
  let proxy: Server;
  /** What the proxy was asked: CONNECT targets, and whether each carried the right credentials. */
  let tunnels: { target: string; authorised: boolean }[] = [];
  /** Absolute URLs of plain http requests the proxy forwarded. */
  let forwarded: string[] = [];
  let requireAuth = false;
  /** A status the proxy answers every tunnel with instead of opening it. */
  let refuseWith: string | undefined;
  /** Close the connection without answering the CONNECT. */
  let hangUp = false;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    emu = createZegoEmulator({ env: ZEGO });
    await emu.listen(0);
    upstream = new URL(emu.url);
    // The vendor stand-in: TLS for zego.example.test in front of the emulator.
    vendor = createTlsServer({ key: readFileSync(join(TLS, "vendor.key")), cert: readFileSync(join(TLS, "vendor.crt")) }, (req: IncomingMessage, res) => {
      const up = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      req.pipe(up);
    });
    await listen(vendor);
    // Plain http through the proxy: the request line holds the absolute URL.
    proxy = createServer((req, res) => {
      forwarded.push(req.url ?? "");
      if (requireAuth && req.headers["proxy-authorization"] !== `Basic ${Buffer.from(`pu:${PROXY_PW}`).toString("base64")}`) return void res.writeHead(407, { "Proxy-Authenticate": "Basic" }).end();
      const u = new URL(req.url ?? "/", "http://invalid");
      const up = request({ host: upstream.hostname, port: upstream.port, path: u.pathname + u.search, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      req.pipe(up);
    });
    proxy.on("connect", (req: IncomingMessage, socket: Socket, head: Buffer) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      const authorised = req.headers["proxy-authorization"] === `Basic ${Buffer.from(`pu:${PROXY_PW}`).toString("base64")}`;
      tunnels.push({ target: req.url ?? "", authorised });
      if (hangUp) return void socket.destroy();
      if (refuseWith) return void socket.end(`HTTP/1.1 ${refuseWith}\r\nContent-Length: 0\r\n\r\n`);
      if (requireAuth && !authorised) return void socket.end("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n");
      // Every name leads to the stand-in: the proxy resolves it, not the client.
      const up = connect(port(vendor), "127.0.0.1", () => {
        // Echoes the credentials it got, as a careless proxy might: they must still show nowhere.
        socket.write(`HTTP/1.1 200 Connection Established\r\nX-Echo: ${req.headers["proxy-authorization"] ?? "none"}\r\n\r\n`);
        up.write(head);
        up.pipe(socket);
        socket.pipe(up);
      });
      up.on("error", () => socket.destroy());
      socket.on("error", () => up.destroy());
    });
    await listen(proxy);
  });
  afterEach(() => {
    tunnels = [];
    forwarded = [];
    requireAuth = false;
    refuseWith = undefined;
    hangUp = false;
    upstream = new URL(emu.url);
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await Promise.all([close(proxy), close(vendor), emu.close()]);
  });

  it("sends through a CONNECT tunnel, TLS end to end, and says so", async () => {
    const report = join(dir, "a.jsonl");
    const r = await cli(["import", input, "-p", "zego", "-m", mapping, "--report", report], { ...ZEGO, BULK_USERS_ENDPOINT: VENDOR, HTTPS_PROXY: `http://127.0.0.1:${port(proxy)}` });
    expect(r.code, r.stderr + readFileSync(report, "utf8")).toBe(0);
    expect(r.stderr).toContain(`Sending to ${VENDOR}/ (BULK_USERS_ENDPOINT) through the proxy http://127.0.0.1:${port(proxy)}/`);
    expect(tunnels.map((t) => t.target)).toContain("zego.example.test:443");
    expect((emu.users() as { UserId: string }[]).map((u) => u.UserId).sort()).toEqual(["p1", "p2", "p3"]);
  }, 70_000);

  it("gives the proxy its credentials and masks them everywhere; a proxy that refuses them stops the run", async () => {
    requireAuth = true;
    const input2 = write(dir, "u2.csv", csv(["user_id", "name"], [["q1", "Ann"], ["q2", "Bob"]]));
    const report = join(dir, "b.jsonl");
    // DEBUG=* too: the proxy agents' debug output would print the proxy URL with its password.
    const ok = await cli(["import", input2, "-p", "zego", "-m", mapping, "--report", report], { ...ZEGO, BULK_USERS_ENDPOINT: VENDOR, https_proxy: `http://pu:${PROXY_PW}@127.0.0.1:${port(proxy)}`, DEBUG: "*" });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain(`through the proxy http://pu:***@127.0.0.1:${port(proxy)}/`);
    expect(tunnels.length).toBeGreaterThan(0);
    expect(tunnels.every((t) => t.authorised)).toBe(true);
    const okAll = ok.stdout + ok.stderr + readFileSync(report, "utf8") + readFileSync(`${report}.meta.json`, "utf8");
    expect(okAll).not.toContain(PROXY_PW);
    expect(okAll).not.toContain(Buffer.from(`pu:${PROXY_PW}`).toString("base64"));

    // Wrong credentials: the proxy answers 407 to every tunnel, so the run stops (exit 2) at the
    // first, sends nothing, and says how to finish once the proxy settings are fixed.
    const input3 = write(dir, "u3.csv", csv(["user_id", "name"], [["w1", "Ann"], ["w2", "Bob"]]));
    const refused = join(dir, "c.jsonl");
    tunnels = [];
    const bad = await cli(["import", input3, "-p", "zego", "-m", mapping, "--report", refused], { ...ZEGO, BULK_USERS_ENDPOINT: VENDOR, HTTPS_PROXY: `http://pu:wrong-${PROXY_PW}@127.0.0.1:${port(proxy)}` });
    expect(bad.code, bad.stderr).toBe(2);
    expect(bad.stderr).toContain("the proxy refused the tunnel: 407 Proxy Authentication Required");
    expect(bad.stderr).toContain("hint: Check the proxy in HTTPS_PROXY (HTTP_PROXY for http://, or ALL_PROXY): its user and password");
    expect(bad.stderr).toMatch(/After fixing the proxy settings, finish with: .*--resume/);
    expect(tunnels).toHaveLength(1);
    expect((emu.users() as { UserId: string }[]).map((u) => u.UserId)).not.toContain("w1");
    expect(bad.stdout + bad.stderr + readFileSync(refused, "utf8")).not.toContain(PROXY_PW);
  }, 70_000);

  it("a proxy that bars the host stops the run; one that cannot reach it (502) is retried, and its rows fail as never sent", async () => {
    const env = { ...ZEGO, BULK_USERS_ENDPOINT: VENDOR, HTTPS_PROXY: `http://127.0.0.1:${port(proxy)}` };
    refuseWith = "403 Forbidden";
    const barred = await cli(["import", input, "-p", "zego", "-m", mapping, "--report", join(dir, "e.jsonl")], env);
    expect(barred.code, barred.stderr).toBe(2);
    expect(barred.stderr).toContain("the proxy refused the tunnel: 403 Forbidden");
    expect(barred.stderr).toContain("and whether it lets this host through");
    refuseWith = "502 Bad Gateway";
    tunnels = [];
    const report = join(dir, "f.jsonl");
    const down = await cli(["import", input, "-p", "zego", "-m", mapping, "--report", report, "--retries", "2", "--backoff-base", "1"], env);
    expect(down.code, down.stderr).toBe(1);
    expect(tunnels).toHaveLength(3);
    const rows = readReport(report);
    expect(rows.map((x) => x.status)).toEqual(["failed", "failed", "failed"]);
    expect(rows[0]!.message).toContain("the proxy refused the tunnel: 502 Bad Gateway");
    // Never sent: no doubt that the vendor created them.
    expect(rows[0]!.message).not.toContain("may have created the user");
  }, 70_000);

  it("an http:// endpoint (--allow-insecure-endpoint) goes through HTTP_PROXY, which HTTPS_PROXY does not stand for", async () => {
    const input5 = write(dir, "u5.csv", csv(["user_id", "name"], [["h1", "Ann"]]));
    const r = await cli(["import", input5, "-p", "zego", "-m", mapping, "--report", join(dir, "g.jsonl"), "--endpoint", "http://zego.example.test", "--allow-insecure-endpoint"], { ...ZEGO, HTTP_PROXY: `http://127.0.0.1:${port(proxy)}`, HTTPS_PROXY: "http://127.0.0.1:9" });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`through the proxy http://127.0.0.1:${port(proxy)}/`);
    expect(forwarded.some((u) => u.startsWith("http://zego.example.test/?Action=UserRegister"))).toBe(true);
    expect(tunnels).toEqual([]);
    expect((emu.users() as { UserId: string }[]).map((u) => u.UserId)).toContain("h1");
  }, 70_000);

  it("an adapter's own calls go through it too (GenAuth's management token)", async () => {
    const env = { GENAUTH_ACCESS_KEY_ID: "AKID-PROXY", GENAUTH_ACCESS_KEY_SECRET: "ak-proxy-secret-0001", GENAUTH_USER_POOL_ID: "pool-proxy" };
    const genauth = createGenauthEmulator({ env });
    await genauth.listen(0);
    try {
      upstream = new URL(genauth.url);
      const users = write(dir, "g.csv", csv(["email"], [["g1@x.io"], ["g2@x.io"]]));
      const gm = write(dir, "g.yaml", "fields:\n  email: email\n");
      const r = await cli(["import", users, "-p", "genauth", "-m", gm, "--report", join(dir, "h.jsonl")], { ...env, BULK_USERS_ENDPOINT: VENDOR, HTTPS_PROXY: `http://127.0.0.1:${port(proxy)}` });
      expect(r.code, r.stderr).toBe(0);
      expect((genauth.users() as { email: string }[]).map((u) => u.email).sort()).toEqual(["g1@x.io", "g2@x.io"]);
      // The token and the batch each opened a tunnel or shared a kept-alive one; none went direct.
      expect(tunnels.length).toBeGreaterThan(0);
      expect(tunnels.every((t) => t.target === "zego.example.test:443")).toBe(true);
    } finally {
      await genauth.close();
    }
  }, 70_000);

  it("a proxy given without a scheme is an http:// one; one that does not parse is refused before anything is opened", async () => {
    const input6 = write(dir, "u6.csv", csv(["user_id", "name"], [["n1", "Ann"]]));
    const r = await cli(["import", input6, "-p", "zego", "-m", mapping, "--report", join(dir, "i.jsonl")], { ...ZEGO, BULK_USERS_ENDPOINT: VENDOR, HTTPS_PROXY: `127.0.0.1:${port(proxy)}` });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`through the proxy http://127.0.0.1:${port(proxy)}/`);
    expect(tunnels.map((t) => t.target)).toContain("zego.example.test:443");
    const report = join(dir, "j.jsonl");
    for (const bad of ["http://pu:BadProxyPw-1@[bad", "pu:BadProxyPw-1@[bad", "socks5://127.0.0.1:1080", " "]) {
      const b = await cli(["import", input6, "-p", "zego", "-m", mapping, "--report", report], { ...ZEGO, BULK_USERS_ENDPOINT: VENDOR, ALL_PROXY: bad });
      expect(b.code, bad).toBe(2);
      expect(b.stderr).toContain("Invalid proxy in ALL_PROXY");
      expect(b.stderr).not.toContain("BadProxyPw-1");
      expect(b.stderr).not.toContain("unexpected failure");
      expect(existsSync(`${report}.sent`)).toBe(false);
    }
  }, 70_000);

  it("a proxy that hangs up before opening the tunnel leaves no doubt that the vendor got the users", async () => {
    hangUp = true;
    const report = join(dir, "k.jsonl");
    const r = await cli(["import", input, "-p", "zego", "-m", mapping, "--report", report, "--retries", "0"], { ...ZEGO, BULK_USERS_ENDPOINT: VENDOR, HTTPS_PROXY: `http://127.0.0.1:${port(proxy)}` });
    expect(r.code, r.stderr).toBe(1);
    const rows = readReport(report);
    expect(rows.map((x) => x.status)).toEqual(["failed", "failed", "failed"]);
    expect(rows[0]!.message).not.toContain("may have created the user");
  }, 70_000);

  it("plain http through HTTP_PROXY: a 407 stops the run too", async () => {
    requireAuth = true;
    const input7 = write(dir, "u7.csv", csv(["user_id", "name"], [["x1", "Ann"]]));
    const r = await cli(["import", input7, "-p", "zego", "-m", mapping, "--report", join(dir, "l.jsonl"), "--endpoint", "http://zego.example.test", "--allow-insecure-endpoint"], { ...ZEGO, HTTP_PROXY: `http://pu:wrong@127.0.0.1:${port(proxy)}` });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("the proxy refused the request: 407");
    expect(forwarded).toHaveLength(1);
  }, 70_000);

  it("never proxies loopback: an emulator on 127.0.0.1 is reached directly", async () => {
    const input4 = write(dir, "u4.csv", csv(["user_id", "name"], [["l1", "Ann"]]));
    const r = await cli(["import", input4, "-p", "zego", "-m", mapping, "--report", join(dir, "d.jsonl"), "--endpoint", emu.url], { ...ZEGO, HTTPS_PROXY: "http://127.0.0.1:9", HTTP_PROXY: "http://127.0.0.1:9" });
    expect(r.code, r.stderr).toBe(0);
    // A proxy the run would not use is left alone, even one it could not use (SOCKS).
    const s = await cli(["import", input4, "-p", "zego", "-m", mapping, "--report", join(dir, "d2.jsonl"), "--endpoint", emu.url], { ...ZEGO, ALL_PROXY: "socks5://127.0.0.1:1080" });
    expect(s.code, s.stderr).toBe(0);
    expect(r.stderr).toContain(`Sending to ${emu.url}/ (--endpoint)\n`);
    expect(tunnels).toEqual([]);
  }, 70_000);
});

describe("proxyFor", () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"]) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it("picks HTTPS_PROXY for https, HTTP_PROXY for http, ALL_PROXY else; NO_PROXY and loopback go direct", () => {
    process.env.HTTPS_PROXY = "http://sec:3128";
    process.env.HTTP_PROXY = "http://plain:3128";
    delete process.env.https_proxy;
    delete process.env.http_proxy;
    expect(proxyFor(new URL("https://zim-api.zego.im/?Action=UserRegister"))).toBe("http://sec:3128");
    expect(proxyFor(new URL("http://app.imkit.example/"))).toBe("http://plain:3128");
    expect(proxyFor(new URL("https://127.0.0.1:8443/"))).toBe("");
    expect(proxyFor(new URL("http://localhost:8080/"))).toBe("");
    process.env.NO_PROXY = "internal.example,.zego.im";
    expect(proxyFor(new URL("https://zim-api.zego.im/"))).toBe("");
    expect(proxyFor(new URL("https://internal.example/"))).toBe("");
    expect(proxyFor(new URL("https://api.royalti.io/"))).toBe("http://sec:3128");
    delete process.env.HTTPS_PROXY;
    delete process.env.NO_PROXY;
    process.env.ALL_PROXY = "http://all:8080";
    expect(proxyFor(new URL("https://api.royalti.io/"))).toBe("http://all:8080");
  });
});
