/**
 * A progress line on standard error for the commands that read a whole pack (`verify`, `export`,
 * `report`): bytes read (of how many, when the size is known), entries per second, time left.
 *
 * It is for a person watching a terminal, and for nobody else:
 * - nothing is drawn unless the stream is a terminal (`isTTY`) and `--quiet` was not given; on a
 *   pipe or a file there is not one byte of it, so logs and scripts see only what they saw before;
 * - nothing is drawn for a job that ends within `delayMs` (300 ms): a small pack verifies with no
 *   flicker;
 * - it is redrawn at most ten times a second, by a timer, so `advance` (called once per chunk read)
 *   only adds two numbers: the verification's speed is not paid for the drawing;
 * - `done` wipes the line (carriage return, spaces, carriage return: no escape sequence, so a
 *   `TERM=dumb` terminal is cleared too) before the command prints its result;
 * - the line is never wider than the terminal, so the carriage return always finds its start.
 *
 * Plain characters only, no colour: `NO_COLOR` has nothing to turn off here.
 * @internal
 */

/**
 * What a progress line is drawn on: `process.stderr`, or in tests any object with the same
 * members.
 *
 * @since 0.1.0
 * @category progress
 */
export interface ProgressStream {
  readonly isTTY?: boolean | undefined
  readonly columns?: number | undefined
  readonly write: (text: string) => unknown
}

/**
 * How `start` is called.
 *
 * @since 0.1.0
 * @category progress
 */
export interface StartOptions {
  /** the first word of the line, the command's name (`verify`, `export`, `report`) */
  readonly label: string
  /** the bytes the job will read, when known (a regular file): enables the bar and the time left */
  readonly totalBytes?: number | undefined
  /** `--quiet`: draw nothing */
  readonly quiet: boolean
  /** where to draw (default `process.stderr`) */
  readonly stream?: ProgressStream | undefined
  /** how long a job runs before the line appears, in milliseconds (default 300) */
  readonly delayMs?: number | undefined
  /** the clock, in milliseconds (default `performance.now`) */
  readonly now?: (() => number) | undefined
}

/**
 * A running progress line: `advance` adds what was read since the last call (bytes and entries,
 * both increments); `done` stops it and wipes the line. Calling `done` twice, or `advance` after
 * `done`, does nothing.
 *
 * @since 0.1.0
 * @category progress
 */
export interface Progress {
  /** whether a line may be drawn (a terminal, not quiet): when not, a caller need not count at all */
  readonly active: boolean
  readonly advance: (bytes: number, entries: number) => void
  readonly done: () => void
}

/** The line is redrawn at most this often. */
const INTERVAL_MS = 100

/** How long a job runs before its line appears. */
const DELAY_MS = 300

/** The progress that draws nothing: not a terminal, or `--quiet`. */
const silent: Progress = { active: false, advance: () => {}, done: () => {} }

/**
 * Starts a progress line (see the module's comment for when one is drawn at all).
 *
 * @since 0.1.0
 * @category progress
 */
export const start = (options: StartOptions): Progress => {
  const stream = options.stream ?? process.stderr
  if (options.quiet || stream.isTTY !== true) return silent
  const now = options.now ?? (() => performance.now())
  const delay = options.delayMs ?? DELAY_MS
  const total = options.totalBytes !== undefined && options.totalBytes > 0 ? options.totalBytes : undefined
  const began = now()
  let bytes = 0
  let entries = 0
  let shown = 0
  let finished = false
  const draw = () => {
    const elapsed = now() - began
    if (finished || elapsed < delay) return
    const line = fit(progressLine(options.label, bytes, entries, total, elapsed, widthOf(stream.columns)), stream.columns)
    // spaces over what is left of a longer line drawn before
    stream.write(`\r${line}${" ".repeat(Math.max(0, shown - line.length))}`)
    shown = line.length
  }
  const timer = setInterval(draw, INTERVAL_MS)
  // a progress line never keeps the process alive
  timer.unref()
  return {
    active: true,
    advance: (b, e) => {
      bytes += b
      entries += e
    },
    done: () => {
      if (finished) return
      finished = true
      clearInterval(timer)
      if (shown > 0) stream.write(`\r${" ".repeat(shown)}\r`)
      shown = 0
    }
  }
}

/** The widest line drawn: the terminal's width less one (a line filling the last column wraps on some terminals). */
const widthOf = (columns: number | undefined): number => (columns !== undefined && columns > 1 ? columns - 1 : 79)

/** The line cut to the width, should it still be wider. */
const fit = (line: string, columns: number | undefined): string => {
  const width = widthOf(columns)
  return line.length <= width ? line : line.slice(0, width)
}

