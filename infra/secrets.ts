/**
 * Secrets (`npx sst secret set <Name> <value> --stage <stage>`), stored encrypted by SST and
 * linked only to the functions that need them (see SECRET_LINKS for who uses which).
 */
export const secrets = {
  /** The model API key. For a key-less endpoint (Ollama, vLLM) set any placeholder. */
  openaiApiKey: new sst.Secret("OpenaiApiKey"),
  /** Verifies callers' HS256 JWTs when no API Gateway JWT authorizer is configured (≥ 32 bytes). */
  authJwtSecret: new sst.Secret("AuthJwtSecret"),
  /** Signs and verifies stream tokens (≥ 32 bytes). */
  streamTokenSecret: new sst.Secret("StreamTokenSecret"),
};

/** The secrets object infra modules receive. */
export type Secrets = typeof secrets;
