/**
 * The API function behind API Gateway's HTTP API: the API app (docs/api.md) with CORS, its
 * metrics published per invocation.
 */
import { Hono } from "hono";
import { handle } from "hono/aws-lambda";
import { parts, withMetrics } from "./aws.ts";

const app = new Hono();
app.use(parts.cors());
app.route("/", parts.apiApp());

export const handler = withMetrics(handle(app));
