import {
  type Context,
  createContext,
  createElement,
  type ReactElement,
  type ReactNode,
  useContext,
} from "react";
import type { StagecastClient } from "../client/index.ts";

/**
 * A hook found no client: neither its `client` option nor a {@link StagecastProvider} above the
 * component gave one. Thrown during render, so the mistake shows at once (an error boundary
 * or the dev overlay names it) rather than as a run that never loads.
 */
export class MissingStagecastClientError extends Error {
  override name = "MissingStagecastClientError";
  constructor() {
    super(
      "no Stagecast client: pass { client } to the hook, or render it inside <StagecastProvider client={…}>",
    );
  }
}

/**
 * The client the hooks use when they are given none (see {@link StagecastProvider}); `undefined`
 * outside a provider. Exported for apps that provide it themselves (e.g. React 19's
 * `<StagecastContext value={client}>`).
 */
export const StagecastContext: Context<StagecastClient | undefined> = createContext<
  StagecastClient | undefined
>(undefined);

/** Props of {@link StagecastProvider}. */
export interface StagecastProviderProps {
  /**
   * The client every hook below uses (from `createClient`). Create it once (module scope or
   * `useMemo`): a new client object restarts every subscription below.
   */
  client: StagecastClient;
  children?: ReactNode;
}

/**
 * Gives `client` to every {@link useRun} and {@link useStartRun} below it, so they can be
 * called without options: `<StagecastProvider client={client}><App /></StagecastProvider>`.
 * Why: one client per app keeps its stream tokens (from startRun) for the subscriptions.
 */
export function StagecastProvider({ client, children }: StagecastProviderProps): ReactElement {
  return createElement(StagecastContext.Provider, { value: client }, children);
}

/**
 * The client a hook works with: `client` when given, else the nearest
 * {@link StagecastProvider}'s.
 * @throws MissingStagecastClientError when there is neither (during render).
 */
export function useStagecastClient(client?: StagecastClient): StagecastClient {
  const provided = useContext(StagecastContext);
  const chosen = client ?? provided;
  if (!chosen) throw new MissingStagecastClientError();
  return chosen;
}
