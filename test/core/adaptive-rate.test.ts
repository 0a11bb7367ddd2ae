import { afterAll, describe, expect, it } from "vitest";
import { runImport } from "../../src/core/import.js";
import { createZegoEmulator } from "../../src/emulators/zego.js";
import type { Emulator } from "../../src/emulators/_base.js";
import { csv, multiplicity, tmp, write } from "../helpers.js";

const env = { ZEGO_APP_ID: "42", ZEGO_SERVER_SECRET: "adaptive-secret-adaptive-secret0" };

describe("adaptive rate", () => {
  const emus: Emulator[] = [];
  afterAll(() => Promise.all(emus.map((e) => e.close())));

  it("a quota half used by someone else costs a few throttled answers, not a storm, and loses nobody", async () => {
    // The vendor lets this app through at 10 requests/s while the client believes 20.
    const emu = createZegoEmulator({ env, rateLimit: 10 });
    emus.push(emu);
    await emu.listen(0);
    const dir = tmp();
    const f = write(dir, "u.csv", csv(["user_id"], Array.from({ length: 6000 }, (_, i) => [`a${i}`])));
    const s = await runImport({ files: [f], provider: "zego", env, endpoint: emu.url, report: `${dir}/r.jsonl`, retries: 10, backoffBaseMs: 100 });
    expect(s.counts.created).toBe(6000);
    expect(multiplicity(emu.users(), "UserId").size).toBe(6000);
    // 60 batches; without adaptation every window past the first would bounce ~half its requests.
    expect(s.throttled).toBeGreaterThan(0);
    expect(s.throttled).toBeLessThanOrEqual(12);
  });
});
