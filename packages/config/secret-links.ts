/**
 * The sst.Secret each secret setting comes from on AWS: link name → configuration key.
 * infra/secrets.ts creates the secrets under these names and links each only to the functions
 * that use it; {@link linkedSecrets} reads them back inside a function. One table, so the two
 * sides cannot drift apart.
 */
export const SECRET_LINKS = {
  /** The model API key (OPENAI_API_KEY): stage functions only. */
  OpenaiApiKey: "OPENAI_API_KEY",
  /** HS256 secret of callers' JWTs (AUTH_JWT_SECRET): API and stream functions. */
  AuthJwtSecret: "AUTH_JWT_SECRET",
  /** HS256 secret of stream tokens (STREAM_TOKEN_SECRET): API (signs) and stream (verifies). */
  StreamTokenSecret: "STREAM_TOKEN_SECRET",
} as const;

/** The name of a linked secret, e.g. `"OpenaiApiKey"`. */
export type SecretLinkName = keyof typeof SECRET_LINKS;

/**
 * Configuration entries for the secrets linked to this function, read from SST's linked
 * resources (`Resource.<Name>.value`, decrypted from resource.enc with SST_KEY). A secret not
 * linked here is simply absent, so a function never holds a secret it does not use.
 * `resources` is `Resource` from `sst/resource` (a parameter, so tests need no SST runtime).
 */
export function linkedSecrets(resources: object): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [link, key] of Object.entries(SECRET_LINKS)) {
    if (!(link in resources)) continue;
    const value = (resources as Record<string, { value?: unknown } | undefined>)[link]?.value;
    if (typeof value === "string" && value !== "") out[key] = value;
  }
  return out;
}
