import { describe, expect, it } from "vitest";
import { topLevelSpans } from "../../src/report/failed-out.js";

const values = (text: string) => Object.fromEntries([...topLevelSpans(text).spans].map(([k, [a, b]]) => [k, text.slice(a, b)]));

describe("topLevelSpans: each top-level value's text, as the line wrote it", () => {
  it("strings with escapes and braces, nested objects and arrays, numbers, literals, whitespace", () => {
    const text = ' { "a" : "x\\"}]{,\\\\" , "b\\u0022":[1,{"c":"]"},[ ]] ,"n":-1.5e+300,"t":true,"z":null,"o":{"d":{"e":98765432109876543210}} } ';
    expect(values(text)).toEqual({
      a: '"x\\"}]{,\\\\"',
      'b"': '[1,{"c":"]"},[ ]]',
      n: "-1.5e+300",
      t: "true",
      z: "null",
      o: '{"d":{"e":98765432109876543210}}',
    });
    const { close } = topLevelSpans(text);
    expect(text.slice(close)).toBe("} ");
  });

  it("an empty object; a repeated key keeps the last, as JSON.parse does", () => {
    expect(topLevelSpans("{}")).toEqual({ spans: new Map(), close: 1 });
    expect(values('{"k":1,"k":22}')).toEqual({ k: "22" });
  });
});
