import { handle } from "hono/aws-lambda";
import { createApiApp } from "../packages/http/api-app.ts";
import { awsAuth, awsStore, awsWorkflow, config, log } from "./aws.ts";

/**
 * API Lambda (API Gateway HTTP API, payload format 2.0, buffered): POST /runs, GET /runs/{id},
 * GET /runs/{id}/events. The same Hono app the local stack serves.
 */
export const handler = handle(
  createApiApp({
    store: awsStore(),
    workflow: awsWorkflow(),
    auth: awsAuth(),
    maxActiveRuns: config.MAX_ACTIVE_RUNS,
    log,
    ...(config.STREAM_BASE_URL ? { streamBaseUrl: config.STREAM_BASE_URL } : {}),
  }),
);
