import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  emulators,
  isBulkUsersError,
  loadProvider,
  runImport,
  validate,
  type Emulator,
  type EmulatorOptions,
  type FaultOptions,
  type FieldIssue,
  type InputFormat,
  type ParseThread,
  type Progress,
  type Provider,
  type SuccessStatus,
} from "../../src/index.js";
import { createZegoEmulator } from "../../src/emulators/zego.js";
import { csv, readReport, tmp, write } from "../helpers.js";

const env = { ZEGO_APP_ID: "555", ZEGO_SERVER_SECRET: "library-secret-library-secret-01" };

describe("library API: what a wrapper needs is exported from the package root", () => {
  it("types of emulators, faults, inputs and outcomes; a provider's options are unknown until its own type says", async () => {
    // A wrapper that starts an emulator with faults, written against the root's exports only.
    const start = async (faults: FaultOptions, opts: Omit<EmulatorOptions, "env" | "faults"> = {}): Promise<Emulator> => {
      const def = await emulators.zego!();
      const emu = def.create({ env: def.sandboxEnv(), faults, ...opts });
      await emu.listen(0);
      return emu;
    };
    const emu = await start({ error: 0 });
    await emu.close();
    const format: InputFormat = "csv";
    const thread: ParseThread = "off";
    const ok: SuccessStatus = "exists";
    const p: Provider = await loadProvider("royalti");
    const issues: readonly FieldIssue[] = p.validateUser?.({ email: "x" }, { sendEmail: false }) ?? [];
    expect([format, thread, ok, Array.isArray(issues)]).toEqual(["csv", "off", "exists", true]);
    const e = await validate({ files: ["missing.csv"], provider: "zego" }).catch((x: unknown) => x);
    expect(isBulkUsersError(e)).toBe(true);
  });
});

describe("library API", () => {
  let emu: Emulator;
  const dir = tmp();
  beforeAll(async () => {
    emu = createZegoEmulator({ env, latencyMs: 30 });
    await emu.listen(0);
  });
  afterAll(() => emu.close());

  it("runImport takes an AbortSignal: aborting stops reading, finishes requests in flight and says interrupted", async () => {
    const f = write(dir, "big.csv", csv(["user_id"], Array.from({ length: 4000 }, (_, i) => [`lib${i}`])));
    const ctl = new AbortController();
    const seen: Progress[] = [];
    const s = await runImport({
      files: [f],
      provider: "zego",
      env,
      endpoint: emu.url,
      report: `${dir}/lib.jsonl`,
      rate: 10,
      signal: ctl.signal,
      onProgress: (p) => {
        seen.push(p);
        if (p.sent >= 500) ctl.abort();
      },
    });
    expect(s.stopped).toBe("interrupted");
    expect(s.exitCode).toBe(3);
    expect(s.counts.created).toBeGreaterThanOrEqual(500);
    expect(s.counts.created).toBeLessThan(4000);
    expect(emu.users().length).toBe(s.counts.created);
    expect(readReport(`${dir}/lib.jsonl`)).toHaveLength(s.counts.created);
    expect(seen.length).toBeGreaterThan(0);
    expect(s.counts.created + s.notSent).toBe(s.rows);
  });

  it("rows read and batched but not sent when a run stops are counted, so its summary adds up", async () => {
    const f = write(dir, "slow.csv", csv(["user_id"], Array.from({ length: 2000 }, (_, i) => [`slow${i}`])));
    const ctl = new AbortController();
    // 2 requests a second and 4 batches in hand: when the first answer is in, two batches are still waiting for the quota.
    const s = await runImport({ files: [f], provider: "zego", env, endpoint: emu.url, report: `${dir}/slow.jsonl`, rate: 2, signal: ctl.signal, onProgress: (p) => p.sent > 0 && ctl.abort() });
    expect(s.stopped).toBe("interrupted");
    expect(s.notSent).toBeGreaterThanOrEqual(100);
    expect(s.counts.created + s.notSent).toBe(s.rows);
    expect(readReport(`${dir}/slow.jsonl`)).toHaveLength(s.counts.created);
  });

  it("several input files in one run: duplicates across files name the first file and line", async () => {
    const a = write(dir, "a.csv", csv(["user_id"], [["m1"], ["m2"]]));
    const b = write(dir, "b.jsonl", '{"user_id":"m3"}\n{"user_id":"m1"}\n');
    const s = await validate({ files: [a, b], provider: "zego", report: `${dir}/multi.jsonl` });
    expect(s.counts).toMatchObject({ valid: 3, duplicate: 1 });
    const dup = readReport(`${dir}/multi.jsonl`).find((r) => r.status === "duplicate")!;
    expect(dup).toMatchObject({ file: b, line: 2 });
    expect(dup.message).toContain(`${a} line 2`);
  });

  it("--max-errors stops early with exit 3", async () => {
    const f = write(dir, "bad.csv", csv(["user_id"], [["ok1"], ["b 1"], ["b 2"], ["b 3"], ["ok2"]]));
    const s = await validate({ files: [f], provider: "zego", report: `${dir}/max.jsonl`, maxErrors: 2 });
    expect(s.stopped).toBe("max-errors");
    expect(s.exitCode).toBe(3);
    expect(s.counts.invalid).toBe(2);
  });
});
