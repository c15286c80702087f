import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpGetTool } from "../../../../packages/agent/tools/http-get.ts";
import { runTool, type Tool } from "../../../../packages/agent/tools/index.ts";
import { errorOf, resultOf, useToolContext } from "../../../support/tools.ts";

const TABLE = "stagecast-tools-test";
const ctx = useToolContext(TABLE);

describe("http_get", () => {
  let server: Server;
  let base: string;
  const hits: string[] = [];
  const BIG = 5000;
  const MAX = 1000;
  let tool: Tool;
  let fastTimeoutTool: Tool;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = req.url ?? "";
      hits.push(path);
      switch (path) {
        case "/pub/ok":
          res
            .writeHead(200, { "content-type": "text/plain; charset=utf-8" })
            .end("hello from the test server");
          return;
        case "/pub/missing":
          res.writeHead(404, { "content-type": "text/plain" }).end("not here");
          return;
        case "/pub/redirect":
          res.writeHead(302, { location: `${base}/pub/target` }).end();
          return;
        case "/pub/target":
        case "/private":
          res.writeHead(200, { "content-type": "text/plain" }).end("you should not see this");
          return;
        case "/pub/big":
          res.writeHead(200, { "content-type": "text/plain" }).end("a".repeat(BIG));
          return;
        case "/pub/exact":
          res.writeHead(200, { "content-type": "text/plain" }).end("b".repeat(MAX));
          return;
        case "/pub/hang":
          return; // never answers
        default:
          res.writeHead(500).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const allowlist = [`${base}/pub/`];
    const t = httpGetTool({ allowlist, timeoutMs: 5000, maxBytes: MAX });
    const fast = httpGetTool({ allowlist, timeoutMs: 200, maxBytes: MAX });
    if (!t || !fast) throw new Error("http_get should be on with an allowlist");
    tool = t;
    fastTimeoutTool = fast;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  const get = (url: string, t: Tool = tool) => runTool(t, { url }, ctx());

  it("fetches an allowlisted URL", async () => {
    const result = resultOf(await get(`${base}/pub/ok`));
    expect(result).toEqual({
      url: `${base}/pub/ok`,
      status: 200,
      contentType: "text/plain; charset=utf-8",
      body: "hello from the test server",
      truncated: false,
    });
  });

  it("returns a non-2xx status as a result", async () => {
    const result = resultOf(await get(`${base}/pub/missing`));
    expect(result.status).toBe(404);
    expect(result.body).toBe("not here");
  });

  it("refuses a URL that is not on the allowlist without requesting it", async () => {
    const before = hits.length;
    const error = errorOf(await get(`${base}/private`));
    expect(error.code).toBe("tool_error");
    expect(error.message).toContain("not on the allowlist");
    expect(hits.length).toBe(before);
  });

  it("refuses a dot-segment path that leaves the allowlisted prefix once normalised", async () => {
    // `${base}/pub/../private` starts with the prefix as a string but fetch requests /private.
    const before = hits.length;
    const error = errorOf(await get(`${base}/pub/../private`));
    expect(error.code).toBe("tool_error");
    expect(hits.slice(before)).not.toContain("/private");
  });

  it("compares origins, not string prefixes: an entry without a trailing slash admits no look-alike host", async () => {
    const loose = httpGetTool({ allowlist: ["https://api.example.com"], timeoutMs: 500, maxBytes: 100 });
    if (!loose) throw new Error("tool should be on");
    for (const url of [
      "https://api.example.com.evil.net/x",
      "https://api.example.com@evil.net/x",
      "http://api.example.com/x",
    ]) {
      const out = await runTool(loose, { url }, ctx());
      expect(out.ok).toBe(false);
      if (!out.ok) expect(out.error.message).toContain("not on the allowlist");
    }
  });

  it("does not follow a redirect: tool_error, and the target is never requested", async () => {
    const error = errorOf(await get(`${base}/pub/redirect`));
    expect(error.code).toBe("tool_error");
    expect(error.message).toContain("redirect");
    expect(hits).toContain("/pub/redirect");
    expect(hits).not.toContain("/pub/target");
  });

  it("cuts a body larger than maxBytes to maxBytes and marks it truncated", async () => {
    const result = resultOf(await get(`${base}/pub/big`));
    expect(result.truncated).toBe(true);
    expect(result.body).toBe("a".repeat(MAX));
  });

  it("keeps a body of exactly maxBytes whole", async () => {
    const result = resultOf(await get(`${base}/pub/exact`));
    expect(result.truncated).toBe(false);
    expect(result.body).toBe("b".repeat(MAX));
  });

  it("times out a server that never answers with tool_timeout", async () => {
    const error = errorOf(await get(`${base}/pub/hang`, fastTimeoutTool));
    expect(error).toEqual({ code: "tool_timeout", message: "http_get took longer than 200 ms." });
  });

  it("reports a connection failure as a tool_error", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const url = `http://127.0.0.1:${port}/`;
    const off = httpGetTool({ allowlist: [url], timeoutMs: 5000, maxBytes: MAX });
    if (!off) throw new Error("http_get should be on");
    const error = errorOf(await get(url, off));
    expect(error).toEqual({ code: "tool_error", message: `could not fetch ${url}` });
  });

  it("rejects a string that is not a URL as invalid_tool_input", async () => {
    const error = errorOf(await get("not a url"));
    expect(error.code).toBe("invalid_tool_input");
    expect(error.message).toContain("url");
  });

  it("is off (undefined) with an empty allowlist", () => {
    expect(httpGetTool({ allowlist: [], timeoutMs: 200, maxBytes: 10 })).toBeUndefined();
  });

  it("lists the allowlist in its description and uses the configured time limit", () => {
    expect(tool.name).toBe("http_get");
    expect(tool.description).toContain(`${base}/pub/`);
    expect(tool.timeoutMs).toBe(5000);
    expect(fastTimeoutTool.timeoutMs).toBe(200);
  });
});
