export { runImport, validate } from "./core/import.js";
export type { ImportOptions, ImportSummary, Progress, SandboxOptions, Counts } from "./core/import.js";
export { defineProvider } from "./providers/define.js";
export type {
  Provider,
  FieldSpec,
  FieldIssue,
  EnvVarSpec,
  Meaning,
  BatchResult,
  RecordResult,
  HttpRequest,
  HttpResponse,
  ResponseHeaders,
  ProviderContext,
  ProviderSession,
} from "./providers/define.js";
export { providers, providerNames, loadProvider } from "./providers/index.js";
export { emulators } from "./emulators/index.js";
export type { Emulator, EmulatorDefinition, EmulatorOptions, FaultOptions } from "./emulators/_base.js";
export type { InputFormat } from "./readers/index.js";
export type { ParseThread } from "./readers/parse-thread.js";
export { BulkUsersError, ErrorCode, ExitCode, isBulkUsersError } from "./errors.js";
export type { ErrorContext } from "./errors.js";
export type { ReportRow, Status, SuccessStatus, SourceRecord, MappedUser } from "./types.js";
export type { CliIO } from "./ui/io.js";
export { main } from "./cli.js";
