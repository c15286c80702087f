import { describe, expect, it } from "vitest";
import {
  DEFAULT_STREAM_CONTENT_TYPE,
  HANDLER_STREAMING,
  HTTP_INTEGRATION_CONTENT_TYPE,
  HttpResponseStream,
  invokeStreaming,
  ResponseStream,
  streamifyResponse,
} from "./awslambda.ts";

describe("the awslambda stand-in (test harness)", () => {
  it("marks streamified handlers with the runtime's symbol and returns the same function", () => {
    const fn = async () => {};
    const out = streamifyResponse(fn);
    expect(out).toBe(fn);
    expect((out as unknown as Record<symbol, unknown>)[HANDLER_STREAMING]).toBe("response");
  });

  it("writes the prelude and 8 NUL bytes lazily, right before the first write", async () => {
    const stream = new ResponseStream();
    expect(stream.contentType).toBe(DEFAULT_STREAM_CONTENT_TYPE);
    const http = HttpResponseStream.from(stream, { statusCode: 201, headers: { a: "b" } });
    expect(http.contentType).toBe(HTTP_INTEGRATION_CONTENT_TYPE);
    await new Promise((r) => setImmediate(r));
    expect(stream.chunks).toHaveLength(0);
    http.write("hello");
    http.write(" world");
    http.end();
    await new Promise((r) => stream.once("finish", r));
    expect(stream.chunks.map((c) => c.data)).toEqual([
      Buffer.from(JSON.stringify({ statusCode: 201, headers: { a: "b" } })),
      Buffer.alloc(8),
      Buffer.from("hello"),
      Buffer.from(" world"),
    ]);
    expect(() => stream.setContentType("text/plain")).toThrow(/too late/);
  });

  it("invokeStreaming returns prelude and body, and refuses handlers that break the contract", async () => {
    const good = streamifyResponse(async (_e: unknown, s: ResponseStream) => {
      const http = HttpResponseStream.from(s, { statusCode: 200, headers: {} });
      http.write("body");
      http.end();
    });
    const result = await invokeStreaming(good, {});
    expect(result.prelude).toEqual({ statusCode: 200, headers: {} });
    expect(result.body).toBe("body");
    expect(result.ended).toBe(true);

    await expect(invokeStreaming(async () => {}, {})).rejects.toThrow(/not marked/);
    const neverEnds = streamifyResponse(async (_e: unknown, s: ResponseStream) => {
      s.write("x");
    });
    await expect(invokeStreaming(neverEnds, {}, undefined, { finishTimeoutMs: 50 })).rejects.toThrow(
      /not finished/,
    );
    const noDelimiter = streamifyResponse(async (_e: unknown, s: ResponseStream) => {
      s.setContentType(HTTP_INTEGRATION_CONTENT_TYPE);
      s.write('{"statusCode":200}');
      s.end("body");
    });
    await expect(invokeStreaming(noDelimiter, {})).rejects.toThrow(/delimiter/);
  });
});
