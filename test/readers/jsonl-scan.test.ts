import { inspect, isDeepStrictEqual } from "node:util";
import { createRng } from "../../src/emulators/_base.js";
import { describe, expect, it } from "vitest";
import { valueGetter } from "../../src/mapping/path.js";
import { JsonlScanner } from "../../src/readers/jsonl-scan.js";


const COLUMNS = ["id", "name.first", "name.last", "tags.0", "tags.0.k", "tags.length", "deep.a.b.c", "missing", "__proto__", "constructor", "name", "a..b", ""];
const KEYS = ["id", "name", "first", "last", "tags", "0", "k", "deep", "a", "b", "c", "", "__proto__", "constructor", "toString", "name.first", "x", "\\u0069d", "na\\u006de", "fir\\u0073t"];
const CHARS = ["a", "Z", "0", " ", ",", ":", "{", "}", "[", "]", "é", "王", "😀", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u00e9", "\\u0000", "\\ud83d", "\\uDE00"];
// Raw characters JSON does not allow in a string (the CR is the one a CRLF line keeps before its end).
const BAD_CHARS = ["\u0001", "\t", "\r", "\u001f", "\\x", "\\u12", "\\uZZZZ", "\\"];
const NUMBERS = ["0", "-0", "7", "-12", "3.25", "1e9", "1E+2", "2.5e-3", "-0.0e0", "01", "1.", ".5", "-", "1e", "+1", "0x1", "1e400", "12345678901234567890"];
const WS = [...Array<string>(30).fill(""), " ", " ", "  ", "\t", "\r", "\u00a0"];

function generator(seed: number) {
  const r = createRng(seed);
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)]!;
  const ws = () => pick(WS);
  const str = (): string => {
    let s = "";
    const n = Math.floor(r() * 6);
    for (let i = 0; i < n; i++) s += r() < 0.03 ? pick(BAD_CHARS) : pick(CHARS);
    return `"${s}"`;
  };
  const value = (depth: number): string => {
    const x = r();
    if (x < 0.35) return str();
    if (x < 0.5) return pick(NUMBERS);
    if (x < 0.58) return pick(["true", "false", "null", "tru", "nul", "True"]);
    if (depth > 3) return str();
    if (x < 0.82) return object(depth + 1);
    const n = Math.floor(r() * 3);
    const items = Array.from({ length: n }, () => ws() + value(depth + 1) + ws());
    return `[${items.join(",")}${r() < 0.02 ? "," : ""}]`;
  };
  const object = (depth: number): string => {
    const n = Math.floor(r() * 5);
    const members = Array.from({ length: n }, () => `${ws()}"${pick(KEYS)}"${ws()}:${ws()}${value(depth)}${ws()}`);
    return `{${members.join(r() < 0.02 ? ",," : ",")}}`;
  };
  const line = (): string => {
    // Half the lines shaped like the columns (so that they have values to compare), half random.
    const shaped = () => {
      const m = (k: string, v: string) => `${ws()}"${k}"${ws()}:${ws()}${v}${ws()}`;
      const members = [m(pick(["id", "\\u0069d"]), value(2)), m("name", r() < 0.8 ? `{${m("first", value(3))},${m("last", value(3))}}` : value(2)), m("deep", `{${m("a", `{${m("b", `{${m("c", value(4))}}`)}}`)}}`)];
      if (r() < 0.3) members.push(m("tags", `[${value(3)}]`));
      if (r() < 0.2) members.push(m(pick(KEYS), value(1)));
      return `{${members.sort(() => r() - 0.5).join(",")}}`;
    };
    const top = r() < 0.5 ? shaped() : r() < 0.93 ? object(0) : value(0);
    let s = `${ws()}${top}${ws()}`;
    // Mutations: one edit of a valid-looking line, most of them making it invalid.
    if (r() < 0.3) {
      const at = Math.floor(r() * (s.length + 1));
      const edit = r();
      if (edit < 0.4) s = s.slice(0, at) + s.slice(at + 1);
      else if (edit < 0.8) s = s.slice(0, at) + pick(['"', "{", "}", "[", "]", ",", ":", "\\", "1", "e", "-", " ", "\u0000"]) + s.slice(at);
      else s = s.slice(0, at) + s.slice(at, at + 2).split("").reverse().join("") + s.slice(at + 2);
    }
    return s;
  };
  return line;
}

