/**
 * Helpers of the HTML report tests (test/report-browser*.test.ts): real headless Chromium (Debian's
 * `chromium`, driven by `playwright-core`), pages opened from `file:` with every request counted,
 * the paths of `inspect --json` the page's `[data-metric]` elements name, and a screenshot's pixel
 * variance.
 */
import { existsSync } from "node:fs"
import { pathToFileURL } from "node:url"
import { inflateSync } from "node:zlib"
import type { Browser, Page } from "playwright-core"

/** The little of the DOM these helpers read inside the page (the project compiles without lib "dom"). */
export interface DomElement {
  getAttribute(name: string): string | null
  readonly textContent: string | null
}
/** @internal */
export interface DomDocument {
  getElementById(id: string): DomElement | null
  querySelectorAll(selector: string): ArrayLike<DomElement>
}
// functions passed to page.evaluate run in the page, where `document` exists
declare const document: DomDocument

export const CHROMIUM = process.env["ACTTRACE_CHROMIUM"] ?? "/usr/bin/chromium"

/**
 * Whether the browser tests can run. A user's machine without Chromium skips them with the reason
 * printed; CI installs it (.ci/run), so there a missing browser fails.
 */
export const hasChromium = (): boolean => {
  if (existsSync(CHROMIUM)) return true
  if (process.env["CI"] === "true") throw new Error(`CI=true but ${CHROMIUM} is missing (.ci/run installs Debian's chromium)`)
  console.warn(`SKIPPED: ${CHROMIUM} not found; the HTML report's browser tests need Chromium (apt-get install chromium, or ACTTRACE_CHROMIUM=/path/to/chrome)`)
  return false
}

export const launch = async (): Promise<Browser> => {
  const { chromium } = await import("playwright-core")
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] })
}

export interface Opened {
  readonly page: Page
  /** every request the page made, but the report's own `file:` URL and the verifier's worker */
  readonly requests: Array<string>
  /**
   * `blob:` requests: the page starts the verifier in a worker made from its own script, a `blob:`
   * URL in the page's memory (nothing to do with a network); each run of the check makes one.
   */
  readonly blobs: Array<string>
  /** uncaught errors and console errors of the page */
  readonly errors: Array<string>
  /** `Date.now()` when the navigation started */
  readonly started: number
  readonly close: () => Promise<void>
}

/** Open `file` in a fresh context, counting every request it makes (its own URL apart). */
export const open = async (
  browser: Browser,
  file: string,
  options: {
    readonly waitUntil?: "load" | "commit"
    readonly viewport?: { width: number; height: number }
    /** run in the page before its own scripts (e.g. to take an API away) */
    readonly initScript?: string
    /** run with the page made, before it navigates (e.g. to start a trace) */
    readonly beforeGoto?: (page: Page) => Promise<void>
  } = {}
): Promise<Opened> => {
  const viewport = options.viewport ?? { width: 1200, height: 900 }
  const context = await browser.newContext({ viewport })
  const page = await context.newPage()
  if (options.initScript !== undefined) await page.addInitScript(options.initScript)
  const url = pathToFileURL(file).href
  const requests: Array<string> = []
  const blobs: Array<string> = []
  const errors: Array<string> = []
  // requests of every kind (documents, subresources, workers, fetches, navigations away)
  context.on("request", (r) => {
    if (r.url() === url) return
    if (r.url().startsWith("blob:null/") || r.url().startsWith("blob:file:")) blobs.push(`${r.resourceType()} ${r.url()}`)
    else requests.push(`${r.resourceType()} ${r.url()}`)
  })
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`))
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`)
  })
  if (options.beforeGoto !== undefined) await options.beforeGoto(page)
  const started = Date.now()
  await page.goto(url, { waitUntil: options.waitUntil ?? "load", timeout: 60_000 })
  return { page, requests, blobs, errors, started, close: () => context.close() }
}

/** The browser's verdict once it is no longer `pending` (or the timeout). */
export const browserVerdict = async (page: Page, timeout = 60_000): Promise<{ verdict: string; text: string }> => {
  await page.waitForFunction(() => {
    const v = document.getElementById("browser-verdict")?.getAttribute("data-verdict")
    return v !== undefined && v !== null && v !== "pending"
  }, undefined, { timeout, polling: 50 })
  return page.evaluate(() => {
    const el = document.getElementById("browser-verdict")!
    return { verdict: el.getAttribute("data-verdict") ?? "", text: el.textContent ?? "" }
  })
}

/** Every `[data-metric]` of the page: its path and raw value. */
export const metrics = (page: Page): Promise<Array<{ path: string; value: string }>> =>
  page.evaluate(() =>
    Array.from(document.querySelectorAll("[data-metric]")).map((e) => ({
      path: e.getAttribute("data-metric") ?? "",
      value: e.getAttribute("data-value") ?? ""
    }))
  )

const KEYS = ["name", "model", "id", "start", "currency", "decision_id"] as const

/**
 * The value at a `data-metric` path in a summary (`inspect --json`): dot-separated fields, where
 * an array's element is named by its `name`, `model` (`provider/model` when two providers serve
 * one model name), `id`, `start`, `currency` or `decision_id`
 * (names may hold dots and spaces: the longest name that leaves a valid rest wins); a
 * `ReportCount` element stands for its `count`. `undefined` when the path names nothing.
 */
