import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { valueGetter } from "../../src/mapping/path.js";
import { materializeJsonl, readJsonl, readJsonlBatches, readJsonlChunks } from "../../src/readers/jsonl.js";
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
    const text = `${lines.join("\n")}\n`;
    const whole: SourceRecord[] = [];
    for await (const b of readJsonlBatches(Readable.from([text]), "in.jsonl", 0, { keepText: true })) whole.push(...b);
    // Through the structured clone a worker's message goes through.
    const back: SourceRecord[] = [];
    for await (const c of readJsonlChunks(Readable.from([text]), "in.jsonl", 0, { keepText: true }, async () => columns))
      back.push(...materializeJsonl(structuredClone(c), columns, "in.jsonl", 0));
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

  it("reads the same records line by line through the scanner as through JSON.parse, whatever the stream's pieces", async () => {
    const lines = [
      "not json first",
      "",
      '\uFEFF{"id":"bom"}',
      '{"id":"a","name":{"first":"Zoë","last":"王"},"extra":[1,{"x":null}]}\r',
      '  {"id":"lead","name":{"first":"x\\"y"}}  ',
      '{"id":"tab\there"}',
      '{"id":"cr\rinside"}',
      `{"id":"${"long".repeat(30)}"}`,
      '{"id":"bad\ufffdbyte"}',
      '{"id":7,"name":["arr"]}',
      '{"id":"dup","id":"last","name":{"first":"f"},"name":{"last":"l"}}',
      "[1]",
      String.raw`{"id":"\u0000nul","\u006eame":{"first":1.5e3}}`,
      '{"id":"end no newline"}',
    ];
    const text = lines.join("\n");
    const columns = ["id", "name.first", "name.last"];
    const opts = { keepText: true, maxLineLength: 100 };
    const want: SourceRecord[] = [];
    for await (const b of readJsonlBatches(Readable.from([text]), "in.jsonl", 0, opts)) want.push(...b);
    // A BOM is only cut from line 1; U+FFFD stands for a byte that was not UTF-8.
    expect(want.map((r) => r.error?.code ?? "ok")).toEqual(["INPUT_BAD_JSON", "INPUT_BAD_JSON", "ok", "ok", "INPUT_BAD_JSON", "INPUT_BAD_JSON", "LINE_TOO_LARGE", "INVALID_UTF8", "ok", "ok", "INPUT_NOT_OBJECT", "ok", "ok"]);
    for (const size of [1, 3, 7, 64, text.length]) {
      const pieces: string[] = [];
      for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
      const got: SourceRecord[] = [];
      let asked: string[] | undefined;
      const columnsFor = async (keys: string[]) => ((asked = keys), columns);
      for await (const c of readJsonlChunks(Readable.from(pieces), "in.jsonl", 0, opts, columnsFor)) got.push(...materializeJsonl(structuredClone(c), columns, "in.jsonl", 0));
      expect(asked).toEqual(["id", "name", "extra"]);
      expect(got.map((r) => [r.line, r.error])).toEqual(want.map((r) => [r.line, r.error]));
      for (let i = 0; i < want.length; i++) {
        if (want[i]!.error) continue;
        for (const c of columns) expect({ size, line: want[i]!.line, c, v: valueGetter(c)(got[i]!.data) }).toEqual({ size, line: want[i]!.line, c, v: valueGetter(c)(want[i]!.data) });
        expect({ size, raw: got[i]!.raw }).toEqual({ size, raw: want[i]!.raw });
      }
    }
  });

  it("counts a line's length without its BOM and its CRLF's CR wherever the reads split it, and names a CR alone in an over-long line", async () => {
    const max = 20;
    const exact = (id: string) => `{"id":"${id.padEnd(max - 9, "x")}"}`;
    expect(exact("a").length).toBe(max);
    const lines = [
      `\uFEFF${exact("bom")}\r`,
      `${exact("crlf")}\r`,
      `${exact("over")}y\r`,
      `{"id":"a"}\r{"id":"b"}\r{"id":"c"}\r`,
      exact("lf"),
      " \t \r",
      "\u00a0",
      "\u2028",
      '{"id":"\ufffd"}',
    ];
    const text = `${lines.join("\n")}\n`;
    const expected = [
      [1, "ok"],
      [2, "ok"],
      [3, "LINE_TOO_LARGE", "line is 21 characters (limit 20)"],
      [4, "LINE_TOO_LARGE", "line is 32 characters (limit 20) (the line holds a CR: JSONL lines end in LF or CRLF, so lines ending in a CR alone run together; convert them to LF)"],
      [5, "ok"],
      [7, "INPUT_BAD_JSON"],
      [8, "INPUT_BAD_JSON"],
      [9, "INVALID_UTF8", "line is not valid UTF-8 (or holds U+FFFD, the mark of an earlier bad conversion)"],
    ];
    const show = (rs: SourceRecord[]) => rs.map((r) => (r.error ? (r.error.code === "INPUT_BAD_JSON" ? [r.line, r.error.code] : [r.line, r.error.code, r.error.message]) : [r.line, "ok"]));
    const columns = ["id"];
    for (let size = 1; size <= text.length; size++) {
      const pieces: string[] = [];
      for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
      const one: SourceRecord[] = [];
      for await (const b of readJsonlBatches(Readable.from(pieces), "in.jsonl", 0, { maxLineLength: max })) one.push(...b);
      expect({ size, rows: show(one) }).toEqual({ size, rows: expected });
      const thread: SourceRecord[] = [];
      for await (const c of readJsonlChunks(Readable.from(pieces), "in.jsonl", 0, { maxLineLength: max }, async () => columns)) thread.push(...materializeJsonl(structuredClone(c), columns, "in.jsonl", 0));
      expect({ size, rows: show(thread) }).toEqual({ size, rows: expected });
    }
  });
});
