/**
 * This package's version, as written into `producer` fields and shown by `--version`.
 * (A test holds it equal to package.json's.)
 * @internal
 */
export const VERSION = "0.1.0"
