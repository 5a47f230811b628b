/**
 * Whether an object is a plain JSON container candidate: made by an object literal (or with a
 * null prototype), not a class instance. The encoder, the normalizer and the redactor share it.
 * @internal
 */
export const isPlainObject = (v: object): boolean => {
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}
