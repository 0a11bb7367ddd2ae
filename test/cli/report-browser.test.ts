import { readFileSync, statSync, writeFileSync } from "node:fs";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createZegoEmulator } from "../../src/emulators/zego.js";
import type { Emulator } from "../../src/emulators/_base.js";
import { csv, runCli, tmp, write } from "../helpers.js";

const env = { ZEGO_APP_ID: "888", ZEGO_SERVER_SECRET: "html-secret-html-secret-html-001" };

/** Debian's Chromium (.ci/run installs it); Playwright downloads no browser of its own. */
const CHROMIUM = "/usr/bin/chromium";

/**
 * Headless Chromium on a fresh profile (the `--user-data-dir` Playwright passes for a persistent
 * context), kept off the network: no sync, updates, QUIC or background requests.
 */
function launch(): Promise<BrowserContext> {
  return chromium.launchPersistentContext(tmp("bu-chromium-profile-"), {
    executablePath: CHROMIUM,
    headless: true, // Playwright adds --headless
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1000, height: 800 },
  });
}

/** The HTML report as a person sees it: rendered by headless Chromium. */
describe("report --html in a browser", () => {
  let emu: Emulator;
  let browser: BrowserContext;
  const dir = tmp("bu-html-");
  beforeAll(async () => {
    emu = createZegoEmulator({ env, latencyMs: 20 });
    await emu.listen(0);
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await emu.close();
  });

  async function open(html: string) {
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on("request", (q) => requests.push(q.url()));
    const dialogs: string[] = [];
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(`file://${html}`);
    return { page, requests, dialogs };
  }

  it("renders totals, error groups and the chart of an import; the screenshot is not blank", async () => {
    // 900 users at 4 requests/s: a run of a few seconds, so the chart has several bars.
    const rows = Array.from({ length: 900 }, (_, i) => [i % 50 === 0 ? `bad id ${i}` : i === 7 ? "<script>alert(1)<script>" : `h${i}`]);
    const f = write(dir, "u.csv", csv(["user_id"], [...rows, ["<script>alert(1)<script>"]]));
    await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/r.jsonl`, "--rate", "4"], { env });
    const r = await runCli(["report", `${dir}/r.jsonl`, "--html", `${dir}/r.html`]);
    expect(r.code).toBe(0);
    const { page, requests, dialogs } = await open(`${dir}/r.html`);
    const totals = await page.locator("#totals").innerText();
    expect(totals).toMatch(/882\s*created/);
    expect(totals).toMatch(/18\s*invalid/);
    expect(totals).toMatch(/1\s*duplicate/);
    expect(totals).toMatch(/901\s*total/);
    expect(await page.locator("#facts").innerText()).toMatch(/provider\s*zego/);
    expect(await page.locator("h3").first().innerText()).toMatch(/BAD_CHARACTERS — 18 row\(s\)/);
    // The hostile key shows as text, and nothing ran.
    const text = await page.locator("body").innerText();
    expect(text).toContain("<script>alert(1)<script>");
    expect(await page.locator("script").count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(await page.locator("#chart rect").count()).toBeGreaterThan(2);
    const box = await page.locator("#chart").boundingBox();
    expect(box!.width).toBeGreaterThan(500);
    expect(box!.height).toBeGreaterThan(100);
    const png = `${dir}/r.png`;
    await page.screenshot({ path: png, fullPage: true });
    expect(statSync(png).size).toBeGreaterThan(10_000);
    expect(readFileSync(png).subarray(1, 4).toString()).toBe("PNG");
    // Self-contained: nothing but the page itself was loaded.
    expect(requests.every((u) => u.startsWith("file://"))).toBe(true);
    await page.close();
  });

  it("renders the attempts chart of a report without per-row times", async () => {
    const rows = Array.from({ length: 40 }, (_, i) => JSON.stringify({ file: "u.csv", line: i + 2, key: `a${i}`, status: i < 36 ? "created" : "failed", attempts: i % 5 === 0 ? 2 : 1, ...(i >= 36 && { code: "TIMEOUT", message: "no answer" }) }));
    writeFileSync(`${dir}/old.jsonl`, `${rows.join("\n")}\n`);
    await runCli(["report", `${dir}/old.jsonl`, "--html", `${dir}/old.html`]);
    const { page } = await open(`${dir}/old.html`);
    expect(await page.locator("#totals").innerText()).toMatch(/36\s*created[\s\S]*4\s*failed[\s\S]*40\s*total/);
    expect(await page.locator("body").innerText()).toContain("no per-row time");
    expect(await page.locator("#chart rect").count()).toBe(2);
    await page.screenshot({ path: `${dir}/old.png` });
    expect(statSync(`${dir}/old.png`).size).toBeGreaterThan(5_000);
    await page.close();
  });
});
