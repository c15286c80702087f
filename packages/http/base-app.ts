import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import type { LogFn } from "../observability/index.ts";
import type { AppEnv } from "./app-env.ts";
import { onAppError } from "./errors.ts";

/**
 * A Hono app with what every Stagecast app has: a request id (it appears in every error body),
 * nosniff / frame / referrer policies on every response (cross-origin policies are left to
 * CORS), and the one error handler. Its context variables are typed by {@link AppEnv}.
 */
export function baseApp(log: LogFn): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(requestId());
  app.use(
    secureHeaders({
      crossOriginResourcePolicy: false,
      crossOriginOpenerPolicy: false,
      crossOriginEmbedderPolicy: false,
    }),
  );
  app.onError(onAppError(log));
  return app;
}
