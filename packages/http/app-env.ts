/**
 * The Hono environment of every Stagecast app (`Hono<AppEnv>`, `Context<AppEnv>`,
 * `MiddlewareHandler<AppEnv>`): the context variables its middlewares set, so handlers read
 * them typed with `c.get(name)`.
 * - `requestId`: set by hono/request-id, which baseApp (base-app.ts) installs first; unset only for a
 *   refusal before it ran (then the error response makes one up).
 * - `principal`: the caller, set by `authenticate` on the routes it guards (the JWT `sub`, or
 *   `anonymous` when auth is off); unset elsewhere.
 */
export interface AppEnv {
  Variables: {
    requestId?: string;
    principal?: string;
  };
}
