import * as z from "zod";
import { MappingSchema } from "./schema.js";

/** JSON Schema of mapping files, generated from the schema the loader validates with. */
export function mappingJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(MappingSchema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  return {
    ...schema,
    title: "bulk-users mapping file",
  };
}
