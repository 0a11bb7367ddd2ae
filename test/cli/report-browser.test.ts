import { statSync } from "node:fs";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createZegoEmulator } from "../../src/emulators/zego.js";
import type { Emulator } from "../../src/emulators/_base.js";
import { csv, runCli, tmp, write } from "../helpers.js";

const env = { ZEGO_APP_ID: "888", ZEGO_SERVER_SECRET: "html-secret-html-secret-html-001" };

/** The HTML report as a person sees it: rendered by headless Chromium (installed by .ci/run). */
describe("report --html in a browser", () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = createZegoEmulator({ env, latencyMs: 20 });
    await emu.listen(0);
  });
  afterAll(() => emu.close());

  it("renders totals, error groups and the chart; the screenshot is not blank", async () => {
    const dir = tmp("bu-html-");
    const rows = Array.from({ length: 900 }, (_, i) => [i % 50 === 0 ? `bad id ${i}` : `h${i}`]);
    const f = write(dir, "u.csv", csv(["user_id"], rows));
    await runCli(["import", f, "-p", "zego", "--endpoint", emu.url, "--report", `${dir}/r.jsonl`, "--rate", "4"], { env });
    const r = await runCli(["report", `${dir}/r.jsonl`, "--html", `${dir}/r.html`]);
    expect(r.code).toBe(0);
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      // Playwright gives the browser a fresh profile of its own; these keep it off the network.
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
      const requests: string[] = [];
      page.on("request", (q) => requests.push(q.url()));
      await page.goto(`file://${dir}/r.html`);
      const totals = await page.locator("#totals").innerText();
      expect(totals).toMatch(/882\s*created/);
      expect(totals).toMatch(/18\s*invalid/);
      expect(await page.locator("h3").first().innerText()).toMatch(/BAD_CHARACTERS — 18 row\(s\)/);
      expect(await page.locator("svg rect").count()).toBeGreaterThan(2);
      const png = `${dir}/r.png`;
      await page.screenshot({ path: png, fullPage: true });
      expect(statSync(png).size).toBeGreaterThan(10_000);
      // Self-contained: nothing but the page itself was loaded.
      expect(requests.every((u) => u.startsWith("file://"))).toBe(true);
    } finally {
      await browser.close();
    }
  });
});
