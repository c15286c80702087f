import { StoreUnavailableError } from "./errors.ts";

/** True when DynamoDB refused a write because its ConditionExpression was false. */
export function isConditionFailed(err: unknown): boolean {
  return err instanceof Error && err.name === "ConditionalCheckFailedException";
}

/**
 * Translate an SDK error at the store's edge: callers see a {@link StoreUnavailableError}
 * naming the operation and the SDK error's name, with the original kept as `cause` for logs.
 */
export function toStoreError(operation: string, err: unknown): StoreUnavailableError {
  const name = err instanceof Error ? err.name : "UnknownError";
  return new StoreUnavailableError(`DynamoDB ${operation} failed (${name})`, { cause: err });
}
