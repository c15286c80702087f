/**
 * The stream function behind a response-streaming Function URL: the stream app (SSE) with
 * CORS. It publishes its own metrics per stream (the stream app meters as it goes).
 */
import { Hono } from "hono";
import { streamHandle } from "hono/aws-lambda";
import { parts } from "./aws.ts";

const app = new Hono();
app.use(parts.cors());
// Transfer-Encoding and Connection belong to the transport, not to the Function URL's
// response prelude (docs/platform-notes.md, "Hono on Lambda and on Node"): the front end frames the stream itself.
app.use(async (c, next) => {
  await next();
  c.res = new Response(c.res.body, c.res);
  c.res.headers.delete("transfer-encoding");
  c.res.headers.delete("connection");
});
app.route("/", parts.streamApp());

export const handler = streamHandle(app);
