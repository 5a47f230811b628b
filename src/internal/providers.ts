/**
 * The provider HTTP APIs the fetch wrapper recognizes: which requests are model calls, where a
 * request keeps its messages, and where a response (JSON or server-sent events) reports the model,
 * the token usage and why generation stopped. Only those fields are read; text is never kept.
 *
 * Usage fields, per the providers' API references:
 * - OpenAI Chat Completions: `prompt_tokens` (cached included), `completion_tokens` (reasoning
 *   included), `prompt_tokens_details.cached_tokens`, `completion_tokens_details.reasoning_tokens`.
 *   A stream reports usage only when the request asked for it (`stream_options.include_usage`);
 *   the wrapper never adds that flag (an extra chunk with no choices would surprise app code), so
 *   such a stream is recorded with `usage: null`.
 * - OpenAI Responses: `input_tokens`, `output_tokens`, `input_tokens_details.cached_tokens`,
 *   `output_tokens_details.reasoning_tokens`; in a stream, on `response.completed`/`incomplete`.
 * - Anthropic Messages: `input_tokens` (cache reads and writes excluded), `output_tokens`,
 *   `cache_read_input_tokens`, `cache_creation_input_tokens`. In a stream, `message_start` has the
 *   input counts and `message_delta.usage` is cumulative (`output_tokens` replaces; the others only
 *   when present).
 */
import type * as Pricing from "../Pricing.js"

/** What a response reported so far. */
export interface Tally {
  model: string | null
  usage: Pricing.Usage | null
  finishReason: string | null
  /** the final event was seen (or the JSON body read) */
  done: boolean
  /** an error the provider reported inside a successful response */
  failed: string | null
}

export interface Messages {
  readonly system: unknown
  readonly messages: unknown
}

/** Server-sent events of one response, fed as bytes arrive. */
export interface EventFeed {
  readonly push: (chunk: Uint8Array) => void
  readonly end: () => void
}

export interface ProviderCall {
  readonly provider: string
  readonly api: "chat_completions" | "responses" | "messages"
  readonly messagesOf: (body: Record<string, unknown> | null) => Messages
  readonly withMessages: (body: Record<string, unknown>, m: Messages) => Record<string, unknown>
  readonly fromJson: (body: unknown, tally: Tally) => void
  readonly events: (tally: Tally) => EventFeed
}

/**
 * What reads a response body into a tally, however the app reads it: chunk by chunk (`push`, then
 * `end`), as one text, or already parsed (`response.json()`). `settle` finishes the reading; the
 * tally is complete after it.
 */
export interface BodyReader {
  readonly push: (chunk: Uint8Array) => void
  readonly end: () => void
  readonly text: (text: string) => void
  readonly parsed: (value: unknown) => void
  readonly settle: () => void
}

/**
 * A JSON body: kept as the app reads it and parsed only when settled (by the capture consumer,
 * off the caller's path).
 */
export const jsonReader = (call: ProviderCall, tally: Tally): BodyReader => {
  const chunks: Array<Uint8Array> = []
  let whole: string | null = null
  let value: unknown
  let settled = false
  return {
    push: (chunk) => void chunks.push(chunk),
    end: () => {},
    text: (t) => {
      whole = t
    },
    parsed: (v) => {
      value = v
    },
    settle: () => {
      if (settled) return
      settled = true
      if (value === undefined) {
        const t = whole ?? (chunks.length > 0 ? Buffer.concat(chunks).toString("utf8") : null)
        if (t === null) return
        try {
          value = JSON.parse(t)
        } catch {
          tally.failed = "the response was not JSON"
          return
        }
      }
      try {
        call.fromJson(value, tally)
      } catch {
        tally.failed = "the response was not a JSON object"
      }
    }
  }
}

/** A body of server-sent events: read as it arrives (a cancel is judged by the events seen). */
export const eventReader = (call: ProviderCall, tally: Tally): BodyReader => {
  const feed = call.events(tally)
  return {
    push: feed.push,
    end: feed.end,
    text: (t) => {
      feed.push(Buffer.from(t, "utf8"))
      feed.end()
    },
    parsed: () => {
      tally.failed = "the event stream was read as JSON"
    },
    settle: () => {}
  }
}

