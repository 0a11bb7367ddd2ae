import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KeySet } from "../../src/core/key-set.js";
import { compareMeta, keyHash, knownEntry, loadSent, readMeta, refusedEntry, sameUserEntry, sentPath, type RunMeta } from "../../src/core/resume.js";
import { BulkUsersError } from "../../src/errors.js";
import { tmp } from "../helpers.js";

const meta = (over: Partial<RunMeta> = {}): RunMeta => ({
  version: 1,
  provider: "zego",
  inputs: [{ file: "a.csv", sha256: "a".repeat(64), size: 100 }],
  mapping: { source: "m.yaml", sha256: "m".repeat(64) },
  startedAt: "2026-12-02T00:00:00.000Z",
  ...over,
});

/** The error compareMeta throws, or undefined when it accepts the resume. */
function refusal(old: RunMeta, cur: RunMeta, force: boolean): BulkUsersError | undefined {
  try {
    compareMeta(old, cur, force);
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(BulkUsersError);
    return e as BulkUsersError;
  }
}

describe("resuming checks it continues the same job", () => {
  it("an input edited to the same size is a changed input (by checksum), and --force lets it through", () => {
    const edited = meta({ inputs: [{ file: "a.csv", sha256: "b".repeat(64), size: 100 }] });
    const e = refusal(meta(), edited, false);
    expect(e?.code).toBe("RESUME_MISMATCH");
    expect(e?.message).toMatch(/input a\.csv changed since the earlier run/);
    expect(refusal(meta(), edited, true)).toBeUndefined();
    expect(refusal(meta(), meta(), false)).toBeUndefined();
  });

  it("a changed mapping is refused unless --force", () => {
    const cur = meta({ mapping: { source: "m.yaml", sha256: "n".repeat(64) } });
    expect(refusal(meta(), cur, false)?.message).toMatch(/mapping m\.yaml changed since the earlier run/);
    expect(refusal(meta(), cur, true)).toBeUndefined();
  });

  it("another provider, or another number of inputs, is refused even with --force", () => {
    for (const cur of [meta({ provider: "imkit" }), meta({ inputs: [...meta().inputs, { file: "b.csv", sha256: "c".repeat(64), size: 5 }] }), meta({ inputs: [] })]) {
      for (const force of [false, true]) {
        const e = refusal(meta(), cur, force);
        expect(e?.code).toBe("RESUME_MISMATCH");
        expect(e?.message).toMatch(/provider was zego, now imkit|input file\(s\) before/);
        expect(e?.hint).toMatch(/--force does not change that/);
      }
    }
  });

  it("a meta file that is JSON but not a run's meta is unreadable, named, not a crash", () => {
    const dir = tmp("bu-meta-");
    const report = join(dir, "r.jsonl");
    writeFileSync(report, "");
    for (const body of ["null", "[]", '"zego"', '{"provider":"zego"}', '{"provider":"zego","inputs":[{"file":"a.csv"}],"mapping":{"source":"m","sha256":"x"}}', JSON.stringify({ ...meta(), mapping: null }), JSON.stringify({ ...meta(), shard: 2 })]) {
      writeFileSync(`${report}.meta.json`, body);
      let e: unknown;
      try {
        readMeta(report);
      } catch (err) {
        e = err;
      }
      expect(e, body).toBeInstanceOf(BulkUsersError);
      expect((e as BulkUsersError).code).toBe("RESUME_UNREADABLE");
      expect((e as BulkUsersError).message).toContain(`${report}.meta.json is not a run's meta file`);
    }
    writeFileSync(`${report}.meta.json`, JSON.stringify(meta({ shard: "1/2" })));
    expect(readMeta(report)).toMatchObject({ provider: "zego", shard: "1/2" });
  });

  it("the journal's rows still in doubt are those neither done nor refused by the vendor, each carried once", async () => {
    const dir = tmp("bu-sent-");
    const report = join(dir, "r.jsonl");
    writeFileSync(report, "");
    // A torn last line was being written when the run died: its request had not gone out.
    writeFileSync(sentPath(report), "0:2:111\n0:3:222\n0:4:333\n0:5:444\n0:4:333\n1:6:55\n0:7:9");
    const done = new KeySet();
    done.add("0:2", 111);
    const known = new KeySet();
    known.add("0:3", knownEntry(keyHash("c"), true)); // the vendor refused it: not in doubt
    known.add("0:5", knownEntry(keyHash("e"), false)); // a transient failure: in doubt
    const carried: string[] = [];
    const sent = await loadSent(report, { done, known }, (id, hash) => carried.push(`${id}:${hash}`));
    expect(carried).toEqual(["0:4:333", "0:5:444", "1:6:55"]);
    expect([sent.get("0:4"), sent.get("0:5"), sent.get("1:6"), sent.get("0:2"), sent.get("0:3"), sent.get("0:7")]).toEqual([333, 444, 55, -1, -1, -1]);
  });

  it("a bad row's entry keeps who the line held and whether the vendor refused it, whatever the hash's low bit", () => {
    const set = new KeySet();
    for (const [i, hash] of [0, 1, 0xfffffffe, 0xffffffff, keyHash("a"), keyHash("b")].entries())
      for (const refused of [false, true]) {
        const id = `${i}:${refused}`;
        set.add(id, knownEntry(hash, refused));
        const e = set.get(id);
        expect(e).not.toBe(-1);
        expect(refusedEntry(e)).toBe(refused);
        expect(sameUserEntry(e, hash)).toBe(true);
        expect(sameUserEntry(e, (hash ^ 2) >>> 0)).toBe(false);
        expect(sameUserEntry(e, (hash ^ 0x80000000) >>> 0)).toBe(false);
      }
    expect(refusedEntry(-1)).toBe(false);
    expect(sameUserEntry(-1, 0xffffffff)).toBe(false);
  });
});
