/**
 * @stagecast/react: React hooks over the typed client (docs/client.md, "React"). `useRun`
 * watches a run live through the client's reducer (applyEvent); `useStartRun` starts one. The
 * client comes from the hook's `client` option or a StagecastProvider.
 */
export {
  MissingStagecastClientError,
  StagecastContext,
  StagecastProvider,
  type StagecastProviderProps,
  useStagecastClient,
} from "./client-context.ts";
export { type UseRunOptions, type UseRunResult, useRun } from "./use-run.ts";
export {
  type StartOptions,
  type UseStartRunOptions,
  type UseStartRunResult,
  useStartRun,
} from "./use-start-run.ts";
export { type ConnectionState, type RunWatch, type WatchRunOptions, watchRun } from "./watch-run.ts";
