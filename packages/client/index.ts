/**
 * @stagecast/client: the typed client for Node and browsers (docs/client.md). Event types come
 * from the shared zod schema, so `event.data` is typed by `event.type`.
 */
export type {
  EventOf,
  RunEvent,
  RunEventType,
  RunStage,
  RunStatus,
  SafeError,
  Stage,
  TerminalType,
} from "../events/index.ts";
export {
  isTerminalType,
  RunEventSchema,
  STATUS_OF_TERMINAL,
  TERMINAL_TYPES,
} from "../events/index.ts";
export { type ClientOptions, createClient } from "./client.ts";
export {
  InvalidPollUrlError,
  StagecastApiError,
  StagecastConnectionError,
  StagecastProtocolError,
} from "./errors.ts";
export { elapsedMs, formatDuration, remainingMs } from "./eta.ts";
export type { TokenSource } from "./http.ts";
export {
  addParam,
  InvalidParamError,
  MAX_PARAM_CHARS,
  MAX_PARAMS,
  type ParamValue,
  parseParam,
  parseParamLines,
  type RunParams,
} from "./params.ts";
export { pollLinkRunId } from "./poll-link.ts";
export {
  applyEvent,
  initialRunProgress,
  type ListedStage,
  type RunProgress,
  type StageState,
  type StageView,
  type ToolView,
} from "./run-view.ts";
export {
  type JsonValue,
  STAGE_DATA_MAX_BYTES,
  type StageData,
  type StageDataClip,
} from "./stage-data.ts";
export { STAGE_DATA_LINE_CHARS, stageDataLine } from "./stage-data-line.ts";
export type {
  ReadMode,
  RunDetails,
  RunLinks,
  RunSummary,
  StagecastClient,
  StageEstimates,
  StartedRun,
  StartRunInput,
  StreamState,
  SubscribeOptions,
  WatchLink,
} from "./types.ts";
