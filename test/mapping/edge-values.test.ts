// Empty lists, early years, short zone offsets, constants that transforms empty and the sampled
// values `mapping init` counts: each case once behaved otherwise.
import { describe, expect, it } from "vitest";
import { compileMapping } from "../../src/mapping/apply.js";
import { propose } from "../../src/mapping/init.js";
import { autoMapping, checkMapping } from "../../src/mapping/load.js";
import { previewMapping } from "../../src/mapping/preview.js";
import { applyTransform, isDateFormat } from "../../src/mapping/transforms.js";
import { validateUser } from "../../src/core/validate.js";
import { loadProvider } from "../../src/providers/index.js";
import { tmp, write } from "../helpers.js";

const zego = await loadProvider("zego");
const genauth = await loadProvider("genauth");
const huawei = await loadProvider("huawei-workspace");

describe("an empty list counts as missing", () => {
  const m = checkMapping({ fields: { email: "email", departmentIds: { column: "depts", default: ["d0"], transform: [{ split: ";" }] } } }, genauth);

  it("a list the split emptied takes the default", () => {
    expect(compileMapping(m)({ email: "a@x.io", depts: " ; " }).user).toEqual({ email: "a@x.io", departmentIds: ["d0"] });
  });

  it("a JSONL [] takes the default", () => {
    expect(compileMapping(m)({ email: "a@x.io", depts: [] }).user).toEqual({ email: "a@x.io", departmentIds: ["d0"] });
  });

  it("without a default, an emptied list is left out, not sent as []", () => {
    const plain = checkMapping({ fields: { email: "email", departmentIds: { column: "depts", transform: [{ split: ";" }] } } }, genauth);
    expect(compileMapping(plain)({ email: "a@x.io", depts: " ; " }).user).toEqual({ email: "a@x.io" });
    expect(compileMapping(plain)({ email: "a@x.io", depts: [] }).user).toEqual({ email: "a@x.io" });
  });

  it("a list given still passes through (the default is not used)", () => {
    expect(compileMapping(m)({ email: "a@x.io", depts: "d1; d2" }).user).toEqual({ email: "a@x.io", departmentIds: ["d1", "d2"] });
  });

  it("an empty list passes every transform untouched (no date error for nothing)", () => {
    expect(applyTransform([], { date: "iso" })).toEqual([]);
    expect(applyTransform([], "e164")).toEqual([]);
  });

  it("a template placeholder holding [] is empty, not a list of the wrong type", () => {
    const t = compileMapping(checkMapping({ fields: { UserId: "id", UserName: { template: "{a}", default: "Anon" } } }, zego));
    expect(t({ id: "u", a: [] })).toEqual({ user: { UserId: "u", UserName: "Anon" }, issues: [] });
  });

  it("validation: text of commas alone is no list, the field is left out", () => {
    const user: Record<string, unknown> = { email: "a@x.io", tenantIds: " , " };
    expect(validateUser(genauth, user, {})).toEqual([]);
    expect(user).toEqual({ email: "a@x.io" });
  });

  it("through mapping preview, a CSV cell of separators takes the default", async () => {
    const dir = tmp("bu-edge-");
    const f = write(dir, "u.csv", "email,depts\na@x.io, ; \nb@x.io,d1;d2\n");
    const mf = write(dir, "m.yaml", 'fields:\n  email: email\n  departmentIds: { column: depts, default: ["d0"], transform: [{ split: ";" }] }\n');
    const rows = await previewMapping({ file: f, provider: "genauth", mapping: mf, rows: 5 });
    expect(rows.map((r) => r.user)).toEqual([
      { email: "a@x.io", departmentIds: ["d0"] },
      { email: "b@x.io", departmentIds: ["d1", "d2"] },
    ]);
  });
});

