/**
 * The phone number detector.
 *
 * Linear time (the rules are in `matching.ts`): bounded, 8–14 digits each with an optional
 * separator and brackets, 58 characters at most from a start.
 */
import type { Detector } from "../Detect.js"
import { digitsOf } from "./matching.js"

/**
 * Phone numbers: E.164 and North American forms.
 */
export const phone: Detector = {
    category: "phone",
    group: "pii",
    severity: "warning",
    hint: /\+[1-9]\d|[2-9]\d{2}\)?[ .-]\(?[2-9]?\d{2}[ .-]\d{4}/,
    pattern: /(?<![\w+.-])(?:\+[1-9](?:[ .-]?\(?\d\)?){8,14}|(?:\+?1[ .-]?)?(?:\([2-9]\d{2}\)[ .-]?|[2-9]\d{2}[ .-])[2-9]\d{2}[ .-]\d{4})(?![\w.-]|\.\d)/g,
    validate: (m) => {
      const n = digitsOf(m).length
      return n >= 9 && n <= 15
    }
  }
