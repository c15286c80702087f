/**
 * The caller or the stream token could not be authenticated. `code` is the safe code the 401
 * carries: `missing_token`, `invalid_token` (bad signature, wrong algorithm, wrong issuer or
 * audience, malformed) or `token_expired`.
 */
export class AuthError extends Error {
  override name = "AuthError";
  readonly code: "missing_token" | "invalid_token" | "token_expired";
  constructor(code: AuthError["code"], message: string) {
    super(message);
    this.code = code;
  }
}
