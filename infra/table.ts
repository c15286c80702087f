import { isProduction } from "./settings.ts";

/**
 * The single table of the progress store (packages/store): pk/sk strings, on-demand billing,
 * TTL on `expiresAt` (RETENTION_DAYS), no indexes. Point-in-time recovery only on the
 * production stage, where the app's removal policy also retains the table.
 */
export const table = new sst.aws.Dynamo("Progress", {
  fields: { pk: "string", sk: "string" },
  primaryIndex: { hashKey: "pk", rangeKey: "sk" },
  ttl: "expiresAt",
  deletionProtection: isProduction,
  transform: {
    table: (args) => {
      args.billingMode = "PAY_PER_REQUEST";
      args.pointInTimeRecovery = { enabled: isProduction };
    },
  },
});
