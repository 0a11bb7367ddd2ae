import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runImport } from "../../src/index.js";
import { readReport, tmp, write } from "../helpers.js";

// JSON's \u escapes can spell half of a surrogate pair, which is no character at all.
describe("lone surrogates from JSONL escapes", () => {
  it("make the row invalid, naming the field; a whole pair and U+FFFD stay valid", async () => {
    const dir = tmp();
    const lines = [
      String.raw`{"id":"a\ud83d","name":"Ada"}`,
      String.raw`{"id":"a\ufffd","name":"Ada"}`,
      String.raw`{"id":"b\ud83d\ude00","name":"Bo"}`,
      String.raw`{"id":"c","name":"x\ude00y"}`,
      String.raw`{"id":"d","name":"Di"}`,
    ];
    const file = write(dir, "users.jsonl", `${lines.join("\n")}\n`);
    const report = join(dir, "report.jsonl");
    await runImport({ files: [file], provider: "imkit", mapping: { fields: { _id: "id", nickname: "name" } }, dryRun: true, report });
    const rows = readReport(report).map((r) => [r.line, r.status, r.code, r.field]);
    expect(rows).toEqual([
      [1, "invalid", "BAD_CHARACTERS", "_id"],
      [2, "valid", undefined, undefined],
      [3, "valid", undefined, undefined],
      [4, "invalid", "BAD_CHARACTERS", "nickname"],
      [5, "valid", undefined, undefined],
    ]);
    expect(readReport(report)[0]!.message).toMatch(/^_id holds a lone UTF-16 surrogate/);
  });
});