/** A short description of a thrown value, never more than one line of 200 characters. */
export const describeError = (e: unknown): string => {
  let text: string
  if (e instanceof Error) text = e.message && e.name !== "Error" ? `${e.name}: ${e.message}` : e.message || e.name
  else if (e !== null && typeof e === "object" && "_tag" in e) {
    const m = (e as { message?: unknown }).message
    text = typeof m === "string" && m.length > 0 ? m : String((e as { _tag: unknown })._tag)
  } else text = String(e)
  const line = text.split("\n")[0] ?? ""
  return line.length > 200 ? line.slice(0, 199) + "…" : line
}

type Json = Record<string, unknown>

const obj = (v: unknown): Json | null => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Json) : null)
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null)
const str = (v: unknown): string | null => (typeof v === "string" ? v : null)

// members in canonical order, as every payload the log builds itself: its canonical text is then
// JSON.stringify's (Canonical.encode's fast path)
const usageOf = (input: unknown, output: unknown, cached: unknown, reasoning: unknown, write: unknown): Pricing.Usage => ({
  cache_write: num(write) ?? 0,
  cached_tokens: num(cached) ?? 0,
  input_tokens: num(input) ?? 0,
  output_tokens: num(output) ?? 0,
  reasoning_tokens: num(reasoning) ?? 0
})

/** Splits bytes into server-sent events (`event:` and `data:` fields; a blank line ends one). */
const sse = (onEvent: (event: string | null, data: string) => void): EventFeed => {
  const decoder = new TextDecoder()
  let pending = ""
  const dispatch = (block: string) => {
    let event: string | null = null
    const data: Array<string> = []
    for (const raw of block.split(/\r\n|\r|\n/)) {
      if (raw.startsWith("data:")) data.push(raw.slice(raw.startsWith("data: ") ? 6 : 5))
      else if (raw.startsWith("event:")) event = raw.slice(6).trim()
    }
    if (data.length > 0 || event !== null) onEvent(event, data.join("\n"))
  }
  const drain = () => {
    for (;;) {
      const m = /\r\n\r\n|\n\n|\r\r/.exec(pending)
      if (m === null) return
      const block = pending.slice(0, m.index)
      pending = pending.slice(m.index + m[0].length)
      dispatch(block)
    }
  }
  return {
    push: (chunk) => {
      pending += decoder.decode(chunk, { stream: true })
      drain()
    },
    end: () => {
      pending += decoder.decode()
      drain()
      if (pending.trim().length > 0) dispatch(pending)
      pending = ""
    }
  }
}

/** The JSON of an event's data, or null (a keep-alive, `[DONE]`, or malformed data). */
const parse = (data: string): Json | null => {
  try {
    return obj(JSON.parse(data))
  } catch {
    return null
  }
}

const errorOf = (v: unknown): string | null => {
  const e = obj(v)
  if (e === null) return null
  return str(e["type"]) ?? str(e["code"]) ?? "error"
}

/**
 * Where an API's requests keep their messages: a field for the messages and, for the APIs that
 * have one, a field for the system prompt (Chat Completions keeps it among the messages).
 */
const messageFields = (messagesKey: string, systemKey: string | null): Pick<ProviderCall, "messagesOf" | "withMessages"> => ({
  messagesOf: (body) => ({ system: systemKey === null ? null : (body?.[systemKey] ?? null), messages: body?.[messagesKey] ?? null }),
  withMessages: (body, m) => {
    const out: Json = { ...body, [messagesKey]: m.messages }
    if (systemKey !== null) {
      if (m.system !== null && m.system !== undefined) out[systemKey] = m.system
      else delete out[systemKey]
    }
    return out
  }
})

const chatUsage = (u: Json): Pricing.Usage =>
  usageOf(u["prompt_tokens"], u["completion_tokens"], obj(u["prompt_tokens_details"])?.["cached_tokens"], obj(u["completion_tokens_details"])?.["reasoning_tokens"], 0)

const messagesUsage = (u: Json): Pricing.Usage =>
  usageOf(u["input_tokens"], u["output_tokens"], u["cache_read_input_tokens"], 0, u["cache_creation_input_tokens"])

