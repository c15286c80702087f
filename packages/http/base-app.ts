import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import type { LogFn } from "../runtime/index.ts";
import { onAppError } from "./errors.ts";

/**
 * A Hono app with what every Stagecast app has: a request id (it appears in every error body),
 * nosniff / frame / referrer policies on every response (cross-origin policies are left to
 * CORS), and the one error handler.
 */
export function baseApp(log: LogFn): Hono {
  const app = new Hono();
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
