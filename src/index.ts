export { runImport, validate } from "./core/import.js";
export type { ImportOptions, ImportSummary, Progress, SandboxOptions, Counts } from "./core/import.js";
export { defineProvider } from "./providers/define.js";
export type { Provider, FieldSpec, BatchResult, RecordResult, HttpRequest, HttpResponse, ProviderContext } from "./providers/define.js";
export { providers, providerNames, loadProvider } from "./providers/index.js";
export { emulators } from "./emulators/index.js";
export { BulkUsersError, ErrorCode, ExitCode } from "./errors.js";
export type { ReportRow, Status, SourceRecord, MappedUser } from "./types.js";
export { main } from "./cli.js";