const chatCompletions: ProviderCall = {
  provider: "openai",
  api: "chat_completions",
  ...messageFields("messages", null),
  fromJson: (body, t) => {
    const b = obj(body)
    if (b === null) throw new Error("not an object")
    t.model = str(b["model"])
    const choice = obj(Array.isArray(b["choices"]) ? b["choices"][0] : null)
    t.finishReason = str(choice?.["finish_reason"])
    const u = obj(b["usage"])
    if (u !== null) {
      t.usage = chatUsage(u)
    }
    t.done = true
  },
  events: (t) =>
    sse((_event, data) => {
      if (data.trim() === "[DONE]") {
        t.done = true
        return
      }
      const chunk = parse(data)
      if (chunk === null) return
      if (chunk["error"] !== undefined) t.failed = errorOf(chunk["error"])
      t.model = str(chunk["model"]) ?? t.model
      const choice = obj(Array.isArray(chunk["choices"]) ? chunk["choices"][0] : null)
      const reason = str(choice?.["finish_reason"])
      if (reason !== null) t.finishReason = reason
      const u = obj(chunk["usage"])
      if (u !== null) {
        t.usage = chatUsage(u)
      }
    })
}

const responseUsage = (u: Json): Pricing.Usage =>
  usageOf(u["input_tokens"], u["output_tokens"], obj(u["input_tokens_details"])?.["cached_tokens"], obj(u["output_tokens_details"])?.["reasoning_tokens"], 0)

const readResponse = (r: Json, t: Tally) => {
  t.model = str(r["model"]) ?? t.model
  const u = obj(r["usage"])
  if (u !== null) t.usage = responseUsage(u)
  const status = str(r["status"])
  t.finishReason = str(obj(r["incomplete_details"])?.["reason"]) ?? status ?? t.finishReason
  if (status === "failed") t.failed = errorOf(r["error"]) ?? "failed"
}

const responses: ProviderCall = {
  provider: "openai",
  api: "responses",
  ...messageFields("input", "instructions"),
  fromJson: (body, t) => {
    const b = obj(body)
    if (b === null) throw new Error("not an object")
    readResponse(b, t)
    t.done = true
  },
  events: (t) =>
    sse((event, data) => {
      const e = parse(data)
      if (e === null) return
      const type = str(e["type"]) ?? event
      const r = obj(e["response"])
      if (r !== null) readResponse(r, t)
      if (type === "response.completed" || type === "response.incomplete" || type === "response.failed") t.done = true
      if (type === "error") t.failed = str(e["code"]) ?? errorOf(e["error"]) ?? "error"
    })
}

const messages: ProviderCall = {
  provider: "anthropic",
  api: "messages",
  ...messageFields("messages", "system"),
  fromJson: (body, t) => {
    const b = obj(body)
    if (b === null) throw new Error("not an object")
    if (b["type"] === "error") t.failed = errorOf(b["error"])
    t.model = str(b["model"])
    t.finishReason = str(b["stop_reason"])
    const u = obj(b["usage"])
    if (u !== null) t.usage = messagesUsage(u)
    t.done = true
  },
  events: (t) =>
    sse((event, data) => {
      const e = parse(data)
      if (e === null) return
      const type = str(e["type"]) ?? event
      if (type === "message_start") {
        const m = obj(e["message"])
        t.model = str(m?.["model"]) ?? t.model
        const u = obj(m?.["usage"])
        if (u !== null) t.usage = messagesUsage(u)
      } else if (type === "message_delta") {
        const reason = str(obj(e["delta"])?.["stop_reason"])
        if (reason !== null) t.finishReason = reason
        const u = obj(e["usage"])
        if (u !== null) {
          const prev = t.usage ?? usageOf(0, 0, 0, 0, 0)
          t.usage = usageOf(
            num(u["input_tokens"]) ?? prev.input_tokens,
            num(u["output_tokens"]) ?? prev.output_tokens,
            num(u["cache_read_input_tokens"]) ?? prev.cached_tokens,
            prev.reasoning_tokens,
            num(u["cache_creation_input_tokens"]) ?? prev.cache_write
          )
        }
      } else if (type === "message_stop") t.done = true
      else if (type === "error") t.failed = errorOf(e["error"])
    })
}

/**
 * The model API a request calls, or null for any other request (passed through unrecorded).
 * Recognized by path, so OpenAI-compatible gateways and proxies are covered too; an Anthropic
 * Messages call is told by its `anthropic-version` header or host.
 */
export const providerCall = (url: string, method: string, anthropicVersion: () => boolean): ProviderCall | null => {
  if (method !== "POST") return null
  const cut = url.search(/[?#]/)
  let path = cut < 0 ? url : url.slice(0, cut)
  while (path.endsWith("/")) path = path.slice(0, -1)
  if (path.endsWith("/chat/completions")) return chatCompletions
  if (path.endsWith("/responses")) return responses
  if (path.endsWith("/messages") && (/anthropic/i.test(path) || anthropicVersion())) return messages
  return null
}
