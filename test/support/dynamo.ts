import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { type DynaliteHandle, startDynalite } from "../../local/stack/dynalite.ts";
import { ensureTable, openStore, type Store } from "../../packages/store/index.ts";

/** An in-memory dynalite with the table created, a client for it and a store over it. */
export interface TestDynamo {
  dynalite: DynaliteHandle;
  client: DynamoDBClient;
  store: Store;
  close(): Promise<void>;
}

/** Start dynalite on a free loopback port and create `tableName` (retention in seconds). */
export async function startTestDynamo(tableName: string, retentionSeconds = 86_400): Promise<TestDynamo> {
  const dynalite = await startDynalite();
  const client = new DynamoDBClient({
    endpoint: dynalite.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
  });
  await ensureTable(client, tableName);
  const store = openStore({ client, tableName, retentionSeconds });
  return {
    dynalite,
    client,
    store,
    close: async () => {
      client.destroy();
      await dynalite.close();
    },
  };
}
