/**
 * Whole lines of a byte stream, as text: split at newlines, a `\r` before the newline and a BOM
 * dropped, blank lines skipped. Each line is decoded once, whole (the stock text decoding and
 * line splitting handled every line as several small chunks, a third of an export's time).
 * @internal
 */
import * as Stream from "effect/Stream"

const clean = (line: string, out: Array<string>): void => {
  if (line.trim().length > 0) out.push(line.replace(/^\ufeff/, ""))
}

export const linesOf = <E, R>(bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<string, E, R> => {
  let carry: Buffer | undefined
  const whole = (buf: Buffer): Array<string> => {
    const out: Array<string> = []
    let from = 0
    for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a, from)) {
      clean(buf.toString("utf8", from, nl > from && buf[nl - 1] === 0x0d ? nl - 1 : nl), out)
      from = nl + 1
    }
    carry = from < buf.length ? Buffer.from(buf.subarray(from)) : undefined
    return out
  }
  const last = (): Array<string> => {
    const out: Array<string> = []
    if (carry !== undefined) clean(carry.toString("utf8").replace(/\r$/, ""), out)
    return out
  }
  return bytes.pipe(
    Stream.mapConcat((chunk) => whole(carry === undefined ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) : Buffer.concat([carry, chunk]))),
    Stream.concat(Stream.suspend(() => Stream.fromIterable(last())))
  )
}
