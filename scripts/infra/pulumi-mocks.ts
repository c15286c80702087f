import { randomBytes } from "node:crypto";

/** One resource the program registered: Pulumi type token, logical name, inputs (secrets unwrapped). */
export interface SynthResource {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

/** The fake account and region every mocked ARN and data source uses. */
export const FAKE_ACCOUNT = "123456789012";
export const FAKE_REGION = "us-east-1";

/** Pulumi's marker key for special values in serialized inputs (secrets, resource references). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const RESOURCE_REF_SIG = "5cf8f73096256a8f31e491e813e4eb8e";

/**
 * Replace Pulumi's serialized secrets by their values and resource references by their URN,
 * so tests can assert on plain data.
 */
export function unwrap(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrap);
  if (value && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (record[SIG_KEY] === SECRET_SIG) return unwrap(record.value);
    if (record[SIG_KEY] === RESOURCE_REF_SIG) return record.urn;
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrap(v)]));
  }
  return value;
}

/** The service part of a type token (`aws:lambda/function:Function` → `lambda`). */
const serviceOf = (type: string) => type.split(":")[1]?.split("/")[0] ?? "x";

/**
 * The outputs AWS would add to a created resource, for the types Stagecast creates: enough
 * that ARNs, URLs and names flow into the resources that reference them.
 */
function computedState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const physical = (inputs.name as string | undefined) ?? name;
  const arnBase = `arn:aws:${serviceOf(type)}:${FAKE_REGION}:${FAKE_ACCOUNT}`;
  switch (type) {
    case "aws:lambda/function:Function":
      return {
        arn: `arn:aws:lambda:${FAKE_REGION}:${FAKE_ACCOUNT}:function:${physical}`,
        invokeArn: `invoke:${physical}`,
      };
    case "aws:lambda/functionUrl:FunctionUrl":
      return { functionUrl: `https://${name.toLowerCase()}.lambda-url.${FAKE_REGION}.on.aws/` };
    case "aws:dynamodb/table:Table":
      return { arn: `arn:aws:dynamodb:${FAKE_REGION}:${FAKE_ACCOUNT}:table/${physical}`, name: physical };
    case "aws:sfn/stateMachine:StateMachine":
      return {
        arn: `arn:aws:states:${FAKE_REGION}:${FAKE_ACCOUNT}:stateMachine:${physical}`,
        name: physical,
      };
    case "aws:sqs/queue:Queue":
      return {
        arn: `arn:aws:sqs:${FAKE_REGION}:${FAKE_ACCOUNT}:${physical}`,
        url: `https://sqs.${FAKE_REGION}.amazonaws.com/${FAKE_ACCOUNT}/${physical}`,
      };
    case "aws:apigatewayv2/api:Api":
      return {
        apiEndpoint: `https://${name.toLowerCase()}.execute-api.${FAKE_REGION}.amazonaws.com`,
        executionArn: `arn:aws:execute-api:${FAKE_REGION}:${FAKE_ACCOUNT}:${name}`,
      };
    case "aws:cloudfront/distribution:Distribution":
      // CloudFront names a distribution's domain <id>.cloudfront.net (CloudFront API, Distribution.DomainName).
      return {
        arn: `arn:aws:cloudfront::${FAKE_ACCOUNT}:distribution/${name}`,
        domainName: `${name.toLowerCase()}.cloudfront.net`,
      };
    case "aws:cloudwatch/eventBus:EventBus":
      return { arn: `arn:aws:events:${FAKE_REGION}:${FAKE_ACCOUNT}:event-bus/${physical}`, name: physical };
    case "random:index/randomBytes:RandomBytes": {
      const bytes = randomBytes(Number(inputs.length ?? 32));
      return { base64: bytes.toString("base64"), hex: bytes.toString("hex") };
    }
    case "aws:cloudwatch/logGroup:LogGroup":
      return { arn: `arn:aws:logs:${FAKE_REGION}:${FAKE_ACCOUNT}:log-group:${physical}`, name: physical };
    case "aws:iam/role:Role":
      return { arn: `arn:aws:iam::${FAKE_ACCOUNT}:role/${physical}`, name: physical };
    default:
      return { arn: `${arnBase}:${physical}`, name: physical };
  }
}

/** The policy JSON `aws.iam.getPolicyDocument` renders from statements (IAM JSON policy reference). */
function policyJson(statements: Record<string, unknown>[]): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: statements.map((s) => ({
      Effect: s.effect === "deny" || s.effect === "Deny" ? "Deny" : "Allow",
      Action: s.actions,
      Resource: s.resources,
      ...(s.principals ? { Principal: s.principals } : {}),
      ...(s.conditions ? { Condition: s.conditions } : {}),
    })),
  });
}

/**
 * Pulumi mocks (pulumi.runtime.setMocks) that record every resource and answer the data
 * sources SST's components call. getPolicyDocument must echo its `statements`: SST reads them
 * back to build each role's inline policy (docs/platform-notes.md, "SST offline checks").
 * @throws Error for a data source it does not know, so an unexpected call fails the synth.
 */
export function createMocks(records: SynthResource[]) {
  return {
    newResource(args: { type: string; name: string; inputs: Record<string, unknown>; id?: string }) {
      const inputs = unwrap(args.inputs) as Record<string, unknown>;
      records.push({ type: args.type, name: args.name, inputs });
      return {
        id: `${args.name}-id`,
        state: { ...args.inputs, ...computedState(args.type, args.name, inputs) },
      };
    },
    call(args: { token: string; inputs: Record<string, unknown> }) {
      const inputs = unwrap(args.inputs) as Record<string, unknown>;
      switch (args.token) {
        case "aws:index/getRegion:getRegion":
          return {
            name: FAKE_REGION,
            region: FAKE_REGION,
            id: FAKE_REGION,
            description: "US East (N. Virginia)",
          };
        case "aws:index/getPartition:getPartition":
          return {
            partition: "aws",
            dnsSuffix: "amazonaws.com",
            id: "aws",
            reverseDnsPrefix: "com.amazonaws",
          };
        case "aws:index/getCallerIdentity:getCallerIdentity":
          return {
            accountId: FAKE_ACCOUNT,
            arn: `arn:aws:iam::${FAKE_ACCOUNT}:user/ci`,
            userId: "CI",
            id: FAKE_ACCOUNT,
          };
        case "aws:iam/getPolicyDocument:getPolicyDocument": {
          const statements = (inputs.statements as Record<string, unknown>[] | undefined) ?? [];
          return { ...inputs, statements, json: policyJson(statements), id: "policy" };
        }
        default:
          throw new Error(`no mock for data source ${args.token}`);
      }
    },
  };
}