describe("JSONL scanner", () => {
  it("accepts only lines JSON.parse accepts, and reads each column as the getter reads it from JSON.parse's object", () => {
    const line = generator(20261202);
    const lines = Array.from({ length: 60_000 }, line);
    // Read within one block of text, as the reader does: each line between its neighbours' LFs.
    const block = lines.join("\n");
    const scanner = new JsonlScanner(COLUMNS);
    const getters = COLUMNS.map(valueGetter);
    const out: unknown[] = [];
    let start = 0;
    let accepted = 0;
    let parsedObjects = 0;
    let compared = 0;
    for (const text of lines) {
      const end = start + text.length;
      let parsed: unknown;
      let ok = true;
      try {
        parsed = JSON.parse(text);
      } catch {
        ok = false;
      }
      const isObject = ok && parsed !== null && typeof parsed === "object" && !Array.isArray(parsed);
      if (isObject) parsedObjects++;
      if (scanner.read(block, start, end, out)) {
        accepted++;
        expect({ text, isObject }).toEqual({ text, isObject: true });
        for (let j = 0; j < COLUMNS.length; j++) {
          const want = getters[j]!(parsed as Record<string, unknown>);
          // isDeepStrictEqual, not toStrictEqual: that one compares own `constructor` keys as classes.
          if (!isDeepStrictEqual(out[j], want)) expect.fail(`${JSON.stringify(text)} ${COLUMNS[j]}: read ${inspect(out[j])}, JSON.parse ${inspect(want)}`);
          if (want !== undefined) compared++;
        }
      }
      start = end + 1;
    }
    // The scanner leaves to JSON.parse only the lines it must (arrays on a dotted column's way): most objects go through it.
    expect(parsedObjects).toBeGreaterThan(10_000);
    expect(accepted / parsedObjects).toBeGreaterThan(0.85);
    expect(compared).toBeGreaterThan(10_000);
  });

  it("reads a CRLF line up to its CR, repeated keys as the last one, and escaped keys by their text", () => {
    const scanner = new JsonlScanner(["id", "name.first", "name.last"]);
    const out: unknown[] = [];
    const text = '{"id":"a","name":{"first":"x"},"name":{"last":"y"},"\\u0069d":"b"}\r';
    expect(scanner.read(text, 0, text.length - 1, out)).toBe(true);
    expect(out).toEqual(["b", undefined, "y"]);
    // A raw CR inside a string is not JSON; neither is one before the line's end.
    expect(scanner.read('{"id":"a\rb"}', 0, 12, out)).toBe(false);
    expect(scanner.read('{"id":"a"}\r', 0, 11, out)).toBe(true);
    expect(scanner.read('{"id":"a"}\r\r', 0, 11, out)).toBe(true);
    // An array on a dotted column's way: JSON.parse decides (the getter reads `length` and indexes).
    expect(scanner.read('{"name":["x"]}', 0, 14, out)).toBe(false);
    // Nested deeper than the scanner follows.
    const deep = `{"id":${"[".repeat(70)}${"]".repeat(70)}}`;
    expect(scanner.read(deep, 0, deep.length, out)).toBe(false);
    expect(JSON.parse(deep).id).toHaveLength(1);
    const nested = `{"id":"a","x":${'{"k":'.repeat(70)}1${"}".repeat(70)}}`;
    expect(scanner.read(nested, 0, nested.length, out)).toBe(false);
    // Thousands deep: no stack overflow, JSON.parse decides.
    const deeper = `{"x":${"[".repeat(5000)}${"]".repeat(5000)}}`;
    expect(scanner.read(deeper, 0, deeper.length, out)).toBe(false);
  });
});