export const at = (value: unknown, path: string): unknown => {
  if (path === "") return value
  if (Array.isArray(value)) {
    // try the longest element name first: "gpt-4.1-mini.calls" is the model "gpt-4.1-mini"
    const cuts: Array<number> = []
    for (let i = path.length; i > 0; i--) if (i === path.length || path[i] === ".") cuts.push(i)
    for (const cut of cuts) {
      const name = path.slice(0, cut)
      const rest = cut === path.length ? "" : path.slice(cut + 1)
      const named = (e: Record<string, unknown>) =>
        KEYS.some((k) => e[k] === name) || (typeof e["model"] === "string" && `${typeof e["provider"] === "string" ? e["provider"] : ""}/${e["model"]}` === name)
      const found = value.find((e) => e !== null && typeof e === "object" && named(e as Record<string, unknown>))
      if (found === undefined) continue
      if (rest === "" && typeof (found as Record<string, unknown>)["count"] === "number") return (found as Record<string, unknown>)["count"]
      const got = at(found, rest)
      if (got !== undefined) return got
    }
    return undefined
  }
  if (value === null || typeof value !== "object") return undefined
  const dot = path.indexOf(".")
  const head = dot < 0 ? path : path.slice(0, dot)
  const rest = dot < 0 ? "" : path.slice(dot + 1)
  if (!Object.hasOwn(value, head)) return undefined
  return at((value as Record<string, unknown>)[head], rest)
}

/**
 * The pixel variance of a PNG screenshot (grey levels, 0 for a blank page): decoded here (8-bit
 * RGB or RGBA, non-interlaced, as Chromium writes them), so the check needs no image library.
 */
export const pngVariance = (png: Buffer): { variance: number; distinct: number; width: number; height: number } => {
  if (png.readUInt32BE(0) !== 0x89504e47) throw new Error("not a PNG")
  let pos = 8
  let width = 0
  let height = 0
  let colorType = 0
  const idat: Array<Buffer> = []
  while (pos < png.length) {
    const len = png.readUInt32BE(pos)
    const type = png.toString("latin1", pos + 4, pos + 8)
    const data = png.subarray(pos + 8, pos + 8 + len)
    if (type === "IHDR") {
      width = data.readUInt32BE(0)
      height = data.readUInt32BE(4)
      if (data[8] !== 8 || data[12] !== 0) throw new Error("only 8-bit non-interlaced PNGs")
      colorType = data[9]!
    } else if (type === "IDAT") idat.push(data)
    else if (type === "IEND") break
    pos += 12 + len
  }
  const channels = colorType === 6 ? 4 : colorType === 2 ? 3 : colorType === 0 ? 1 : 0
  if (channels === 0) throw new Error(`PNG colour type ${colorType} not handled`)
  const raw = inflateSync(Buffer.concat(idat))
  const stride = width * channels
  const out = Buffer.alloc(height * stride)
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1))
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? out[y * stride + x - channels]! : 0
      const b = y > 0 ? out[(y - 1) * stride + x]! : 0
      const c = x >= channels && y > 0 ? out[(y - 1) * stride + x - channels]! : 0
      let v = line[x]!
      if (filter === 1) v += a
      else if (filter === 2) v += b
      else if (filter === 3) v += (a + b) >> 1
      else if (filter === 4) {
        const p = a + b - c
        const pa = Math.abs(p - a)
        const pb = Math.abs(p - b)
        const pc = Math.abs(p - c)
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c
      }
      out[y * stride + x] = v & 0xff
    }
  }
  let sum = 0
  let sq = 0
  const seen = new Set<number>()
  const n = width * height
  for (let i = 0; i < n; i++) {
    const o = i * channels
    const grey = channels >= 3 ? (out[o]! * 299 + out[o + 1]! * 587 + out[o + 2]! * 114) / 1000 : out[o]!
    sum += grey
    sq += grey * grey
    if (seen.size < 4096) seen.add(channels >= 3 ? (out[o]! << 16) | (out[o + 1]! << 8) | out[o + 2]! : out[o]!)
  }
  const mean = sum / n
  return { variance: sq / n - mean * mean, distinct: seen.size, width, height }
}

/**
 * The longest task of the page's main thread (`CrRendererMain`) in a Chromium trace of the
 * `toplevel` and `disabled-by-default-devtools.timeline` categories (the second is what records
 * the thread clock): its processor time (the thread's own clock, which a busy machine does not
 * stretch) and its wall time, in milliseconds. With `after`, only the tasks that start after the
 * page's `console.timeStamp(after)` (a `TimeStamp` event: the `devtools.timeline` category).
 */
export const longestMainThreadTask = (trace: Buffer, after?: string): { thread: number; wall: number } => {
  const events = (JSON.parse(trace.toString("utf8")) as {
    traceEvents: Array<{ name: string; ph: string; pid: number; tid: number; ts: number; dur?: number; tdur?: number; args?: { name?: string; data?: { message?: string } } }>
  }).traceEvents
  const mains = new Set(events.filter((e) => e.ph === "M" && e.name === "thread_name" && e.args?.name === "CrRendererMain").map((e) => `${e.pid}:${e.tid}`))
  let from = -Infinity
  if (after !== undefined) {
    const mark = events.find((e) => e.name === "TimeStamp" && e.args?.data?.message === after)
    // no mark: the trace is not what this reads, which must fail, never pass
    if (mark === undefined) throw new Error(`no console.timeStamp(${JSON.stringify(after)}) in the trace (${events.length} events)`)
    from = mark.ts
  }
  let thread = -1
  let wall = -1
  for (const e of events) {
    if (e.ph !== "X" || e.name !== "RunTask" || !mains.has(`${e.pid}:${e.tid}`) || e.tdur === undefined || e.ts < from) continue
    if (e.tdur > thread) {
      thread = e.tdur
      wall = e.dur ?? -1
    }
  }
  // no task with a thread time: the trace is not what this reads, which must fail, never pass
  if (thread < 0) throw new Error(`no main-thread task with a processor time in the trace (${mains.size} main threads, ${events.length} events)`)
  return { thread: Math.round(thread / 1000), wall: Math.round(wall / 1000) }
}
