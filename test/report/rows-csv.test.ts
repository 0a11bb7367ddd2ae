import { describe, expect, it } from "vitest";
import { reportRows } from "../../src/report/rows.js";
import { REPORT_COLUMNS } from "../../src/report/writer.js";
import type { ReportRow } from "../../src/types.js";
import { tmp, write } from "../helpers.js";

async function rowsOf(file: string): Promise<(ReportRow | undefined)[]> {
  const out: (ReportRow | undefined)[] = [];
  for await (const r of reportRows(file)) out.push(r);
  return out;
}

describe("reportRows: a CSV report read back", () => {
  it("`retryable` is read as written: false stays false, true stays true, empty stays absent", async () => {
    const file = write(
      tmp(),
      "r.csv",
      `${REPORT_COLUMNS.join(",")}\n` +
        "u.csv,2,a,failed,E_BAD,bad email,email,,1,false,120\n" +
        "u.csv,3,b,failed,E_RATE,slow down,,,2,true,340\n" +
        "u.csv,4,c,created,,,,id-9,1,,400\n",
    );
    const rows = await rowsOf(file);
    expect(rows).toEqual([
      { file: "u.csv", line: 2, key: "a", status: "failed", code: "E_BAD", message: "bad email", field: "email", attempts: 1, retryable: false, t: 120 },
      { file: "u.csv", line: 3, key: "b", status: "failed", code: "E_RATE", message: "slow down", attempts: 2, retryable: true, t: 340 },
      { file: "u.csv", line: 4, key: "c", status: "created", id: "id-9", attempts: 1, t: 400 },
    ]);
  });
});
