import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** A request the fake received: the operation (X-Amz-Target suffix) and its JSON input. */
export interface SfnCall {
  operation: string;
  input: Record<string, unknown>;
}

/**
 * A stand-in for the Step Functions API endpoint (the AWS control plane cannot run here),
 * speaking its documented wire protocol: AWS JSON 1.0, `POST /` with
 * `X-Amz-Target: AWSStepFunctions.<Operation>`. StartExecution answers
 * `{ executionArn, startDate }` (epoch seconds) and StopExecution `{ stopDate }`, as in the
 * Step Functions API reference. Functions reach it through AWS_ENDPOINT_URL_SFN.
 */
export async function startFakeSfn() {
  const calls: SfnCall[] = [];
  const server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const operation = String(req.headers["x-amz-target"] ?? "").replace("AWSStepFunctions.", "");
    const input = JSON.parse(body || "{}") as Record<string, unknown>;
    calls.push({ operation, input });
    const now = Date.now() / 1000;
    const answer =
      operation === "StartExecution"
        ? {
            executionArn: `${String(input.stateMachineArn).replace(":stateMachine:", ":execution:")}:${input.name}`,
            startDate: now,
          }
        : operation === "StopExecution"
          ? { stopDate: now }
          : undefined;
    if (!answer) {
      res.writeHead(400, { "content-type": "application/x-amz-json-1.0" });
      res.end(JSON.stringify({ __type: "UnknownOperationException", message: operation }));
      return;
    }
    res.writeHead(200, { "content-type": "application/x-amz-json-1.0" });
    res.end(JSON.stringify(answer));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
