import * as z from "zod";
import { strayBrace } from "./apply.js";
import { isDateFormat, isPhoneCountry } from "./transforms.js";

/** Transforms a field value goes through, in order. Strings name the argument-less ones. */
export const TransformSchema = z.union([
  z
    .enum(["trim", "lower", "upper", "split", "join", "e164"], {
      error: "a transform is trim, lower, upper, split, join or e164, or one of { split: SEP }, { join: SEP }, { date: FORMAT }, { e164: COUNTRY }",
    })
    .describe("trim | lower | upper | split (on ,) | join (with ,) | e164"),
  z.strictObject({ split: z.string().min(1).describe("Split a text into a list on this separator") }),
  z.strictObject({ join: z.string().describe("Join a list into a text with this separator") }),
  z.strictObject({
    date: z
      .string()
      .min(1)
      .refine(isDateFormat, "a date format is iso, unix, date, or a pattern of YYYY MM DD HH mm ss SSS with T, Z, digits and punctuation (e.g. YYYY-MM-DDTHH:mm:ssZ)")
      .describe("Reformat a date: iso, unix, date (YYYY-MM-DD) or a pattern like YYYY-MM-DDTHH:mm:ssZ"),
  }),
  z.strictObject({
    e164: z
      .string()
      .length(2)
      .refine(isPhoneCountry, "not a country code libphonenumber knows (ISO 3166 alpha-2, e.g. GB)")
      .describe("Normalise a phone to E.164, with this default country (ISO 3166 alpha-2)"),
  }),
]);
export type Transform = z.infer<typeof TransformSchema>;

const Template = z
  .string()
  .min(1)
  .superRefine((t, ctx) => {
    const at = strayBrace(t);
    // An unclosed `{last` would be sent as text in every user's name.
    if (at !== -1) ctx.addIssue({ code: "custom", message: `the \`${t[at]}\` at character ${at + 1} of the template is not part of a {column} placeholder (a template has no literal braces)` });
  });

const Constant = z.union([z.string(), z.number(), z.boolean(), z.array(z.unknown()), z.record(z.string(), z.unknown())]);

export const FieldObjectSchema = z
  .strictObject({
    column: z.string().min(1).optional().describe("Input column (CSV header) or dotted JSON path"),
    template: Template.optional().describe('Text with {column} placeholders, e.g. "{first} {last}"'),
    value: Constant.optional().describe("A constant for every row"),
    default: Constant.optional().describe("Used when the column is missing or empty"),
    transform: z.array(TransformSchema).optional(),
  })
  .refine((f) => [f.column, f.template, f.value].filter((x) => x !== undefined).length === 1, {
    message: "give exactly one of `column`, `template` or `value`",
  });

export const FieldSchema = z.union([z.string().min(1).describe("Input column name"), FieldObjectSchema]);
export type FieldDef = z.infer<typeof FieldSchema>;

export const MappingSchema = z
  .strictObject({
    $schema: z.string().optional(),
    provider: z.string().optional().describe("Provider this mapping is written for"),
    fields: z.record(z.string(), FieldSchema).describe("Provider field → where its value comes from"),
    options: z.record(z.string(), z.unknown()).optional().describe("Provider options (e.g. royalti sendEmail)"),
  })
  .describe("bulk-users mapping file");
export type MappingFile = z.infer<typeof MappingSchema>;