/**
 * The text of a progress line: `verify  12.5 / 40.0 MB [#####-----------]  31%  52,300 entries/s  3 s left`
 * (without the bar when that is wider than `width`), or without a known size
 * `verify  12.5 MB  52,300 entries/s  (410,112 entries)`.
 *
 * @since 0.1.0
 * @category progress
 */
export const progressLine = (
  label: string,
  bytes: number,
  entries: number,
  total: number | undefined,
  elapsedMs: number,
  width?: number | undefined
): string => {
  const seconds = Math.max(elapsedMs / 1000, 0.001)
  const rate = `${group(Math.round(entries / seconds))} entries/s`
  const read = Math.round(entries)
  if (total === undefined) return `${label}  ${size(bytes)}  ${rate}  (${group(read)} ${read === 1 ? "entry" : "entries"})`
  // a second pass (export reads the log twice) or a file that grew is never past the end
  const fraction = Math.min(1, bytes / total)
  const cells = 16
  const full = Math.round(fraction * cells)
  const bar = `[${"#".repeat(full)}${"-".repeat(cells - full)}]`
  const speed = bytes / seconds
  const left = speed > 0 ? `${duration((total - Math.min(bytes, total)) / speed)} left` : ""
  const percent = `${String(Math.floor(fraction * 100)).padStart(3)}%`
  const amount = sizeOf(Math.min(bytes, total), total)
  const line = `${label}  ${amount} ${bar} ${percent}  ${rate}  ${left}`.trimEnd()
  // on a narrow terminal the bar goes first: the numbers say the same
  return width === undefined || line.length <= width ? line : `${label}  ${amount} ${percent}  ${rate}  ${left}`.trimEnd()
}

/** Bytes in the decimal units a file manager shows. */
const size = (n: number): string =>
  n < 999.5 ? `${Math.round(n)} B` : n < 1e6 ? `${(n / 1e3).toFixed(1)} kB` : n < 1e9 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e9).toFixed(2)} GB`

/** `done / total` in the total's unit, said once: `12.5 / 40.0 MB`. */
const sizeOf = (done: number, total: number): string => {
  const [unit, scale, digits] = total < 999.5 ? ["B", 1, 0] : total < 1e6 ? ["kB", 1e3, 1] : total < 1e9 ? ["MB", 1e6, 1] : ["GB", 1e9, 2]
  return `${(done / scale).toFixed(digits)} / ${(total / scale).toFixed(digits)} ${unit}`
}

/** `1234567` as `1,234,567`. */
const group = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",")

/** Seconds as `8 s`, `3 min 20 s`, `2 h 05 min`. */
const duration = (s: number): string => {
  const t = Math.ceil(s)
  if (t < 60) return `${t} s`
  if (t < 3600) return `${Math.floor(t / 60)} min ${String(t % 60).padStart(2, "0")} s`
  return `${Math.floor(t / 3600)} h ${String(Math.floor((t % 3600) / 60)).padStart(2, "0")} min`
}

/**
 * How many entries a chunk of JSON Lines ends: its newlines (a pack's `_meta` line counts as one;
 * the count is for a rate, the verdict gives the exact number). `indexOf` is a byte search in
 * native code: a 1 MiB chunk of ordinary entries costs tens of microseconds.
 *
 * @since 0.1.0
 * @category progress
 */
export const linesIn = (chunk: Uint8Array): number => {
  const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  let n = 0
  for (let at = b.indexOf(10); at >= 0; at = b.indexOf(10, at + 1)) n++
  return n
}

/** Every how many chunks `lineEstimator` counts one exactly. */
const SAMPLE_EVERY = 8

/**
 * An estimate of the lines each chunk ends, for the rate a progress line shows: the first chunks
 * and one in `SAMPLE_EVERY` after them are counted exactly (`linesIn`), the others take the lines
 * per byte of those counted. Counting every chunk cost about 4 % of a verification's time at the
 * bench's speed (12 ms per 100 MB against about 290 ms); this costs an eighth of that, and the
 * verdict still gives the exact count.
 *
 * @since 0.1.0
 * @category progress
 */
export const lineEstimator = (): ((chunk: Uint8Array) => number) => {
  let chunks = 0
  let countedBytes = 0
  let countedLines = 0
  return (chunk) => {
    const k = chunks++
    if (k < SAMPLE_EVERY || k % SAMPLE_EVERY === 0 || countedBytes === 0) {
      const n = linesIn(chunk)
      countedBytes += chunk.length
      countedLines += n
      return n
    }
    return (chunk.length * countedLines) / countedBytes
  }
}
