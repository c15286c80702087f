/**
 * packages/events: the event contract (zod schema), the AutoGen API mapping and SSE framing. Other
 * packages import from here only; this list is what they use.
 */

export {
  AUTOGEN_EVENT_TYPES,
  type AutoGenEvent,
  AutoGenEventSchema,
  type AutoGenEventType,
  toAutoGenEvent,
} from "./autogen-format.ts";
export {
  clip,
  type Ended,
  EndedSchema,
  EVENT_TYPES,
  type EventInput,
  type EventOf,
  type Heartbeat,
  HeartbeatSchema,
  isTerminalType,
  MAX_MESSAGE_CHARS,
  type Reconnect,
  ReconnectSchema,
  type RunEvent,
  RunEventSchema,
  type RunEventType,
  RunIdSchema,
  type RunStage,
  RunStageSchema,
  type RunStatus,
  type SafeError,
  SafeErrorSchema,
  type Snapshot,
  STAGE_NAME_PATTERN,
  STATUS_OF_TERMINAL,
  type Stage,
  StageSchema,
  TERMINAL_TYPES,
  type TerminalType,
  type Usage,
  UsageSchema,
} from "./schema.ts";
export {
  endedMessage,
  heartbeatMessage,
  openingMessage,
  reconnectMessage,
  type SseMessage,
  snapshotMessage,
  sseBytes,
  sseComment,
  toSseMessage,
} from "./sse.ts";