describe("dates", () => {
  it.each([
    ["0050-06-01", "iso", "0050-06-01T00:00:00.000Z"],
    ["0001-01-01", "date", "0001-01-01"],
    ["0999-12-31", "date", "0999-12-31"],
    ["0099-12-31T23:59:59Z", "YYYY/MM/DD", "0099/12/31"],
    ["00500601", "date", "0050-06-01"],
  ])("reads the early year of %j with { date: %j } as %j", (input, format, out) => {
    expect(applyTransform(input, { date: format })).toBe(out);
  });

  it("still refuses a day an early year's calendar lacks", () => {
    expect(() => applyTransform("0050-02-29", { date: "iso" })).toThrow(/is not a date/);
    expect(applyTransform("0048-02-29", { date: "date" })).toBe("0048-02-29");
    expect(() => applyTransform("0000-01-01", { date: "date" })).toThrow(/is not a date/);
  });

  it.each([
    ["2024-01-01T10:00:00+09", "2024-01-01T01:00:00.000Z"],
    ["2024-01-01T10:00-0530", "2024-01-01T15:30:00.000Z"],
    ["2024-01-01T10:00:00+09:30", "2024-01-01T00:30:00.000Z"],
  ])("reads the zone offset of %j", (input, out) => {
    expect(applyTransform(input, { date: "iso" })).toBe(out);
  });

  it.each(["2024-01-01+09:00", "2024-01-01Z", "2024-01-01 -05"])("refuses a zone after a date without a time: %j", (input) => {
    expect(() => applyTransform(input, { date: "date" })).toThrow(/is not a date/);
  });

  it("a pattern letter outside A-Z is refused too, as any other letter", () => {
    expect(isDateFormat("YYYY-MM-DD")).toBe(true);
    expect(isDateFormat("DD.MM.YYYY г.")).toBe(false);
    expect(isDateFormat("YYYYé")).toBe(false);
    expect(() => checkMapping({ fields: { email: "email", birthdate: { column: "b", transform: [{ date: "DD.MM.YYYYé" }] } } }, genauth)).toThrow(/fields\.birthdate\.transform\[0\]/);
  });
});

describe("a required field's constant the transforms empty", () => {
  it("is refused when the mapping loads, naming the key", () => {
    expect(() => checkMapping({ fields: { UserId: { value: " ", transform: ["trim"] } } }, zego)).toThrow(
      /the value of fields\.UserId would make every row invalid: UserId is required and the constant is empty once transformed \(<mapping>, fields\.UserId\.value\)/,
    );
  });

  it("so is a required field's default that empties", () => {
    expect(() => checkMapping({ fields: { UserId: { column: "id", default: "  ", transform: ["trim"] } } }, zego)).toThrow(/fields\.UserId\.default/);
  });

  it("an optional field's constant that empties is still no value, and loads", () => {
    expect(compileMapping(checkMapping({ fields: { UserId: "id", UserName: { value: " ", transform: ["trim"] } } }, zego))({ id: "u" }).user).toEqual({ UserId: "u" });
  });
});

describe("mapping init counts every sampled value", () => {
  it("a value a transform refused is one of the sampled values", () => {
    // Two rows: one date reads, one is refused by the transform. 1 of 2 broke: the guess stays.
    const samples = [{ email: "a@x.io", birthday: "1990-01-02" }, { email: "b@x.io", birthday: "02/01/1990" }];
    const p = propose(genauth, ["email", "birthday"], samples);
    const g = p.guesses.find((x) => x.field === "birthdate");
    expect(g).toBeDefined();
    expect(g!.check).toMatch(/^1 of 2 sampled value\(s\) break the rules/);
    expect(g!.off).toBe(false);
  });
});

describe("automatic mapping", () => {
  it("of two columns spelled alike, the first is used, as mapping init proposes", () => {
    expect(autoMapping(zego, ["user_id", "User ID"]).fields.UserId).toBe("user_id");
    expect(propose(zego, ["user_id", "User ID"]).guesses.find((g) => g.field === "UserId")?.def).toBe("user_id");
  });

  it("Huawei's group list from a JSONL [] is left out", () => {
    const m = autoMapping(huawei, ["account", "name", "group_ids"], true);
    const { user } = compileMapping(m)({ account: "ann", name: "Ann", group_ids: [] });
    expect(user.group_ids).toBeUndefined();
  });
});
