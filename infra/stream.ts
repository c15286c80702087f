import { CORS_POLICY } from "../packages/config/cors.ts";
import type { DeployedAgent } from "./agent.ts";
import type { Secrets } from "./secrets.ts";
import {
  corsOrigins,
  deployed,
  functionDefaults,
  LAMBDA_MAX_TIMEOUT_SECONDS,
  streamReservedConcurrency,
  tableAccess,
} from "./settings.ts";

/** Seconds between the stream's own deadline (STREAM_MAX_DURATION_MS) and the function timeout. */
export const STREAM_TIMEOUT_MARGIN_SECONDS = 30;

/**
 * The stream function: a response-streaming Function URL (invoke mode RESPONSE_STREAM) that
 * tails a run's log as SSE (functions/stream.ts). It also serves the AutoGen streaming API's
 * POST /ask-stream, which starts a run and streams it on one response, so it may write the
 * table and start executions of this state machine (nothing else). Its timeout is the
 * handler's deadline (STREAM_MAX_DURATION_MS, default 840 s) plus a margin, below Lambda's
 * 900 s maximum, so a stream always ends itself with a `retry:` hint rather than being cut.
 * The URL is public (authorization NONE): callers present the run's stream token.
 * STREAM_FLUSH defaults to `pad` on Lambda (see packages/stream/flush.ts).
 * @throws Error at deploy time when STREAM_MAX_DURATION_MS leaves no room under 900 s.
 */
export function createStream({
  table,
  secrets,
  stateMachine,
  agent,
}: {
  table: sst.aws.Dynamo;
  secrets: Secrets;
  stateMachine: aws.sfn.StateMachine;
  agent: DeployedAgent;
}) {
  const timeoutSeconds = Math.ceil(deployed.STREAM_MAX_DURATION_MS / 1000) + STREAM_TIMEOUT_MARGIN_SECONDS;
  if (timeoutSeconds > LAMBDA_MAX_TIMEOUT_SECONDS) {
    throw new Error(
      `STREAM_MAX_DURATION_MS=${deployed.STREAM_MAX_DURATION_MS} needs a ${timeoutSeconds} s function timeout; Lambda allows ${LAMBDA_MAX_TIMEOUT_SECONDS} s`,
    );
  }
  const defaults = functionDefaults("stream", agent);
  const fn = new sst.aws.Function("Stream", {
    ...defaults,
    handler: "functions/stream.handler",
    description: "Stagecast: SSE stream of a run's progress log (Function URL, response streaming)",
    streaming: true,
    timeout: `${timeoutSeconds} seconds`,
    // Watchers hold one instance each for as long as they watch: the reservation caps them, so
    // a large audience is throttled here instead of taking the concurrency the stage,
    // finalize and API functions need (settings.ts, streamReservedConcurrency).
    concurrency: { reserved: streamReservedConcurrency },
    environment: {
      ...defaults.environment,
      TABLE_NAME: table.name,
      STREAM_MAX_DURATION_MS: String(deployed.STREAM_MAX_DURATION_MS),
      STATE_MACHINE_ARN: stateMachine.arn,
    },
    permissions: [
      tableAccess(table, "write"),
      { actions: ["states:StartExecution"], resources: [stateMachine.arn] },
    ],
    link: [secrets.authJwtSecret, secrets.streamTokenSecret],
    url: {
      authorization: "none",
      cors: corsOrigins.length
        ? {
            allowOrigins: corsOrigins,
            allowMethods: ["GET", "POST"],
            allowHeaders: [...CORS_POLICY.allowHeaders],
            exposeHeaders: [...CORS_POLICY.exposeHeaders],
            maxAge: `${CORS_POLICY.maxAgeSeconds} seconds`,
          }
        : false,
    },
  });
  return { fn, url: fn.url, timeoutSeconds };
}
