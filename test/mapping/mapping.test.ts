import { describe, expect, it } from "vitest";
import { checkColumns, compileMapping } from "../../src/mapping/apply.js";
import { autoMapping, checkMapping, loadMapping } from "../../src/mapping/load.js";
import { applyTransform } from "../../src/mapping/transforms.js";
import { loadProvider } from "../../src/providers/index.js";
import { tmp, write } from "../helpers.js";

const zego = await loadProvider("zego");

describe("transforms", () => {
  it.each([
    ["trim", "  a b ", "a b"],
    ["lower", "AbC", "abc"],
    ["upper", "abc", "ABC"],
    ["split", "a, b,,c", ["a", "b", "c"]],
    [{ split: ";" }, "a;b", ["a", "b"]],
    [{ join: "|" }, ["a", "b"], "a|b"],
    [{ date: "date" }, "2024-03-05T10:00:00Z", "2024-03-05"],
    [{ date: "YYYY-MM-DDTHH:mm:ssZ" }, "1709632800", "2024-03-05T10:00:00Z"],
    [{ e164: "GB" }, "020 7946 0001", "+442079460001"],
    [{ e164: "US" }, "+1 (202) 555-0101", "+12025550101"],
    // Each country's own rules: a "(0)" after the code, a national 1, Italy keeping its 0, 00 as +.
    [{ e164: "GB" }, "+44 (0)20 7946 0000", "+442079460000"],
    [{ e164: "US" }, "1 202 555 0104", "+12025550104"],
    [{ e164: "IT" }, "020 7946 0001", "+3902079460001"],
    [{ e164: "US" }, "00 44 20 7946 0001", "+442079460001"],
    [{ date: "YYYY/YYYY" }, "1990-02-03", "1990/1990"],
    ["trim", "", ""],
  ] as const)("%j on %j → %j", (t, input, out) => {
    expect(applyTransform(input, t as never)).toEqual(out);
  });

  it.each([
    ["19900131", "1990-01-31"],
    ["1990-01-31 00:30", "1990-01-31T00:30:00.000Z"],
    ["1990-01-31T09:30:00+09:00", "1990-01-31T00:30:00.000Z"],
    ["1990-01-31T09:30:00.5+0900", "1990-01-31T00:30:00.500Z"],
    ["631065600", "1989-12-31T00:00:00.000Z"],
    ["631065600000", "1989-12-31T00:00:00.000Z"],
  ])("reads the date %j the same on every machine (no zone = UTC) → %j", (input, out) => {
    expect(applyTransform(input, { date: out.length === 10 ? "date" : "iso" })).toBe(out);
  });

  it.each(["1990-02-30", "01/02/1990", "1990-01-31T24:00", "20240230", "12345", "Jan 5 2024"])("refuses %j as a date rather than guess or roll it over", (input) => {
    expect(() => applyTransform(input, { date: "date" })).toThrow(/is not a date/);
  });

  it("a transform that cannot apply throws with the reason", () => {
    expect(() => applyTransform("not a date", { date: "iso" })).toThrow(/not a date/);
    expect(() => applyTransform("call me", { e164: "US" })).toThrow(/not a phone/);
    // Seven digits are no US number: refused, not sent as +15550100.
    expect(() => applyTransform("555-0100", { e164: "US" })).toThrow(/`555-0100` is not a valid phone number in US/);
  });
});

