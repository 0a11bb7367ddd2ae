// Tests added by a mutation audit of src/mapping/: each pins a behaviour that a small change to the
// code could break without any other test noticing.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkColumns, compileMapping } from "../../src/mapping/apply.js";
import { autoMapping, autoMappingFor, checkMapping, loadMapping } from "../../src/mapping/load.js";
import { ownValue, valueGetter } from "../../src/mapping/path.js";
import { applyTransform } from "../../src/mapping/transforms.js";
import { previewMapping } from "../../src/mapping/preview.js";
import { loadProvider } from "../../src/providers/index.js";
import { tmp, write } from "../helpers.js";

const zego = await loadProvider("zego");
const genauth = await loadProvider("genauth");

/** The error a call throws (undefined if none). */
function thrown(f: () => unknown): any {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("transforms (audit)", () => {
  it.each([
    // Fractions of up to nine digits are read (to the millisecond), and every one of the first three counts.
    ["2024-01-01T00:00:00.123456789Z", "iso", "2024-01-01T00:00:00.123Z"],
    ["2024-01-01T00:00:00.123Z", "iso", "2024-01-01T00:00:00.123Z"],
    // 11 digits are Unix milliseconds, not seconds.
    ["10000000000", "iso", "1970-04-26T17:46:40.000Z"],
    // unix truncates to the second, it does not round.
    ["1990-01-31T00:00:00.600Z", "unix", "633744000"],
    // Every token reads its own part of the time.
    ["2024-03-05T10:20:30.045Z", "HH:mm:ss.SSS", "10:20:30.045"],
    ["2024-03-05T10:20:30.005Z", "SSS", "005"],
  ])("reads %j with { date: %j } as %j", (input, format, out) => {
    expect(applyTransform(input, { date: format })).toBe(out);
  });

  it("a date without a zone is UTC whatever the machine's time zone", () => {
    const before = process.env.TZ;
    process.env.TZ = "Asia/Tokyo";
    try {
      expect(applyTransform("1990-01-31T09:30:00", { date: "iso" })).toBe("1990-01-31T09:30:00.000Z");
      expect(applyTransform("1990-01-31", { date: "unix" })).toBe("633744000");
    } finally {
      if (before === undefined) delete process.env.TZ;
      else process.env.TZ = before;
    }
  });

  it("trim, lower and upper work on each item of a list", () => {
    expect(applyTransform([" a ", "b ", 3], "trim")).toEqual(["a", "b", 3]);
    expect(applyTransform(["Ab", "CD"], "lower")).toEqual(["ab", "cd"]);
    expect(applyTransform(["Ab", "cd"], "upper")).toEqual(["AB", "CD"]);
  });

  it("bare join joins with a comma, bare e164 defaults to US", () => {
    expect(applyTransform(["a", "b"], "join")).toBe("a,b");
    expect(applyTransform("(202) 555-0101", "e164")).toBe("+12025550101");
  });

  it("split leaves a list (a JSONL array) as it is, and join leaves what is not a list", () => {
    expect(applyTransform(["a;b", "c"], { split: ";" })).toEqual(["a;b", "c"]);
    expect(applyTransform(["a", "b"], "split")).toEqual(["a", "b"]);
    expect(applyTransform({ a: 1 }, { join: "," })).toEqual({ a: 1 });
    expect(applyTransform(7, { join: "," })).toBe(7);
  });

  it("an empty value passes every transform untouched (no date or phone error for nothing)", () => {
    expect(applyTransform("", { date: "iso" })).toBe("");
    expect(applyTransform("", { e164: "US" })).toBe("");
    expect(applyTransform("", { split: ";" })).toBe("");
  });
});

describe("templates, defaults and the unseen warning (audit)", () => {
  it("a template none of whose placeholders holds a value is missing: the default applies (no lone space is sent)", () => {
    const apply = compileMapping(checkMapping({ fields: { UserId: "id", UserName: { template: "{first} {last}", default: "Anon" } } }, zego));
    expect(apply({ id: "a", first: "", last: "" }).user).toEqual({ UserId: "a", UserName: "Anon" });
    expect(apply({ id: "a" }).user).toEqual({ UserId: "a", UserName: "Anon" });
  });

  it("a template with two placeholders of the wrong type names the first", () => {
    const apply = compileMapping(checkMapping({ fields: { UserId: "id", UserName: { template: "{a} {b}" } } }, zego));
    expect(apply({ id: "x", a: { k: 1 }, b: [1] }).issues).toEqual([{ field: "UserName", code: "WRONG_TYPE", message: "UserName: {a} must be text, got object" }]);
  });

  it("a default that stands in for a value the transforms emptied goes through the transforms too", () => {
    const apply = compileMapping(checkMapping({ fields: { UserId: "id", UserName: { column: "name", default: " guest ", transform: ["trim", "upper"] } } }, zego));
    expect(apply({ id: "a", name: "   " }).user.UserName).toBe("GUEST");
    expect(apply({ id: "a", name: "" }).user.UserName).toBe("GUEST");
  });

  it("a JSON null counts as missing: the default applies", () => {
    const apply = compileMapping(checkMapping({ fields: { UserId: "id", UserAvatar: { column: "pic", default: "https://x/d.png" } } }, zego));
    expect(apply({ id: "a", pic: null }).user).toEqual({ UserId: "a", UserAvatar: "https://x/d.png" });
  });

  it("a template's value of the wrong type counts as held: no misspelt-name warning for it", () => {
    const apply = compileMapping(checkMapping({ fields: { UserId: "id", UserName: { template: "{name}" } } }, zego));
    expect(apply({ id: "a", name: { first: "Ann" } }).issues).toHaveLength(1);
    expect(apply.unseen()).toEqual([]);
  });

  it("the warning names a field's column (object form) and whether a default filled it", () => {
    const apply = compileMapping(checkMapping({ fields: { UserId: "id", UserName: { column: "nmae" }, UserAvatar: { column: "pic", default: "https://x/d.png" } } }, zego));
    apply({ id: "a" });
    expect(apply.unseen()).toEqual([
      { field: "UserName", source: "column `nmae`", defaulted: false },
      { field: "UserAvatar", source: "column `pic`", defaulted: true },
    ]);
  });

  it("a template no row filled is named once, not once more per placeholder", () => {
    const apply = compileMapping(checkMapping({ fields: { UserId: "id", UserName: { template: "{given} {family}" } } }, zego));
    apply({ id: "a" });
    expect(apply.unseen()).toEqual([{ field: "UserName", source: "template `{given} {family}`", defaulted: false }]);
  });

  it("a secret field's transform error says a transform refused it, without the value", () => {
    const apply = compileMapping(checkMapping({ fields: { email: "email", password: { column: "pw", transform: [{ date: "iso" }] } } }, genauth), new Set(["password"]));
    expect(apply({ email: "a@x.io", pw: "hunter2" }).issues).toEqual([{ field: "password", code: "TRANSFORM", message: "password: a transform refused the value (not shown: the field is secret)" }]);
  });
});

describe("columns against a CSV header (audit)", () => {
  it("a one-column header holding a | suggests --delimiter '|'", () => {
    const m = checkMapping({ fields: { UserId: "id", UserName: "name" } }, zego);
    const err = thrown(() => checkColumns(m, "users.csv", ["id|name"]));
    expect(err.hint).toContain("The header looks delimited by `|`: pass --delimiter '|'.");
  });

  it("the error's context names the mapping and its key, not the CSV", () => {
    const m = checkMapping({ fields: { UserId: "id", UserName: "name" } }, zego, "m.yaml");
    const err = thrown(() => checkColumns(m, "users.csv", ["id", "full_name"]));
    expect(err.context).toEqual({ file: "m.yaml", field: "fields.UserName" });
  });
});

describe("paths into JSON records (audit)", () => {
  it("a key that holds a dot is read whole before it is read as a path", () => {
    expect(valueGetter("a.b")({ "a.b": 1, a: { b: 2 } })).toBe(1);
    expect(valueGetter("a.b")({ a: { b: 2 } })).toBe(2);
  });

  it("a record without a key named like an Object member reads as lacking it", () => {
    expect(valueGetter("toString")({})).toBeUndefined();
    expect(valueGetter("constructor")({ constructor: "c" })).toBe("c");
    expect(valueGetter("profile.constructor")({ profile: {} })).toBeUndefined();
    expect(valueGetter("profile.valueOf")({ profile: { valueOf: "v" } })).toBe("v");
    expect(ownValue({}, "hasOwnProperty")).toBeUndefined();
  });

  it("a path through null or a text reads as missing, not as an error", () => {
    expect(valueGetter("a.b")({ a: null })).toBeUndefined();
    expect(valueGetter("a.b.c")({ a: { b: "t" } })).toBeUndefined();
    const apply = compileMapping(checkMapping({ fields: { UserId: "id", UserName: { column: "profile.name", default: "Anon" } } }, zego));
    expect(apply({ id: "a", profile: null })).toEqual({ user: { UserId: "a", UserName: "Anon" }, issues: [] });
  });
});

describe("mapping schema (audit)", () => {
  it.each([
    [{ UserId: "id", UserName: { template: "{} {last}" } }, /the `\{` at character 1 of the template is not part of a \{column\} placeholder .*\(<mapping>, fields\.UserName\.template\)/],
    [{ UserId: { column: "id", transform: [{ split: "" }] } }, /fields\.UserId\.transform\[0\]\.split/],
    [{ UserId: "id", UserName: { template: "" } }, /fields\.UserName\.template/],
    [{ UserId: { column: "" } }, /fields\.UserId\.column/],
    [{ UserId: "" }, /fields\.UserId/],
    [{ UserId: "id", UserName: { default: "x" } }, /give exactly one of `column`, `template` or `value` \(<mapping>, fields\.UserName\)/],
    [{ UserId: { column: "id", defualt: "x" } }, /Unrecognized key.*defualt.*\(<mapping>, fields\.UserId\)/],
  ])("refuses %j", (fields, re) => {
    expect(() => checkMapping({ fields }, zego)).toThrow(re);
  });

  it("refuses an unknown top-level key (a misspelt `option:`)", () => {
    expect(() => checkMapping({ fields: { UserId: "id" }, option: { a: 1 } }, zego)).toThrow(/Unrecognized key.*option.*\(<mapping>, \(top level\)\)/);
  });

  it("takes a boolean constant, a join with no separator, unix dates and a lower-case country", () => {
    const m = checkMapping(
      {
        fields: {
          email: "email",
          emailVerified: { value: true },
          tenantIds: { column: "t", transform: [{ join: "" }, { split: "," }] },
          birthdate: { column: "b", transform: [{ date: "unix" }] },
          phone: { column: "p", transform: [{ e164: "gb" }] },
        },
      },
      genauth,
    );
    expect(compileMapping(m)({ email: "a@x.io", t: ["a", "b"], b: "1990-01-31", p: "020 7946 0001" }).user).toEqual({
      email: "a@x.io",
      emailVerified: true,
      tenantIds: ["ab"],
      birthdate: "633744000",
      phone: "+442079460001",
    });
  });

  it("a constant the transforms empty is no value: not checked against the field's format", () => {
    const m = checkMapping({ fields: { email: "email", photo: { value: " ", transform: ["trim"] } } }, genauth);
    expect(compileMapping(m)({ email: "a@x.io" }).user).toEqual({ email: "a@x.io" });
  });
});

describe("mapping files (audit)", () => {
  const dir = tmp();

  it("a folder given as the mapping is named as such", () => {
    const folder = join(dir, "a-folder");
    mkdirSync(folder);
    expect(() => loadMapping(folder, zego)).toThrow(`The mapping is a folder, not a file: ${folder}`);
    expect(() => loadMapping(join(dir, "nope.yaml"), zego)).toThrow(/Mapping file not found: .*nope\.yaml/);
  });

  it("reads a JSON mapping that starts with an editor's BOM", () => {
    const f = write(dir, "bom.json", '\ufeff{"fields": {"UserId": "id"}}');
    expect(loadMapping(f, zego).fields).toEqual({ UserId: "id" });
  });

  it("a .JSON mapping is JSON, whatever the case of its extension (no YAML trailing comma)", () => {
    const f = write(dir, "UPPER.JSON", '{"fields": {"UserId": "id",}}');
    expect(() => loadMapping(f, zego)).toThrow(/not valid JSON/);
  });

  it("a syntax error's context carries its line", () => {
    const f = write(dir, "bad.yaml", "fields:\n  UserId: id\n   UserName: x\n");
    expect(thrown(() => loadMapping(f, zego)).context).toEqual({ file: f, line: 2 });
    const j = write(dir, "bad.json", '{"fields": {\n  "UserId": "id",\n}}');
    expect(thrown(() => loadMapping(j, zego)).context).toEqual({ file: j, line: 3 });
  });

  it("a mapping written for another provider is refused", () => {
    const err = thrown(() => checkMapping({ provider: "imkit", fields: { UserId: "id" } }, zego, "m.yaml"));
    expect(err.message).toBe("Invalid mapping: written for provider `imkit`, not zego (m.yaml, provider)");
    expect(err.context).toEqual({ file: "m.yaml", field: "provider" });
  });

  it("a required field left out is named in the error's context", async () => {
    const royalti = await loadProvider("royalti");
    const err = thrown(() => checkMapping({ fields: { email: "email", firstName: "first" } }, royalti, "r.yaml"));
    expect(err.context).toEqual({ file: "r.yaml", field: "fields.lastName" });
  });

  it("a misspelt key is named before another problem of the same mapping", () => {
    expect(() => checkMapping({ fields: { UserId: 3 }, feilds: {} }, zego)).toThrow(/feilds/);
  });

  it("a misspelt transform key is no split: the transform is named as unknown", () => {
    expect(() => checkMapping({ fields: { UserId: { column: "id", transform: [{ spilt: ";" }] } } }, zego)).toThrow(/a transform is trim, lower, upper, split, join or e164/);
  });
});

describe("automatic mapping (audit)", () => {
  it("ignores spaces and dots in column names, as the README says", () => {
    expect(autoMapping(zego, ["User Id", "user.name", "User-Avatar"]).fields).toEqual({ UserId: "User Id", UserName: "user.name", UserAvatar: "User-Avatar" });
  });

  it("JSONL: a field no early record names is read from a key spelled as the field", () => {
    expect(autoMapping(zego, ["user_id"], true)).toEqual({ fields: { UserId: "user_id", UserName: "UserName", UserAvatar: "UserAvatar" }, source: "<automatic mapping>", guessed: ["UserName", "UserAvatar"] });
  });

  it("a column named like a unique field (not the key) is enough to map by name", () => {
    const said: string[] = [];
    expect(autoMappingFor(genauth, "u.csv", ["username", "name"], (m) => said.push(m)).fields).toEqual({ username: "username", name: "name" });
    expect(said).toEqual(["No --mapping: mapped username → username, name → name (u.csv)"]);
  });

  it("names the columns (JSONL: keys) it does not import, up to six, then counts them", () => {
    const said: string[] = [];
    autoMappingFor(zego, "u.csv", ["user_id", "first", "last", "a", "b", "c", "d", "e"], (m) => said.push(m));
    expect(said[0]).toBe("No --mapping: mapped user_id → UserId (u.csv); columns not imported: first, last, a, b, c, d and 1 more (`bulk-users mapping init u.csv -p zego` proposes a mapping for them)");
    said.length = 0;
    autoMappingFor(zego, "u.jsonl", ["user_id", "nick"], (m) => said.push(m), true);
    expect(said[0]).toContain("(u.jsonl); keys not imported: nick (");
    said.length = 0;
    autoMappingFor(zego, "u.csv", ["user_id", "username"], (m) => said.push(m));
    expect(said).toEqual(["No --mapping: mapped user_id → UserId, username → UserName (u.csv)"]);
  });

  it("JSONL: a key field only guessed (no record named it) is refused", () => {
    expect(() => autoMappingFor(zego, "u.jsonl", ["name"], undefined, true)).toThrow(/no column of u\.jsonl is named like the key field UserId/);
  });

  it("says the guessed fields by name up to six, then counts them", () => {
    const said: string[] = [];
    // genauth: email named, every other field guessed.
    autoMappingFor(genauth, "u.jsonl", ["email"], (m) => said.push(m), true);
    const guessed = Object.keys(genauth.fields).length - 1;
    expect(said[0]).toContain(`; the other ${guessed} fields from keys so named`);
    const six = { ...zego, fields: Object.fromEntries(["UserId", "a", "b", "c", "d", "e", "f"].map((f) => [f, { type: "string" as const }])) };
    said.length = 0;
    autoMappingFor(six as never, "u.jsonl", ["UserId"], (m) => said.push(m), true);
    expect(said[0]).toBe("No --mapping: mapped UserId → UserId; a, b, c, d, e, f from keys so named, in the records that hold one (u.jsonl)");
  });
});

describe("mapping preview (audit)", () => {
  const dir = tmp("bu-preview-audit-");

  it("refuses a CSV whose header lacks a mapped column, as the import does", async () => {
    const f = write(dir, "p.csv", "id,first\nu1,Ann\n");
    const m = write(dir, "p.yaml", 'fields:\n  UserId: id\n  UserName: { template: "{first} {last}" }\n');
    await expect(previewMapping({ file: f, provider: "zego", mapping: m, rows: 5 })).rejects.toThrow(/column `last` is not in the header of .*p\.csv/);
  });

  it("does not check a JSONL file's paths against a header", async () => {
    const f = write(dir, "p.jsonl", '{"id":"u1","profile":{"name":"Ann"}}\n');
    const m = write(dir, "pj.yaml", "fields:\n  UserId: id\n  UserName: profile.name\n");
    expect(await previewMapping({ file: f, provider: "zego", mapping: m, rows: 5 })).toEqual([{ file: f, line: 1, user: { UserId: "u1", UserName: "Ann" }, issues: [] }]);
  });

  it("lists a row the reader refused, and the mapping's issues before validation's", async () => {
    const f = write(dir, "e.jsonl", '{"email":"bad","b":"1990-02-30"}\n{not json\n{"email":"c@x.io"}\n');
    const m = write(dir, "e.yaml", "fields:\n  email: email\n  birthdate: { column: b, transform: [{ date: date }] }\n");
    const rows = await previewMapping({ file: f, provider: "genauth", mapping: m, rows: 2 });
    expect(rows).toHaveLength(2);
    expect(rows[0]!.issues.map((i) => `${i.field}:${i.code}`)).toEqual(["birthdate:TRANSFORM", "email:BAD_FORMAT"]);
    expect(rows[1]).toMatchObject({ line: 2, user: {}, issues: [{ field: "" }] });
  });
});

describe("mapping init (audit)", async () => {
  const { propose, renderMapping, sampleInput } = await import("../../src/mapping/init.js");
  const royalti = await loadProvider("royalti");
  const dir = tmp("bu-init-audit-");

  it("reads 50 JSONL records for their keys, and keeps a list as one column", async () => {
    const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify(i === 40 ? { id: `u${i}`, late: "x", groups: ["a", "b"] } : { id: `u${i}` }));
    const f = write(dir, "s.jsonl", `${lines.join("\n")}\n`);
    const s = await sampleInput(f);
    expect(s.columns).toEqual(["id", "late", "groups"]);
    expect(s.rows).toHaveLength(50);
  });

  it("of two columns spelled alike, the first is proposed", () => {
    expect(propose(zego, ["user_id", "User ID"]).guesses.find((g) => g.field === "UserId")?.def).toBe("user_id");
  });

  it("a guess half of whose sampled values break the rules stays in, with a CHECK note", () => {
    const samples = [{ uid: "a", avatar: "https://x/a.png" }, { uid: "b", avatar: `https://x/${"a".repeat(600)}` }];
    const g = propose(zego, ["uid", "avatar"], samples).guesses.find((x) => x.field === "UserAvatar")!;
    expect(g.off).toBe(false);
    expect(g.check).toMatch(/^1 of 2 sampled value\(s\) break the rules/);
  });

  it("a required field most values of which break the rules stays in (with its note), the import needs it", () => {
    const samples = [{ email: "a@x.io", first_name: " ", last_name: "L" }, { email: "b@x.io", first_name: " ", last_name: "M" }];
    const g = propose(royalti, ["email", "first_name", "last_name"], samples).guesses.find((x) => x.field === "firstName")!;
    expect(g.off).toBe(false);
    expect(g.check).toMatch(/^2 of 2 sampled value\(s\) break the rules: firstName must hold a character other than a space/);
  });

  it("an empty value of a required column is no rule broken by the guess", () => {
    const g = propose(zego, ["uid", "name"], [{ uid: "", name: "A" }, { uid: "u2", name: "B" }]).guesses.find((x) => x.field === "UserId")!;
    expect(g.check).toBeUndefined();
  });

  it("a note on a broken rule never quotes the sampled value", () => {
    const samples = [{ email: "a@x.io", dob: "Secret-Birthday-1" }, { email: "b@x.io", dob: "1990-01-02" }];
    const g = propose(genauth, ["email", "dob"], samples).guesses.find((x) => x.field === "birthdate")!;
    expect(g.check).toMatch(/sampled value\(s\) break the rules: a value is not a date/);
    expect(g.check).not.toContain("Secret-Birthday-1");
  });

  it("writes the fields in the provider's order, guessed or not", () => {
    const text = renderMapping(zego, propose(zego, ["avatar", "uid"]), "schema.json", "x.csv");
    const order = text.split("\n").flatMap((l) => /^ {2}(?:# )?(\w+):/.exec(l)?.[1] ?? []);
    expect(order).toEqual(["UserId", "UserName", "UserAvatar"]);
  });

  it("a provider's own fields: an email-format field gets trim and lower, a datetime field { date: iso }, and the key chooses first", () => {
    const p = {
      ...zego,
      key: "login",
      fields: {
        other: { type: "string" as const, required: true, meaning: ["username" as const] },
        login: { type: "string" as const, meaning: ["username" as const] },
        contact: { type: "string" as const, format: "email" as const },
        since: { type: "string" as const, format: "datetime" as const },
      },
    };
    const defs = Object.fromEntries(propose(p as never, ["username", "contact", "since"]).guesses.map((g) => [g.field, g.def]));
    expect(defs).toEqual({ login: "username", contact: { column: "contact", transform: ["trim", "lower"] }, since: { column: "since", transform: [{ date: "iso" }] } });
  });

  it("reads .ndjson and .json inputs as JSONL", async () => {
    for (const ext of ["ndjson", "json"]) {
      const f = write(dir, `n.${ext}`, '{"id":"u1","profile":{"name":"Ann"}}\n');
      expect((await sampleInput(f)).columns).toEqual(["id", "profile.name"]);
    }
  });
});
