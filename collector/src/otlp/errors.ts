/**
 * Thrown for an OTLP body that cannot be decoded at all. The HTTP layer turns
 * it into a 400 with a google.rpc.Status; everything else that goes wrong in a
 * decoder is a bug and must surface as a 500, which is why this is its own type.
 */
export class OtlpDecodeError extends Error {
  override readonly name = "OtlpDecodeError";
  /** Byte offset in a protobuf body, when the error has one. */
  readonly offset: number | undefined;
  /** JSON path (e.g. `resourceSpans[0].scopeSpans[1]`), when the error has one. */
  readonly path: string | undefined;

  constructor(message: string, where?: { offset?: number; path?: string }) {
    super(message);
    this.offset = where?.offset;
    this.path = where?.path;
  }
}
