import { Hono } from "hono";
import { handle } from "hono/aws-lambda";
import { cors } from "hono/cors";
import { createApiApp } from "../packages/api/index.ts";
import { corsOrigins } from "../packages/compose/index.ts";
import { awsAuth, awsStore, awsWorkflow, config, log, withMetrics } from "./aws.ts";

const app = new Hono();
app.use(cors(corsOrigins(config)));
app.route(
  "/",
  createApiApp({
    store: awsStore(),
    workflow: awsWorkflow(),
    auth: awsAuth(),
    maxActiveRuns: config.MAX_ACTIVE_RUNS,
    log,
    ...(config.STREAM_BASE_URL ? { streamBaseUrl: config.STREAM_BASE_URL } : {}),
  }),
);

/**
 * API Lambda (API Gateway HTTP API, payload format 2.0, buffered): the same Hono app the local
 * stack serves, behind the same CORS settings (CORS_ORIGINS).
 */
export const handler = withMetrics(handle(app));
