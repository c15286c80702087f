import { SignJWT } from "jose";

/** A caller token as the local stack accepts it with AUTH_JWT_SECRET: HS256, `sub`, one hour. */
export function hs256CallerToken(secret: string, sub: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode(secret));
}
