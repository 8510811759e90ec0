/**
 * Errors a trace search reports to its caller. Each carries an HTTP status, a stable
 * code and the request field at fault, so the REST layer can answer with
 * `{"error": {code, message, field}}` without knowing each class; `status` alone is
 * enough for the generic error middleware to send a 400 rather than a 500.
 */
export class SearchRequestError extends Error {
  readonly status: number = 400;

  constructor(
    readonly code: string,
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}
