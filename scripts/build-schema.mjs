// Writes schema/mapping.schema.json from the built mapping schema (run after tsc).
import { writeFileSync } from "node:fs";
import { mappingJsonSchema } from "../dist/mapping/json-schema.js";

writeFileSync(new URL("../schema/mapping.schema.json", import.meta.url), `${JSON.stringify(mappingJsonSchema(), null, 2)}\n`);
