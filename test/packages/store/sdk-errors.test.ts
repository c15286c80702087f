import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ulid } from "ulid";
import { describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../../../packages/store/errors.ts";
import { openStore } from "../../../packages/store/index.ts";
import { progress } from "../../support/store-events.ts";

const TABLE = "stagecast-test";
const RETENTION = 7 * 24 * 3600;

describe("errors at the store's edge", () => {
  it("an unreachable DynamoDB becomes StoreUnavailableError, not an SDK error", async () => {
    const down = new DynamoDBClient({
      endpoint: "http://127.0.0.1:1",
      region: "us-east-1",
      credentials: { accessKeyId: "x", secretAccessKey: "x" },
      maxAttempts: 1,
    });
    try {
      const broken = openStore({ client: down, tableName: TABLE, retentionSeconds: RETENTION });
      await expect(broken.runs.get(ulid())).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(broken.events.read(ulid(), 0)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(broken.events.log(ulid()).append(progress("x"))).rejects.toBeInstanceOf(
        StoreUnavailableError,
      );
    } finally {
      down.destroy();
    }
  });
});
