import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import * as Detect from "../src/Detect.js"

// A captured call's `started_at` is a timestamp; the card detector's pre-filter passes over
// timestamps (they cost a pattern run per captured entry) but never over a card beside one.
const luhnComplete = (body: string): string => {
  for (let d = 0; d <= 9; d++) if (Detect.luhn(body + d)) return body + d
  throw new Error("unreachable")
}

describe("Detect: credit cards beside timestamps", () => {
  it("a timestamp alone is no finding", () => {
    for (const ts of ["2026-12-04T10:00:00.123456+00:00", "2026-12-04 10:00", "2031-01-31T23:59:59Z"]) {
      expect(Detect.scan({ started_at: ts, ts }).map((f) => f.category)).toEqual([])
    }
  })

  it.prop(
    "a card in the same string as a timestamp, before or after it, is found",
    [
      fc.date({ min: new Date("2000-01-01"), max: new Date("2099-12-31"), noInvalidDate: true }),
      fc.constantFrom("4", "51", "22", "6011"),
      fc.stringMatching(/^[0-9]{14}$/),
      fc.constantFrom(" ", "-", ""),
      fc.boolean()
    ],
    ([date, prefix, rest, sep, before]) => {
      const card = luhnComplete((prefix + rest).slice(0, 15))
      const shown = sep === "" ? card : card.match(/.{1,4}/g)!.join(sep)
      const ts = date.toISOString()
      const text = before ? `paid ${shown} at ${ts}` : `at ${ts} paid ${shown}`
      expect(Detect.scan(text).map((f) => f.category)).toContain("credit_card")
    },
    { fastCheck: { seed: 20261204 } }
  )
})
