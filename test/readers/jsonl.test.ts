import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { valueGetter } from "../../src/mapping/path.js";
import { materializeJsonl, projectJsonl, readJsonl, readJsonlBatches } from "../../src/readers/jsonl.js";
import type { SourceRecord } from "../../src/types.js";

describe("JSONL reader", () => {
  it("skips blank lines, keeps line numbers, and turns bad lines into row errors", async () => {
    const text = '{"id":"a"}\n\n{"id":"b"}\r\n{"id": \n[1,2]\n"str"\n{"id":"c","nested":{"x":1}}\n';
    const out: SourceRecord[] = [];
    for await (const r of readJsonl(Readable.from([text]), "in.jsonl", 0)) out.push(r);
    expect(out.map((r) => [r.line, r.error?.code ?? r.data.id])).toEqual([
      [1, "a"],
      [3, "b"],
      [4, "INPUT_BAD_JSON"],
      [5, "INPUT_NOT_OBJECT"],
      [6, "INPUT_NOT_OBJECT"],
      [7, "c"],
    ]);
  });

  it("sends the parse thread only the mapped columns, and every column reads back as from the whole object", async () => {
    const lines = [
      '{"id":"a","name":{"first":"Zoë","last":"李"},"extra":"dropped"}',
      '{"id":7,"name":{"first":null,"last":["x"]},"flag":true}',
      '{"id":"nul\\u0000in","name.first":"flat wins","name":{"first":"nested"}}',
      "not json",
      '{"name":"a string, not an object","tags":["t0","t1"]}',
      "[1]",
      '{"id":"","name":{},"tags":[{"k":"v"}],"__proto__":"own key"}',
      '{"id":"b","deep":{"a":{"b":{"c":"three"}}}}',
    ];
    const columns = ["id", "name.first", "name.last", "tags.0", "tags.0.k", "deep.a.b.c", "missing", "__proto__"];
    const batches: SourceRecord[][] = [];
    for await (const b of readJsonlBatches(Readable.from([`${lines.join("\n")}\n`]), "in.jsonl", 0, { keepText: true })) batches.push(b);
    const whole = batches.flat();
    // Through the structured clone a worker's message goes through.
    const back = batches.flatMap((b) => materializeJsonl(structuredClone(projectJsonl(b, columns, true)), columns, "in.jsonl", 0));
    expect(back.map((r) => [r.line, r.error?.code])).toEqual(whole.map((r) => [r.line, r.error?.code]));
    let compared = 0;
    for (let i = 0; i < whole.length; i++) {
      if (whole[i]!.error) {
        expect(back[i]).toEqual(whole[i]);
        continue;
      }
      for (const c of columns) {
        expect({ line: whole[i]!.line, c, v: valueGetter(c)(back[i]!.data) }).toEqual({ line: whole[i]!.line, c, v: valueGetter(c)(whole[i]!.data) });
        compared++;
      }
      expect(Object.keys(back[i]!.data).sort()).toEqual([...columns].sort());
      expect(JSON.parse(back[i]!.raw!)).toEqual(whole[i]!.data);
    }
    expect(compared).toBe(6 * columns.length);
    expect(valueGetter("name.first")(back[2]!.data)).toBe("flat wins");
    expect(valueGetter("__proto__")(back[6]!.data)).toBe("own key");
    expect(valueGetter("id")(back[2]!.data)).toBe("nul\u0000in");
  });
});