describe("mapping files", () => {
  const dir = tmp();

  it("loads YAML with columns, templates, constants, defaults and transforms", () => {
    const f = write(dir, "m.yaml", 'fields:\n  UserId: id\n  UserName: { template: "{first} {last}", transform: [trim, upper] }\n  UserAvatar: { column: "pic", default: "https://x/a.png" }\n');
    const apply = compileMapping(loadMapping(f, zego));
    expect(apply({ id: "u1", first: "ada", last: "", pic: "" }).user).toEqual({ UserId: "u1", UserName: "ADA", UserAvatar: "https://x/a.png" });
  });

  it("reads nested JSON by dotted path", () => {
    const apply = compileMapping(checkMapping({ fields: { UserId: "profile.id", UserName: { template: "{profile.name.first}" } } }, zego));
    expect(apply({ profile: { id: "n1", name: { first: "Bo" } } }).user).toEqual({ UserId: "n1", UserName: "Bo" });
  });

  it.each([
    ["fields:\n  UserNmae: name\n", /unknown field `UserNmae` for provider zego \(.*m2\.yaml, fields\.UserNmae\)/, "Did you mean `UserName`?"],
    ["fields:\n  UserId: { column: id, transform: [capitalize] }\n", /a transform is trim, lower, upper, split, join or e164, or one of \{ split: SEP \}, \{ join: SEP \}, \{ date: FORMAT \}, \{ e164: COUNTRY \} \(.*fields\.UserId\.transform\[0\]\)/, undefined],
    ["fields:\n  UserId: { column: id, value: x }\n", /exactly one of `column`, `template` or `value`/, undefined],
    ["fields: [\n", /not valid YAML/, undefined],
    ["fieldz:\n  UserId: id\n", /\(top level\)|fieldz/, undefined],
    ["fields:\n  UserId: id\n  toString: name\n", /unknown field `toString` for provider zego/, undefined],
    ["fields:\n  UserId: { column: id, transform: [{ date: isoo }] }\n", /a date format is iso, unix, date, or a pattern .*fields\.UserId\.transform\[0\]\.date/, undefined],
    ["fields:\n  UserId: { column: id, transform: [{ date: yyyy-MM-dd }] }\n", /a date format is iso/, undefined],
    // A known transform with a wrong argument is named as such, not as an unknown transform.
    ["fields:\n  UserId: { column: id, transform: [{ split: 3 }] }\n", /expected string, received number \(.*fields\.UserId\.transform\[0\]\.split\)/, undefined],
    ["fields:\n  UserId: { column: id, transform: [{ e164: ZZ }] }\n", /not a country code libphonenumber knows .*fields\.UserId\.transform\[0\]\.e164/, undefined],
    ["fields:\n  UserId: id\n  constructor: name\n", /unknown field `constructor` for provider zego/, undefined],
    ["fields:\n  UserId: id\n  __proto__: name\n", /unknown field `__proto__` for provider zego/, undefined],
    ["fields:\n  UserId: id\noptions:\n  a: { __proto__: { x: 1 } }\n", /unknown option `__proto__` \(.*m2\.yaml, options\.a\.__proto__\)/, undefined],
    // A tag YAML cannot resolve would leave its text as the value: refused, with no raw warning of node's.
    ['fields:\n  UserId: !!js/function "id"\n', /not valid YAML: Unresolved tag: tag:yaml\.org,2002:js\/function \(.*m2\.yaml, line 2, column 11\)/, undefined],
    // A brace outside a placeholder would be sent as text in every user's name.
    ['fields:\n  UserId: id\n  UserName: { template: "{first} {last" }\n', /the `\{` at character 9 of the template is not part of a \{column\} placeholder .*\(.*m2\.yaml, fields\.UserName\.template\)/, undefined],
    ['fields:\n  UserId: id\n  UserName: { template: "{first}} x" }\n', /the `\}` at character 8 of the template/, undefined],
    ['fields:\n  UserId: id\n  UserName: { template: "{{first}}" }\n', /the `\{` at character 1 of the template/, undefined],
    // A constant the field's rules refuse: every row would be invalid, so the mapping is refused.
    ["fields:\n  UserId: id\n  UserName: { value: { a: 1 } }\n", /the value of fields\.UserName would make every row invalid: UserName must be text, got object \(.*m2\.yaml, fields\.UserName\.value\)/, "`bulk-users providers zego` lists the rules of UserName."],
    [`fields:\n  UserId: id\n  UserName: { column: name, default: "${"x".repeat(65)}" }\n`, /the default of fields\.UserName would make every row without a UserName of its own invalid: UserName is 65 bytes, at most 64 allowed \(.*fields\.UserName\.default\)/, undefined],
    ['fields:\n  UserId: { value: "a b" }\n', /the value of fields\.UserId would make every row invalid: UserId may hold only letters/, undefined],
    ['fields:\n  UserId: id\n  UserName: { template: "Guest", transform: [{ date: iso }] }\n', /the template of fields\.UserName would make every row invalid: .*not a date/, undefined],
    // Two steps in one object: named as such, not as an unknown transform.
    [
      'fields:\n  UserId: { column: id, transform: [trim, { split: ",", join: "|" }] }\n',
      /a transform object has one key, this one has `split`, `join` \(.*m2\.yaml, fields\.UserId\.transform\[1\]\)/,
      'Give each step its own list item, in order: transform: [{ split: "," }, { join: "|" }].',
    ],
  ])("refuses %j naming the file and key", (text, re, hint) => {
    const f = write(dir, "m2.yaml", text);
    let err: any;
    try {
      loadMapping(f, zego);
    } catch (e) {
      err = e;
    }
    expect(err?.message).toMatch(re);
    if (hint) expect(err.hint).toBe(hint);
  });

  it.each([
    ["m3.yaml", "fields:\n  UserId: id\n   UserName: x\n", /not valid YAML: .* \(.*m3\.yaml, line 2, column 11\)$/],
    ["m3.json", '{"fields": {\n  "UserId": "id",\n}}', /not valid JSON: Expected double-quoted property name \(.*m3\.json, line 3, column 1\)$/],
  ])("a syntax error in %s is named by line and column", (name, text, re) => {
    const f = write(dir, name, text);
    expect(() => loadMapping(f, zego)).toThrow(re);
  });

  it("takes constants the field's rules accept, after the transforms, and keeps secret constants out of its messages", async () => {
    // "  Guest  " is 9 bytes of a 64-byte name; a number is an id's text; an emptied constant is no value.
    const ok = checkMapping({ fields: { UserId: { value: 7 }, UserName: { value: "  Guest  ", transform: ["trim", "upper"] }, UserAvatar: { value: " ", transform: ["trim"] } } }, zego);
    expect(compileMapping(ok)({}).user).toEqual({ UserId: 7, UserName: "GUEST" });
    const genauth = await loadProvider("genauth");
    const secret = "hunter2-not-a-date";
    let err: any;
    try {
      checkMapping({ fields: { email: "email", password: { value: secret, transform: [{ date: "iso" }] } } }, genauth);
    } catch (e) {
      err = e;
    }
    expect(err?.message).toMatch(/the value of fields\.password would make every row invalid: a transform refuses it \(not shown: the field is secret\)/);
    expect(err.message).not.toContain(secret);
  });

  it("refuses a mapping that leaves a required field out, and a JSON mapping with a key twice", () => {
    const royalti = write(dir, "r.yaml", "fields:\n  email: email\n  firstName: first\n");
    return loadProvider("royalti").then((p) => {
      expect(() => loadMapping(royalti, p)).toThrow(/royalti requires fields\.lastName, which the mapping does not map \(.*r\.yaml, fields\)/);
      const twice = write(dir, "twice.json", '{"fields": {\n  "UserId": "id",\n  "UserId": "other"\n}}\n');
      expect(() => loadMapping(twice, zego)).toThrow(/a key appears twice in the same object \(.*twice\.json, line 3, column 3\)/);
    });
  });

  it("an options: key with every line under it commented out means no options", async () => {
    const genauth = await loadProvider("genauth");
    const f = write(dir, "noopts.yaml", "fields:\n  email: email\noptions:\n  # keepPassword: true\n");
    expect(loadMapping(f, genauth).options ?? {}).toEqual({});
    expect(() => checkMapping({ fields: { email: "email" }, options: 3 }, genauth)).toThrow(/Invalid mapping: .*options/);
  });

  it("refuses a column missing from the CSV header", () => {
    const m = checkMapping({ fields: { UserId: "id", UserName: { template: "{first} {lastname}" } } }, zego);
    expect(() => checkColumns(m, "users.csv", ["id", "first", "last"])).toThrow(/column `lastname` is not in the header of users.csv \(<mapping>, fields.UserName\)/);
    // A CSV cell is text: `user.name` is a column of that name, not a path into `user`.
    expect(() => checkColumns(checkMapping({ fields: { UserId: "id", UserName: "user.name" } }, zego), "users.csv", ["id", "user"])).toThrow(/column `user.name` is not in the header/);
  });

  it("a template takes text and numbers only: an object, list or boolean is WRONG_TYPE, not [object Object]", () => {
    const apply = compileMapping(checkMapping({ fields: { UserId: "id", UserName: { template: "{name} #{n}" } } }, zego));
    expect(apply({ id: "a", name: "Ann", n: 7 })).toEqual({ user: { UserId: "a", UserName: "Ann #7" }, issues: [] });
    for (const [v, got] of [[{ k: "v" }, "object"], [["x", "y"], "a list"], [true, "boolean"]] as const) {
      const r = apply({ id: "a", name: v, n: 1 });
      expect(r.issues).toEqual([{ field: "UserName", code: "WRONG_TYPE", message: `UserName: {name} must be text, got ${got}` }]);
      expect(r.user.UserName).toBeUndefined();
    }
    // A template without placeholders is its text.
    expect(compileMapping(checkMapping({ fields: { UserId: "id", UserName: { template: "Guest" } } }, zego))({ id: "a" }).user.UserName).toBe("Guest");
  });

  it("a value that trim empties takes the default, as an empty one does", () => {
    const apply = compileMapping(checkMapping({ fields: { UserId: "id", UserAvatar: { column: "pic", default: "https://x/d.png", transform: ["trim"] } } } as never, zego));
    expect(apply({ id: "a", pic: "   " }).user.UserAvatar).toBe("https://x/d.png");
    expect(apply({ id: "a", pic: "" }).user.UserAvatar).toBe("https://x/d.png");
    expect(apply({ id: "a", pic: " https://x/p.png " }).user.UserAvatar).toBe("https://x/p.png");
  });

  it("a placeholder no row filled is named, though the template's others were", () => {
    const apply = compileMapping(checkMapping({ fields: { UserId: "id", UserName: { template: "{given} {family_nmae}", transform: ["trim"] } } }, zego));
    expect(apply({ id: "a", given: "Ann", family_name: "Lee" }).user.UserName).toBe("Ann");
    expect(apply.unseen()).toEqual([{ field: "UserName", source: "placeholder `{family_nmae}` of its template", defaulted: false, part: true }]);
  });

  it("does not repeat a first line that holds none of the mapping's columns (an export without a header: data, maybe a password)", () => {
    const m = checkMapping({ fields: { UserId: "id", UserName: "name" } }, zego);
    let err: any;
    try {
      checkColumns(m, "users.csv", ["u1", "Ann", "Pw-Secret-1"]);
    } catch (e) {
      err = e;
    }
    expect(err.hint).toMatch(/None of the mapping's columns is in the first line of users\.csv: does the file start with a header row\?/);
    expect(err.hint + err.message).not.toContain("Pw-Secret-1");
    // A real header missing one column still lists what it has.
    expect(() => checkColumns(m, "users.csv", ["id", "full_name"])).toThrow(expect.objectContaining({ hint: "Columns in users.csv: id, full_name." }));
  });

  it("maps columns named like fields without a mapping file (case, _ and - ignored)", () => {
    expect(autoMapping(zego, ["user_id", "USER-NAME", "other"]).fields).toEqual({ UserId: "user_id", UserName: "USER-NAME" });
  });
});
