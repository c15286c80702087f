import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack } from "../../support/stack.ts";

let stack: Awaited<ReturnType<typeof startTestStack>>;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** Send raw bytes to the stack's port and read the whole answer (the server closes after an error). */
function rawRequest(bytes: string): Promise<string> {
  const { port, hostname } = new URL(stack.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(bytes));
    let out = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk) => (out += chunk));
    socket.on("end", () => resolve(out));
    socket.on("error", reject);
    socket.setTimeout(5000, () =>
      socket.destroy(new Error(`no answer to ${JSON.stringify(bytes.slice(0, 60))}`)),
    );
  });
}

/** Status, headers (lower-cased names) and parsed JSON body of a raw HTTP/1.1 response. */
function parse(response: string) {
  const [head = "", ...rest] = response.split("\r\n\r\n");
  const [statusLine = "", ...lines] = head.split("\r\n");
  const headers = Object.fromEntries(
    lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]),
  );
  return { status: Number(statusLine.split(" ")[1]), headers, body: JSON.parse(rest.join("\r\n\r\n")) };
}

/** The documented error shape, with a request id equal to the X-Request-Id header. */
function expectErrorShape(response: string, status: number, code: string) {
  const { status: got, headers, body } = parse(response);
  expect(got).toBe(status);
  expect(headers["content-type"]).toMatch(/^application\/json/);
  expect(body).toEqual({ error: { code, message: expect.any(String), requestId: expect.any(String) } });
  expect(body.error.requestId).not.toBe("unknown");
  expect(headers["x-request-id"]).toBe(body.error.requestId);
  // Nothing of Node's internals reaches the client.
  expect(body.error.message).not.toMatch(/HPE_|Parse Error|at \w+ \(/);
}

describe("every error a client can receive has the one JSON shape and a request id equal to X-Request-Id", () => {
  const host = () => `Host: ${new URL(stack.url).host}`;
  const cases: Array<[string, () => string, number, string]> = [
    [
      "oversized headers",
      () => `GET /runs HTTP/1.1\r\n${host()}\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`,
      431,
      "headers_too_large",
    ],
    [
      "Transfer-Encoding and Content-Length",
      () =>
        `POST /runs HTTP/1.1\r\n${host()}\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n`,
      400,
      "invalid_framing",
    ],
    [
      "a negative Content-Length",
      () => `POST /runs HTTP/1.1\r\n${host()}\r\nContent-Length: -1\r\n\r\n`,
      400,
      "invalid_framing",
    ],
    [
      "a doubled Content-Length",
      () => `POST /runs HTTP/1.1\r\n${host()}\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab`,
      400,
      "invalid_framing",
    ],
    [
      "a NUL in a header",
      () => `GET /runs HTTP/1.1\r\n${host()}\r\nX-A: a\u0000b\r\n\r\n`,
      400,
      "malformed_request",
    ],
    ["no Host header", () => "GET /runs HTTP/1.1\r\nConnection: close\r\n\r\n", 400, "invalid_host"],
    [
      "a foreign Host on loopback (421)",
      () => "GET /runs HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n",
      421,
      "misdirected_request",
    ],
    [
      "an Expect other than 100-continue",
      () => `POST /runs HTTP/1.1\r\n${host()}\r\nExpect: teapot\r\nContent-Length: 2\r\n\r\n{}`,
      417,
      "expectation_failed",
    ],
    [
      "an unknown route",
      () => `GET /nowhere HTTP/1.1\r\n${host()}\r\nConnection: close\r\n\r\n`,
      404,
      "not_found",
    ],
  ];
  for (const [name, bytes, status, code] of cases) {
    it(`${name} → ${status} ${code}`, async () => {
      expectErrorShape(await rawRequest(bytes()), status, code);
    });
  }

  it("a malformed request after a stream has started on the same connection closes it, never writing into the stream", async () => {
    const { port, hostname } = new URL(stack.url);
    const run = await fetch(`${stack.url}/runs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ question: "Keep streaming" }),
    });
    const { runId } = (await run.json()) as { runId: string };
    const got = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => {
        socket.write(`GET /runs/${runId}/stream HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`);
        // Once the stream's first bytes arrive, send a request Node cannot parse.
        socket.once("data", () => socket.write("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n"));
      });
      let out = "";
      socket.setEncoding("utf8");
      socket.on("data", (chunk) => (out += chunk));
      socket.on("close", () => resolve(out));
      socket.on("error", () => resolve(out));
      socket.setTimeout(10_000, () => reject(new Error("the connection was not closed")));
    });
    expect(got.startsWith("HTTP/1.1 200")).toBe(true);
    expect(got).not.toContain("HTTP/1.1 400");
    await stack.workflow.idle();
  });

  it("the server still serves normal requests afterwards", async () => {
    const res = await fetch(`${stack.url}/runs`);
    expect(res.status).toBe(200);
  });
});
