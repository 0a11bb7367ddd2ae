import { resolveOptions } from "../core/import.js";
import { validateUser } from "../core/validate.js";
import { secretFields, type FieldIssue } from "../providers/define.js";
import { loadProvider } from "../providers/index.js";
import { checkInput, formatOf, readInputs, type InputFormat } from "../readers/index.js";
import { checkColumns, compileMapping, type CompiledMapping } from "./apply.js";
import { autoMappingFor, loadMapping, type LoadedMapping } from "./load.js";

/** One input row as the import would send it: the mapped user (secret fields as `***`) and every issue. */
export interface PreviewRow {
  file: string;
  line: number;
  user: Record<string, unknown>;
  issues: FieldIssue[];
}

/**
 * The first rows of an input through the same mapping, transforms and field rules as an import,
 * without the duplicate check (it needs every row) or anything sent: what a mapping author wants
 * to see before a dry run of the whole file.
 */
export async function previewMapping(o: {
  file: string;
  provider: string;
  mapping?: string;
  rows: number;
  format?: InputFormat;
  delimiter?: string;
  /** Told what an automatic mapping (no `mapping`) maps, as the import says it. */
  log?: (message: string) => void;
}): Promise<PreviewRow[]> {
  const provider = await loadProvider(o.provider);
  await checkInput(o.file);
  let mapping: LoadedMapping | undefined = o.mapping ? loadMapping(o.mapping, provider) : undefined;
  const options = resolveOptions(provider, mapping, undefined);
  const secret = new Set(secretFields(provider));
  let apply: CompiledMapping | undefined;
  const onColumns = (file: string, columns: string[]) => {
    if (!mapping) mapping = autoMappingFor(provider, file, columns, o.log, formatOf(file, o.format) === "jsonl");
    else if (formatOf(file, o.format) === "csv") checkColumns(mapping, file, columns);
    apply = compileMapping(mapping, secret);
  };
  const out: PreviewRow[] = [];
  for await (const rec of readInputs([o.file], { format: o.format, delimiter: o.delimiter, onColumns })) {
    if (rec.error) out.push({ file: rec.file, line: rec.line, user: {}, issues: [{ field: "", code: rec.error.code, message: rec.error.message }] });
    else {
      if (!apply) onColumns(rec.file, Object.keys(rec.data));
      const { user, issues } = apply!(rec.data);
      // validateUser reuses its array: copied before the next row.
      const more = [...validateUser(provider, user, options)];
      const shown = Object.fromEntries(Object.entries(user).map(([k, v]) => [k, secret.has(k) ? "***" : v]));
      out.push({ file: rec.file, line: rec.line, user: shown, issues: [...issues, ...more] });
    }
    if (out.length >= o.rows) break;
  }
  return out;
}
