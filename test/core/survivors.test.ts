import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadProvider, providers, runImport, type Provider } from "../../src/index.js";
import { createZegoEmulator } from "../../src/emulators/zego.js";
import type { Emulator } from "../../src/emulators/_base.js";
import { csv, readReport, tmp, write } from "../helpers.js";

// Tests written against mutants an earlier audit left alive (no test failed when they were applied).

const env = { ZEGO_APP_ID: "987654321", ZEGO_SERVER_SECRET: "core-survivors-secret-core-surv1" };

describe("survivors: rows read but given no outcome (library API)", () => {
  let emu: Emulator;
  const dir = tmp();
  beforeAll(async () => {
    emu = createZegoEmulator({ env });
    await emu.listen(0);
  });
  afterAll(async () => {
    delete providers["zego-lossy"];
    await emu.close();
  });

  it("a run that was not stopped but left rows without an outcome never exits 0 (the notSent guard)", async () => {
    // A registered adapter whose first answer is a result kind the sender does not know (a newer
    // adapter contract, a bug): that batch's 100 rows get no outcome although nothing stopped the run.
    const zego = await loadProvider("zego");
    let answers = 0;
    const lossy: Provider = {
      ...zego,
      name: "zego-lossy",
      parseResponse: (res, users, ctx) => (answers++ === 0 ? ({ kind: "lost", code: "X", message: "x" } as never) : zego.parseResponse(res, users, ctx)),
    };
    providers["zego-lossy"] = async () => lossy;
    const f = write(dir, "lossy.csv", csv(["user_id"], Array.from({ length: 300 }, (_, i) => [`lo${i}`])));
    const s = await runImport({ files: [f], provider: "zego-lossy", env, endpoint: emu.url, report: `${dir}/lossy.jsonl`, concurrency: 1 });
    expect(s.stopped).toBeUndefined();
    expect(s.counts).toMatchObject({ created: 200, invalid: 0, duplicate: 0, failed: 0 });
    expect(s.notSent).toBe(100);
    expect(s.exitCode).toBe(1);
    expect(readReport(`${dir}/lossy.jsonl`)).toHaveLength(200);
  });
});

describe("survivors: notSent with users already there (library API)", () => {
  let emu: Emulator;
  const dir = tmp();
  beforeAll(async () => {
    emu = createZegoEmulator({ env, latencyMs: 30 });
    await emu.listen(0);
  });
  afterAll(() => emu.close());

  it("a stopped run over users already there: exists + created + not sent = rows read (exists rows are not counted as not sent)", async () => {
    const ids = Array.from({ length: 2000 }, (_, i) => [`pre${i}`]);
    // The first 400 users are there before the run.
    const pre = await runImport({ files: [write(dir, "pre.csv", csv(["user_id"], ids.slice(0, 400)))], provider: "zego", env, endpoint: emu.url, report: `${dir}/pre.jsonl` });
    expect(pre.counts.created).toBe(400);
    const ctl = new AbortController();
    // 2 requests a second: when the first answer is in, more batches are read and still wait for the quota.
    const s = await runImport({
      files: [write(dir, "all.csv", csv(["user_id"], ids))],
      provider: "zego",
      env,
      endpoint: emu.url,
      report: `${dir}/all.jsonl`,
      rate: 2,
      signal: ctl.signal,
      onProgress: (p) => p.sent > 0 && ctl.abort(),
    });
    expect(s.stopped).toBe("interrupted");
    expect(s.exitCode).toBe(3);
    expect(s.counts.exists).toBeGreaterThanOrEqual(100);
    expect(s.notSent).toBeGreaterThanOrEqual(100);
    expect(s.counts.exists + s.counts.created + s.notSent).toBe(s.rows);
    expect(readReport(`${dir}/all.jsonl`)).toHaveLength(s.counts.exists + s.counts.created);
  });
});
