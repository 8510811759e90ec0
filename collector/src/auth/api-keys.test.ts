import { describe, expect, it } from "vitest";
import { presentedKey, readAuthorization } from "./api-keys.js";

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

describe("readAuthorization (RFC 6750 Bearer, RFC 7617 Basic)", () => {
  it("reads the key from Bearer and from Basic (as password, or as user with an empty password)", () => {
    expect(readAuthorization("Bearer abc-DEF_123.~+/==")).toEqual({ kind: "key", key: "abc-DEF_123.~+/==" });
    expect(readAuthorization("bearer   k0123456789abcdef")).toEqual({ kind: "key", key: "k0123456789abcdef" });
    expect(readAuthorization(`Basic ${b64("otel:the-key-0123456789")}`)).toEqual({ kind: "key", key: "the-key-0123456789" });
    expect(readAuthorization(`basic ${b64("the-key-0123456789:")}`)).toEqual({ kind: "key", key: "the-key-0123456789" });
    expect(readAuthorization(`Basic ${b64("u:pa:ss")}`)).toEqual({ kind: "key", key: "pa:ss" });
    expect(readAuthorization(undefined)).toEqual({ kind: "none" });
    expect(readAuthorization("")).toEqual({ kind: "none" });
  });

  it("refuses anything after the credentials, other schemes and broken base64", () => {
    for (const h of [
      "Bearer key0123456789abcd garbage",
      "Bearer key0123456789abcd,other",
      "Bearer key0123456789ab\"cd",
      "Bearer ",
      "Bearer",
      " Bearer key0123456789abcd",
      "Digest key0123456789abcd",
      "key0123456789abcd",
      `Basic ${b64("otel:k")} extra`,
      `Basic ${b64("no-colon-at-all")}`,
      `Basic ${b64(":")}`,
      "Basic !!!!",
      "Basic YWJj", // "abc": no colon
      "Basic YWJjOmRlZg", // unpadded
      "Basic YWJjOmRlZg===",
    ]) {
      expect(readAuthorization(h).kind, h).toBe("malformed");
      expect(presentedKey(h), h).toBeUndefined();
    }
  });
});
