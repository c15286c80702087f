import type { Context, MiddlewareHandler } from "hono";
import { AuthError, type CallerAuth, type StreamTokens, type WatchTokens } from "../auth/index.ts";
import { ANONYMOUS, isOwnedBy } from "../store/index.ts";
import type { AppEnv } from "./app-env.ts";
import { HttpError } from "./errors.ts";

/**
 * How the apps authenticate:
 * - `jwt`: callers send a bearer JWT (verified by `caller`) unless an upstream authorizer
 *   already verified one (`upstream`, e.g. API Gateway's JWT authorizer claims); streams need a
 *   run-scoped stream token (`streamTokens`); the poll route needs the run's shared watch token
 *   (`watchTokens`).
 * - `off`: everyone is the principal `anonymous` and streams need no token. Only for a server
 *   on loopback (the composition root refuses it elsewhere).
 */
export type AuthSettings =
  | {
      mode: "jwt";
      caller?: CallerAuth;
      /** The principal an upstream authorizer verified for this request, if any. */
      upstream?: (c: Context) => string | undefined;
      streamTokens: StreamTokens;
      watchTokens: WatchTokens;
    }
  | { mode: "off"; streamTokens?: StreamTokens; watchTokens?: WatchTokens };

/** The principal set by {@link authenticate}; {@link ANONYMOUS} where it did not run. */
export function principalOf(c: Context<AppEnv>): string {
  return c.get("principal") ?? ANONYMOUS;
}

/**
 * `run` itself when `principal` owns it (see `isOwnedBy`: a run item without an owner is
 * {@link ANONYMOUS}'s). The one owner check of every route that reads, streams or cancels a run.
 * @throws HttpError 404 `run_not_found` when `run` is undefined or someone else's: another
 *   principal's run is as unknown as a missing one.
 */
export function ownedBy<R extends { owner?: string | undefined }>(run: R | undefined, principal: string): R {
  if (!run || !isOwnedBy(run, principal)) throw new HttpError(404, "run_not_found", "No run with that id.");
  return run;
}

/** An AuthError as the 401 every client sees: JSON error with its code, and a WWW-Authenticate challenge. */
export function unauthorized(err: AuthError): HttpError {
  return new HttpError(401, err.code, err.message, { "WWW-Authenticate": `Bearer error="${err.code}"` });
}

/**
 * Middleware: establish the caller's principal (`c.get("principal")`) or answer 401.
 * Upstream claims win (API Gateway verified them); otherwise the bearer token is verified.
 */
export function authenticate(auth: AuthSettings): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    let principal = ANONYMOUS;
    if (auth.mode === "jwt") {
      const upstream = auth.upstream?.(c);
      if (upstream) principal = upstream;
      else if (auth.caller) {
        try {
          principal = await auth.caller.principal(c.req.header("authorization"));
        } catch (err) {
          if (err instanceof AuthError) throw unauthorized(err);
          throw err;
        }
      } else throw unauthorized(new AuthError("missing_token", "No authorizer is configured."));
    }
    c.set("principal", principal);
    await next();
  };
}
