/**
 * A minimal HTTP/1.1 keep-alive client for GET requests on one TCP connection, one request at
 * a time: the audience scenario's long-poll watchers (bench/audience-watchers.ts) each hold one.
 * It exists for the harness's own cost: node:http spends about 80 µs of CPU per request with
 * 1,000 connections on this machine, this about 22 µs (measured against Varnish serving a cached
 * answer), and 1,000 watchers of a run at 10 events/s send 10,000 requests/s. Bodies framed by
 * Content-Length or chunked transfer coding (Varnish streams an object it is still fetching as
 * chunked); a response with `Connection: close`, or a dropped connection, makes the next
 * request open a new one.
 */
import { connect, type Socket } from "node:net";

/** A parsed response: status, body as UTF-8 text, and when its last byte arrived (ms since epoch). */
export interface Http1Response {
  status: number;
  body: string;
  at: number;
}

const CRLF = "\r\n";

/**
 * The complete response at the start of `buf`, and how many bytes it took; undefined while
 * incomplete. @throws on a response that is neither Content-Length nor chunked.
 */
export function parseResponse(
  buf: Buffer,
): { status: number; body: Buffer; used: number; close: boolean } | undefined {
  const end = buf.indexOf(`${CRLF}${CRLF}`);
  if (end < 0) return undefined;
  const head = buf.subarray(0, end).toString("latin1");
  const status = Number(head.slice(9, 12));
  const close = /\r\nconnection:\s*close/i.test(head);
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  const start = end + 4;
  if (length) {
    const size = Number(length[1]);
    if (buf.length < start + size) return undefined;
    return { status, body: buf.subarray(start, start + size), used: start + size, close };
  }
  if (!/\r\ntransfer-encoding:\s*chunked/i.test(head))
    throw new Error(`unframed response: ${head.slice(0, 200)}`);
  const parts: Buffer[] = [];
  let at = start;
  for (;;) {
    const nl = buf.indexOf(CRLF, at);
    if (nl < 0) return undefined;
    const size = Number.parseInt(buf.subarray(at, nl).toString("latin1"), 16);
    // The last chunk (0) is followed by an empty trailer line.
    if (size === 0) {
      if (buf.length < nl + 4) return undefined;
      return { status, body: Buffer.concat(parts), used: nl + 4, close };
    }
    if (buf.length < nl + 2 + size + 2) return undefined;
    parts.push(buf.subarray(nl + 2, nl + 2 + size));
    at = nl + 2 + size + 2;
  }
}

/** One keep-alive connection to `host:port`, opened on first use. */
export class Http1Connection {
  readonly #host: string;
  readonly #port: number;
  #socket: Socket | undefined;
  #buf: Buffer = Buffer.alloc(0);
  #pending: { resolve: (r: Http1Response) => void; reject: (e: Error) => void } | undefined;

  constructor(host: string, port: number) {
    this.#host = host;
    this.#port = port;
  }

  /** GET `path` (with its query); rejects when the connection fails or closes first. */
  get(path: string): Promise<Http1Response> {
    if (this.#pending) return Promise.reject(new Error("one request at a time"));
    const socket = this.#socket ?? this.#open();
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      socket.write(`GET ${path} HTTP/1.1${CRLF}Host: ${this.#host}:${this.#port}${CRLF}${CRLF}`);
    });
  }

  /** Close the connection (a request in flight is rejected). */
  close(): void {
    this.#drop(new Error("closed"));
  }

  #open(): Socket {
    const socket = connect(this.#port, this.#host);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      this.#buf = this.#buf.length > 0 ? Buffer.concat([this.#buf, chunk]) : chunk;
      this.#read();
    });
    // Only while it is this connection's socket: an old one closing must not drop a new one.
    socket.on("error", (err) => this.#socket === socket && this.#drop(err));
    socket.on("close", () => this.#socket === socket && this.#drop(new Error("connection closed")));
    this.#socket = socket;
    return socket;
  }

  #read(): void {
    let parsed: ReturnType<typeof parseResponse>;
    try {
      parsed = parseResponse(this.#buf);
    } catch (err) {
      this.#drop(err as Error);
      return;
    }
    if (!parsed) return;
    const at = Date.now();
    this.#buf = this.#buf.subarray(parsed.used);
    const pending = this.#pending;
    this.#pending = undefined;
    if (parsed.close) this.#drop(new Error("connection closed"));
    pending?.resolve({ status: parsed.status, body: parsed.body.toString("utf8"), at });
  }

  #drop(err: Error): void {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#buf = Buffer.alloc(0);
    socket?.destroy();
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(err);
  }
}
