import type { Context as LambdaContext } from "aws-lambda";
import { Hono } from "hono";
import { streamHandle } from "hono/aws-lambda";
import { cors } from "hono/cors";
import { corsOrigins, streamSettings } from "../packages/compose/index.ts";
import { createStreamApp } from "../packages/stream/index.ts";
import { awsAuth, awsStore, awsWorkflow, config, log, meter } from "./aws.ts";

const app = new Hono();
app.use(cors(corsOrigins(config)));
// Transfer-Encoding and Connection belong to the transport, not to the Function URL's
// response prelude (docs/platform-notes.md, "Hono on Lambda and on Node"): the front end frames the stream itself.
app.use(async (c, next) => {
  await next();
  c.res = new Response(c.res.body, c.res);
  c.res.headers.delete("transfer-encoding");
  c.res.headers.delete("connection");
});
app.route(
  "/",
  createStreamApp({
    store: awsStore(),
    settings: streamSettings(config, "pad"),
    auth: awsAuth(),
    start: { workflow: awsWorkflow(), maxActiveRuns: config.MAX_ACTIVE_RUNS },
    log,
    meter,
    // streamHandle passes the Lambda context as `env.context`.
    remainingMs: (c) =>
      (c.env as { context?: LambdaContext } | undefined)?.context?.getRemainingTimeInMillis(),
  }),
);

/**
 * Stream Lambda (Function URL, invoke mode RESPONSE_STREAM): GET /runs/{id}/stream as SSE, and
 * the AutoGen streaming API's POST /ask-stream and GET /test-stream (docs/api.md §7). A Function
 * URL has no JWT authorizer, so /ask-stream verifies the caller's bearer JWT in the function
 * (AUTH_JWKS_URL or AuthJwtSecret).
 * Needs the runtime's `awslambda` global (streamifyResponse, HttpResponseStream). The stream
 * closes itself before STREAM_MAX_DURATION_MS, which must be below the function timeout.
 */
export const handler = streamHandle(app);
