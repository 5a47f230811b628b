/**
 * The verification a self-verifying report runs in the reader's browser (issue 16, item 2).
 *
 * `VERIFIER_SOURCE` is plain JavaScript (ES2020, no imports, no network access) that the report
 * page inlines as it is, so a reviewer can read exactly what the page runs before trusting its
 * verdict. It defines `globalThis.acttraceVerify(text, options)`, which re-verifies the embedded
 * pack with WebCrypto alone (`crypto.subtle`: SHA-256, HMAC-SHA256, Ed25519) and resolves to a
 * `BrowserVerdict` equal, field for field, to what `acttrace verify --json` reports for the same
 * bytes and keys (`test/report-verifier.test.ts` holds the two together on every vector, every
 * conformance case, the demo pack and its tampered copies, and random byte changes).
 *
 * It is written from docs/format.md alone, not from the library's code: a second implementation
 * of the format, in the reader's own browser, is what lets the reader not trust the machine that
 * made the report. Node's `globalThis.crypto.subtle` is the same API, so the tests run it in node.
 *
 * What a page cannot have is left out: files and databases, threads, `--since` (a published
 * checkpoint), `--expected-head` / `--expect-entries`, `--require-complete`,
 * `--require-signatures`, `--every-signature` and `--max-line-bytes`.
 *
 * @since 0.1.0
 */

/**
 * What the in-page verification concludes. `ok`, `result`, `line`, `seq`, `entries`, `head`,
 * `signatures`, `completeness` and (with public keys) `checkpoints`, `checkpoint_count` and
 * `unsealed_tail` mean what they mean in `verify --json` (docs/format.md section 11); on a
 * failure `entries` and `head` describe the last entry that verified, `completeness` is `"none"`,
 * and `checkpoints` is `"failed"` when the failure is a checkpoint's.
 *
 * @since 0.1.0
 * @category models
 */
export interface BrowserVerdict {
  readonly ok: boolean
  /** "Ok", or the failure's tag ("EditDetected", "TruncationDetected", …). */
  readonly result: string
  /** One line for a person: "ok: 19 entries, head …", or the tag, where, and why. */
  readonly message: string
  /** The 1-based physical line of a failure (0 when it is not in a line: an empty pack, a bad key). */
  readonly line?: number | undefined
  /** The failing entry's `seq`, when the line got far enough to have one. */
  readonly seq?: number | undefined
  readonly entries: number
  /** The hash of the last entry that verified (GENESIS, 64 zeros, when none did). */
  readonly head: string | null
  /** As `verify --json`: checked with the key, signed but not checked, or no entry signed. */
  readonly signatures: "verified" | "not-checked" | "absent"
  /** As `verify --json`: "signed-header", "signed-checkpoint", "unsigned-header" or "none". */
  readonly completeness: string
  readonly checkpoints: "verified" | "absent" | "not-checked" | "failed"
  readonly checkpoint_count: number
  /** Entries no verified checkpoint covers (every entry when none was verified). */
  readonly unsealed_tail: number
  /** `CheckpointUntrusted`: the keys that signed the checkpoint, as `name+keyid` (none of them trusted, or not the log's). */
  readonly signers?: ReadonlyArray<string> | undefined
}

/**
 * The options `acttraceVerify` takes.
 *
 * @since 0.1.0
 * @category models
 */
export interface BrowserVerifyOptions {
  /** The HMAC passphrase, as typed (an empty one is no key). */
  readonly key?: string | undefined
  /** Trusted Ed25519 verifier keys, C2SP key texts `name+hash+base64`. */
  readonly pubkeys?: ReadonlyArray<string> | undefined
  /** Called after each chunk of lines: entries verified so far, and bytes read. */
  readonly onProgress?: ((entries: number, bytes: number) => void) | undefined
}

/**
 * The signature of `globalThis.acttraceVerify` once `VERIFIER_SOURCE` has run. The pack is its
 * text, or its bytes (a pack that is not UTF-8 can only be given as bytes).
 *
 * @since 0.1.0
 * @category models
 */
export type BrowserVerify = (text: string | Uint8Array, options?: BrowserVerifyOptions) => Promise<BrowserVerdict>

/**
 * The verifier's source, to inline in a `<script>` element. (The page must escape `</script`
 * in nothing here: the source holds no such text; a test says so.)
 *
 * @since 0.1.0
 * @category constants
 */
export const VERIFIER_SOURCE: string = String.raw`/*
 * acttrace in-page verifier.
 *
 * This script re-verifies the evidence pack embedded in this page, with nothing but the browser's
 * own WebCrypto (crypto.subtle) and standard JavaScript: no imports, no network. It follows the
 * wire format of docs/format.md (acttrace-chain/1 and the project's extensions) and gives the
 * same verdict the command line's 'acttrace verify --json' gives for the same bytes and key:
 * the result tag, line, seq, entries, head, signatures and completeness.
 *
 * What it checks, in order, stopping at the first failure (format.md section 11):
 *   - each line: UTF-8, strict JSON (no duplicate key at any depth, no lone surrogate, no
 *     non-finite number), one object with the members an entry needs (section 1);
 *   - each entry's hash: SHA-256 of prev_hash followed by the canonical JSON of
 *     {payload, seq, ts, type} (sections 2 and 3; numbers are hashed by their lexeme);
 *   - the chain: prev_hash links and seq order, told apart as edit, reorder or deletion;
 *   - with the HMAC key: every entry's sig, the header's sig, the seal's key id and sig (4 to 6);
 *   - the _meta header's claims (entries, head: a cut tail), the seal's digest of the header and
 *     of every row's controls, and how completeness was established;
 *   - with Ed25519 verifier keys: every checkpoint entry against the Merkle tree of the entries
 *     before it, key rotations, and the pack's _meta.checkpoint (sections 8 and 9).
 *
 * What it leaves out, because a page cannot have it: reading files or databases, threads,
 * a published checkpoint (verify --since), a head or count known out of band (--expected-head,
 * --expect-entries), --require-complete and --require-signatures (the page states completeness
 * and signatures as found), --every-signature (an in-chain checkpoint's signature is settled as
 * verify settles it by default), --max-line-bytes (a line may hold up to the default 64 MiB).
 *
 * It defines globalThis.acttraceVerify(text, options) -> Promise<verdict>, where text is the pack
 * (a string, or its bytes as a Uint8Array) and options are { key, pubkeys, onProgress }.
 */
(function () {
  "use strict";

  var GENESIS = "0000000000000000000000000000000000000000000000000000000000000000";
  var subtle = globalThis.crypto && globalThis.crypto.subtle;
  var utf8Encoder = new TextEncoder();
  var utf8Strict = new TextDecoder("utf-8", { fatal: true });
  var utf8Lax = new TextDecoder("utf-8");

  /* Characters (or bytes) of the pack taken at a time, cut after a newline: encoding the whole text at once would hold the page. */
  var SEGMENT = 1 << 18;
  /* The longest line accepted, in bytes (verify's default): a longer one is no entry. */
  var MAX_LINE_BYTES = 64 * 1024 * 1024;
  /* Lines hashed together before the event loop gets a turn (and onProgress is called). */
  var CHUNK_LINES = 512;

  /* ------------------------------------------------------------------------------------------
   * Small helpers
   * ---------------------------------------------------------------------------------------- */

  var HEX = "0123456789abcdef";
  var HEX_OF = [];
  for (var h = 0; h < 256; h++) HEX_OF.push(HEX[h >> 4] + HEX[h & 15]);

  var HEX_CODES = new Uint16Array(128);
  function toHex(buffer) {
    var b = new Uint8Array(buffer);
    var codes = b.length <= 64 ? HEX_CODES : new Uint16Array(b.length * 2);
    for (var i = 0; i < b.length; i++) {
      codes[2 * i] = HEX.charCodeAt(b[i] >> 4);
      codes[2 * i + 1] = HEX.charCodeAt(b[i] & 15);
    }
    return String.fromCharCode.apply(null, codes.subarray(0, 2 * b.length));
  }

  function sha256(bytes) {
    return subtle.digest("SHA-256", bytes);
  }

  async function sha256Hex(bytes) {
    return toHex(await sha256(bytes));
  }

  /* Equality that does not stop at the first difference (signatures). */
  function equalConstantTime(a, b) {
    if (typeof a !== "string" || typeof b !== "string" || a.length !== b.length) return false;
    var d = 0;
    for (var i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
    return d === 0;
  }

  function concatBytes(parts, total) {
    var out = new Uint8Array(total);
    var at = 0;
    for (var i = 0; i < parts.length; i++) {
      out.set(parts[i], at);
      at += parts[i].length;
    }
    return out;
  }

  /*
   * The text's UTF-8 bytes. A JavaScript string can hold a lone surrogate, which has no UTF-8
   * form; such a character becomes the byte 0xFF, which is never UTF-8, so its line is reported
   * as not UTF-8 (as the same line read from a file would be).
   */
  function bytesOf(text) {
    var wellFormed = typeof text.isWellFormed === "function" ? text.isWellFormed() : !/[\ud800-\udfff]/.test(text);
    if (wellFormed) return utf8Encoder.encode(text);
    var parts = [];
    var total = 0;
    var from = 0;
    for (var i = 0; i < text.length; i++) {
      var c = text.charCodeAt(i);
      if (c < 0xd800 || c > 0xdfff) continue;
      if (c <= 0xdbff && i + 1 < text.length) {
        var d = text.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          i++;
          continue;
        }
      }
      var piece = utf8Encoder.encode(text.slice(from, i));
      parts.push(piece, new Uint8Array([0xff]));
      total += piece.length + 1;
      from = i + 1;
    }
    var rest = utf8Encoder.encode(text.slice(from));
    parts.push(rest);
    total += rest.length;
    return concatBytes(parts, total);
  }

  /*
   * The pack in pieces that end right after a newline (a line is never cut), each as UTF-8
   * bytes, with whether the piece is valid UTF-8 throughout (then no line of it is checked again).
   */
  function Segments(input) {
    this.input = input;
    this.at = 0;
    this.bytesBefore = 0; /* bytes of the pieces before the current one */
    this.current = 0;
  }
  Segments.prototype.next = function () {
    var input = this.input;
    this.bytesBefore += this.current;
    if (this.at >= input.length) return null;
    var end = this.at + SEGMENT;
    if (end >= input.length) end = input.length;
    else {
      var nl = typeof input === "string" ? input.indexOf("\n", end) : input.indexOf(0x0a, end);
      end = nl < 0 ? input.length : nl + 1;
    }
    var piece;
    if (typeof input === "string") {
      var bytes = bytesOf(input.slice(this.at, end));
      /* a string's UTF-8 is valid by construction, but for lone surrogates (0xFF, see bytesOf) */
      piece = { bytes: bytes, allUtf8: bytes.indexOf(0xff) < 0 };
    } else {
      var sub = input.subarray(this.at, end);
      piece = { bytes: sub, allUtf8: isUtf8(sub) };
    }
    this.at = end;
    this.current = piece.bytes.length;
    return piece;
  };

  function isUtf8(bytes) {
    try {
      utf8Strict.decode(bytes);
      return true;
    } catch (e) {
      return false;
    }
  }

  /* ------------------------------------------------------------------------------------------
   * Numbers as Python writes them (format.md section 2)
   * ---------------------------------------------------------------------------------------- */

  /*
   * Python's repr of a finite double. Number.prototype.toString already gives the shortest digits
   * that read back as the same double (ties to the closer one), as repr does: only the layout
   * differs (repr writes 1.0 and 1e-05 where JavaScript writes 1 and 0.00001).
   */
  function formatDouble(x) {
    if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
    var s = String(x);
    var a = x < 0 ? -x : x;
    if (a >= 1e-4 && a < 1e16 && s.indexOf(".") >= 0) return s;
    var sign = "";
    if (s.charCodeAt(0) === 45) {
      sign = "-";
      s = s.slice(1);
    }
    var mantissa = s;
    var exp = 0;
    var e = s.indexOf("e");
    if (e >= 0) {
      mantissa = s.slice(0, e);
      exp = Number(s.slice(e + 1));
    }
    var dot = mantissa.indexOf(".");
    var digits;
    if (dot >= 0) {
      digits = mantissa.slice(0, dot) + mantissa.slice(dot + 1);
      exp += dot - 1;
    } else {
      digits = mantissa;
      exp += mantissa.length - 1;
    }
    var lead = 0;
    while (lead < digits.length - 1 && digits.charCodeAt(lead) === 48) {
      lead++;
      exp--;
    }
    digits = digits.slice(lead);
    var trail = digits.length;
    while (trail > 1 && digits.charCodeAt(trail - 1) === 48) trail--;
    digits = digits.slice(0, trail);
    if (exp >= -4 && exp < 16) {
      if (exp >= 0) {
        var intLen = exp + 1;
        if (digits.length <= intLen) return sign + digits + "0".repeat(intLen - digits.length) + ".0";
        return sign + digits.slice(0, intLen) + "." + digits.slice(intLen);
      }
      return sign + "0." + "0".repeat(-exp - 1) + digits;
    }
    var m = digits.length > 1 ? digits[0] + "." + digits.slice(1) : digits;
    var ae = Math.abs(exp);
    return sign + m + (exp < 0 ? "e-" : "e+") + (ae < 10 ? "0" + ae : String(ae));
  }

  /* The canonical form of a JavaScript number (integral values as digits). */
  function formatNumber(x) {
    if (Number.isInteger(x)) {
      if (x === 0) return "0";
      return Number.isSafeInteger(x) ? String(x) : BigInt(x).toString();
    }
    return formatDouble(x);
  }

  /* ------------------------------------------------------------------------------------------
   * The strict JSON scanner: validates one value and writes its canonical bytes (section 2)
   *
   * Iterative (an explicit stack), so nesting depth is bounded by memory, not by the call stack.
   * It copies what is already canonical and rewrites only what differs: whitespace, escapes,
   * number lexemes, key order.
   * ---------------------------------------------------------------------------------------- */

  /* Thrown for anything that makes a line MalformedLine. */
  function Malformed(reason) {
    this.reason = reason;
  }
  function fail(reason) {
    throw new Malformed(reason);
  }

  var src = new Uint8Array(0); /* the bytes being scanned */
  var out = new Uint8Array(1 << 16); /* canonical output */
  var oj = 0; /* output length */
  var lastEscaped = false; /* the last string held an escape */
  var lastIntegral = false; /* the last number had no fraction and no exponent */

  function ensure(n) {
    if (oj + n > out.length) {
      var next = new Uint8Array(Math.max(out.length * 2, oj + n + 256));
      next.set(out.subarray(0, oj));
      out = next;
    }
  }

  function isWs(c) {
    return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
  }

  function skipWs(p, end) {
    while (p < end && isWs(src[p])) p++;
    return p;
  }

  function putAscii(s) {
    ensure(s.length);
    for (var k = 0; k < s.length; k++) out[oj++] = s.charCodeAt(k);
  }

  function putCodePoint(cp) {
    ensure(4);
    if (cp < 0x80) out[oj++] = cp;
    else if (cp < 0x800) {
      out[oj++] = 0xc0 | (cp >> 6);
      out[oj++] = 0x80 | (cp & 63);
    } else if (cp < 0x10000) {
      out[oj++] = 0xe0 | (cp >> 12);
      out[oj++] = 0x80 | ((cp >> 6) & 63);
      out[oj++] = 0x80 | (cp & 63);
    } else {
      out[oj++] = 0xf0 | (cp >> 18);
      out[oj++] = 0x80 | ((cp >> 12) & 63);
      out[oj++] = 0x80 | ((cp >> 6) & 63);
      out[oj++] = 0x80 | (cp & 63);
    }
  }

  function hexVal(c) {
    if (c >= 48 && c <= 57) return c - 48;
    if (c >= 97 && c <= 102) return c - 87;
    if (c >= 65 && c <= 70) return c - 55;
    return -1;
  }

  function hex4(p, end) {
    if (p + 4 > end) fail("truncated \\u escape");
    var a = hexVal(src[p]), b = hexVal(src[p + 1]), c = hexVal(src[p + 2]), d = hexVal(src[p + 3]);
    if ((a | b | c | d) < 0) fail("invalid \\u escape");
    return (a << 12) | (b << 8) | (c << 4) | d;
  }

  /* The string whose opening quote is at p, written canonically; returns the position after it. */
  function scanString(p, end) {
    ensure(end - p + 2);
    out[oj++] = 0x22;
    var i = p + 1;
    lastEscaped = false;
    for (;;) {
      if (i >= end) fail("unterminated string");
      var c = src[i];
      if (c === 0x22) {
        out[oj++] = 0x22;
        return i + 1;
      }
      if (c < 0x20) fail("raw control character in string");
      if (c !== 0x5c) {
        out[oj++] = c;
        i++;
        continue;
      }
      lastEscaped = true;
      if (i + 1 >= end) fail("unterminated escape");
      var e = src[i + 1];
      if (e === 0x22 || e === 0x5c || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        ensure(2);
        out[oj++] = 0x5c;
        out[oj++] = e;
        i += 2;
      } else if (e === 0x2f) {
        ensure(1);
        out[oj++] = 0x2f; /* "\/" is written raw */
        i += 2;
      } else if (e === 0x75) {
        var cp = hex4(i + 2, end);
        if (cp >= 0xd800 && cp <= 0xdbff) {
          if (i + 11 < end && src[i + 6] === 0x5c && src[i + 7] === 0x75) {
            var lo = hex4(i + 8, end);
            if (lo >= 0xdc00 && lo <= 0xdfff) {
              putCodePoint(0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00));
              i += 12;
              continue;
            }
          }
          fail("lone surrogate escape (no UTF-8 form)");
        }
        if (cp >= 0xdc00 && cp <= 0xdfff) fail("lone surrogate escape (no UTF-8 form)");
        if (cp < 0x20) {
          putAscii(cp === 8 ? "\\b" : cp === 9 ? "\\t" : cp === 10 ? "\\n" : cp === 12 ? "\\f" : cp === 13 ? "\\r" : "\\u00" + HEX_OF[cp]);
        } else if (cp === 0x22) putAscii("\\\"");
        else if (cp === 0x5c) putAscii("\\\\");
        else putCodePoint(cp);
        i += 6;
      } else fail("invalid escape");
      ensure(end - i + 2);
    }
  }

  /*
   * Whether a fraction lexeme is already what Python's repr writes: int.frac without exponent,
   * decimal exponent in [-4, 16), no superfluous trailing zero, at most 15 significant digits
   * (two decimals of 15 digits or fewer never round to one double, so it is the shortest form).
   */
  function isShortFixed(p, end) {
    var d0 = src[p] === 0x2d ? p + 1 : p;
    var firstSig = -1, lastSig = -1, dot = -1, leadingFracZeros = 0;
    for (var i = d0; i < end; i++) {
      var c = src[i];
      if (c === 0x2e) {
        dot = i;
        continue;
      }
      if (c < 0x30 || c > 0x39) return false;
      if (c !== 0x30) {
        if (firstSig < 0) firstSig = i;
        lastSig = i;
      } else if (firstSig < 0 && dot >= 0) leadingFracZeros++;
    }
    if (dot < 0) return false;
    if (dot - d0 > 16) return false;
    if (src[end - 1] === 0x30 && end - dot - 1 !== 1) return false;
    if (firstSig < 0) return true;
    if (dot - d0 === 1 && src[d0] === 0x30 && leadingFracZeros > 3) return false;
    var digits = lastSig - firstSig + 1 - (firstSig < dot && lastSig > dot ? 1 : 0);
    return digits <= 15;
  }

  /* The number at p, written canonically; returns its end. */
  function scanNumber(p, end) {
    var i = p;
    if (src[i] === 0x2d) i++;
    var c = i < end ? src[i] : 0;
    if (c === 0x30) i++;
    else if (c >= 0x31 && c <= 0x39) {
      i++;
      while (i < end && (c = src[i]) >= 0x30 && c <= 0x39) i++;
    } else fail("invalid number");
    var integral = true;
    if (i < end && src[i] === 0x2e) {
      integral = false;
      i++;
      var s = i;
      while (i < end && (c = src[i]) >= 0x30 && c <= 0x39) i++;
      if (i === s) fail("invalid number");
    }
    if (i < end && (src[i] === 0x65 || src[i] === 0x45)) {
      integral = false;
      i++;
      if (i < end && (src[i] === 0x2b || src[i] === 0x2d)) i++;
      var s2 = i;
      while (i < end && (c = src[i]) >= 0x30 && c <= 0x39) i++;
      if (i === s2) fail("invalid number");
    }
    lastIntegral = integral;
    if (integral) {
      /* an integer of any size, as written; -0 is 0 */
      if (i - p === 2 && src[p] === 0x2d && src[p + 1] === 0x30) {
        ensure(1);
        out[oj++] = 0x30;
        return i;
      }
    } else if (!isShortFixed(p, i)) {
      var x = Number(String.fromCharCode.apply(null, src.subarray(p, i)));
      if (!Number.isFinite(x)) fail("number is not finite as a double");
      putAscii(formatDouble(x));
      return i;
    }
    ensure(i - p);
    for (var k = p; k < i; k++) out[oj++] = src[k];
    return i;
  }

  function scanLiteral(p, end, word) {
    if (p + word.length > end) fail("invalid literal");
    ensure(word.length);
    for (var k = 0; k < word.length; k++) {
      if (src[p + k] !== word.charCodeAt(k)) fail("invalid token");
      out[oj++] = word.charCodeAt(k);
    }
    return p + word.length;
  }

  /* The member table of open objects: where each "key":value starts and ends in 'out'. */
  var mStart = [], mEnd = [], mKeyStart = [], mKeyEnd = [], mKeyDecoded = [];
  var mCount = 0;

  /* Bytes of a decoded key, when its canonical form holds an escape (whose bytes do not sort like its value). */
  function decodedKey(m) {
    var d = mKeyDecoded[m];
    if (d === null) {
      var text = utf8Lax.decode(out.subarray(mKeyStart[m] - 1, mKeyEnd[m] + 1));
      d = utf8Encoder.encode(JSON.parse(text));
      mKeyDecoded[m] = d;
    }
    return d;
  }

  /* Order of two keys by code point (the order of their UTF-8 bytes). */
  function compareKeys(x, y) {
    var a, as, ae, b, bs, be;
    if (mKeyDecoded[x] === undefined) {
      a = out;
      as = mKeyStart[x];
      ae = mKeyEnd[x];
    } else {
      a = decodedKey(x);
      as = 0;
      ae = a.length;
    }
    if (mKeyDecoded[y] === undefined) {
      b = out;
      bs = mKeyStart[y];
      be = mKeyEnd[y];
    } else {
      b = decodedKey(y);
      bs = 0;
      be = b.length;
    }
    var la = ae - as, lb = be - bs;
    var n = la < lb ? la : lb;
    for (var i = 0; i < n; i++) {
      var d = a[as + i] - b[bs + i];
      if (d !== 0) return d;
    }
    return la - lb;
  }

  /* '"key":' at i; returns the position of the member's value. */
  function scanKey(i, end) {
    if (src[i] !== 0x22) fail("expected a string key");
    var m = mCount++;
    mStart[m] = oj;
    var after = scanString(i, end);
    mKeyStart[m] = mStart[m] + 1;
    mKeyEnd[m] = oj - 1;
    var hasEscape = false;
    if (lastEscaped) for (var q = mKeyStart[m]; q < mKeyEnd[m]; q++) if (out[q] === 0x5c) hasEscape = true;
    mKeyDecoded[m] = hasEscape ? null : undefined;
    var j = skipWs(after, end);
    if (src[j] !== 0x3a) fail("expected ':'");
    ensure(1);
    out[oj++] = 0x3a;
    return skipWs(j + 1, end);
  }

  /* Close the object whose members are m[base, mCount): refuse duplicates, sort when needed. */
  function closeObject(base) {
    var top = mCount;
    var sorted = true;
    for (var k = base + 1; k < top; k++) {
      var d = compareKeys(k - 1, k);
      if (d === 0) fail("duplicate key");
      if (d > 0) sorted = false;
    }
    if (!sorted) {
      var order = [];
      for (var m = base; m < top; m++) order.push(m);
      order.sort(compareKeys);
      for (var q = 1; q < order.length; q++) if (compareKeys(order[q - 1], order[q]) === 0) fail("duplicate key");
      var regionStart = mStart[base], regionEnd = mEnd[top - 1];
      var copy = out.slice(regionStart, regionEnd);
      var w = regionStart;
      for (var r = 0; r < order.length; r++) {
        if (r > 0) out[w++] = 0x2c;
        var a = mStart[order[r]] - regionStart, b = mEnd[order[r]] - regionStart;
        out.set(copy.subarray(a, b), w);
        w += b - a;
      }
    }
    mCount = base;
  }

  /* One JSON value at p (no whitespace before it), written canonically; returns its end. */
  function scanValue(p, end) {
    var kinds = []; /* 1: object, 2: array */
    var bases = [];
    var i = p;
    for (;;) {
      if (i >= end) fail("unexpected end of line");
      var c = src[i];
      if (c === 0x22) i = scanString(i, end);
      else if (c === 0x7b) {
        ensure(1);
        out[oj++] = 0x7b;
        i = skipWs(i + 1, end);
        if (src[i] === 0x7d) {
          ensure(1);
          out[oj++] = 0x7d;
          i++;
        } else {
          kinds.push(1);
          bases.push(mCount);
          i = scanKey(i, end);
          continue;
        }
      } else if (c === 0x5b) {
        ensure(1);
        out[oj++] = 0x5b;
        i = skipWs(i + 1, end);
        if (src[i] === 0x5d) {
          ensure(1);
          out[oj++] = 0x5d;
          i++;
        } else {
          kinds.push(2);
          bases.push(mCount);
          continue;
        }
      } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) i = scanNumber(i, end);
      else if (c === 0x74) i = scanLiteral(i, end, "true");
      else if (c === 0x66) i = scanLiteral(i, end, "false");
      else if (c === 0x6e) i = scanLiteral(i, end, "null");
      else fail(c === 0x4e || c === 0x49 ? "non-finite number token" : "unexpected character");
      /* after a value: close containers, or go on to the next element */
      for (;;) {
        if (kinds.length === 0) return i;
        var kind = kinds[kinds.length - 1];
        if (kind === 1) mEnd[mCount - 1] = oj;
        i = skipWs(i, end);
        if (i >= end) fail("unexpected end of line");
        c = src[i];
        if (c === 0x2c) {
          ensure(1);
          out[oj++] = 0x2c;
          i = skipWs(i + 1, end);
          if (kind === 1) i = scanKey(i, end);
          break;
        }
        if (kind === 1 && c === 0x7d) {
          closeObject(bases.pop());
          kinds.pop();
          ensure(1);
          out[oj++] = 0x7d;
          i++;
          continue;
        }
        if (kind === 2 && c === 0x5d) {
          bases.pop();
          kinds.pop();
          ensure(1);
          out[oj++] = 0x5d;
          i++;
          continue;
        }
        fail("expected ',' or a closing bracket");
      }
    }
  }

  /* ------------------------------------------------------------------------------------------
   * One line: an entry, or the _meta header (section 1)
   * ---------------------------------------------------------------------------------------- */

  /* The top-level members an entry line is read for, by bit; 0 for any other member. */
  var K_PAYLOAD = 1, K_SEQ = 2, K_TS = 4, K_TYPE = 8, K_PREV = 16, K_HASH = 32, K_SIG = 64, K_META = 128, K_CONTROLS = 256;
  var MEMBER_BITS = { payload: K_PAYLOAD, seq: K_SEQ, ts: K_TS, type: K_TYPE, prev_hash: K_PREV, hash: K_HASH, sig: K_SIG, _meta: K_META, controls: K_CONTROLS };

  /* The text of out[a, b): ASCII without a backslash is read byte for byte (the usual case). */
  function textAt(a, b) {
    for (var k = a; k < b; k++) {
      var c = out[k];
      if (c >= 0x80 || c === 0x5c) return null;
    }
    return b - a < 4096 ? String.fromCharCode.apply(null, out.subarray(a, b)) : utf8Lax.decode(out.subarray(a, b));
  }

  /* The string a canonical string value out[a, b) (quotes included) holds. */
  function stringAt(a, b) {
    var plain = textAt(a + 1, b - 1);
    return plain !== null ? plain : JSON.parse(utf8Lax.decode(out.subarray(a, b)));
  }

  function putLabel(message, w, label) {
    for (var z = 0; z < label.length; z++) message[w++] = label.charCodeAt(z);
    return w;
  }

  /*
   * Reads the line src[start, end) (UTF-8 already checked). Returns the header's canonical
   * '_meta' text and the other member names beside it, or an entry: seq, prev_hash, hash, sig,
   * type, the canonical bytes of its controls (or null), and the hashed message prev_hash || body.
   * Throws Malformed.
   */
  function readLine(bytes, start, end) {
    src = bytes;
    oj = 0;
    mCount = 0;
    var i = skipWs(start, end);
    if (src[i] !== 0x7b) fail("not a JSON object");
    i = skipWs(i + 1, end);
    var seen = 0;
    var others = null; /* names of the members that are none of the above (kept to refuse a duplicate) */
    /* where each known member's canonical value lies in out */
    var payloadAt = 0, payloadEnd = 0, seqAt = 0, seqEnd = 0, tsAt = 0, tsEnd = 0, typeAt = 0, typeEnd = 0;
    var prevAt = 0, prevEnd = 0, hashAt = 0, hashEnd = 0, sigAt = 0, sigEnd = 0, metaAt = 0, metaEnd = 0, controlsAt = 0, controlsEnd = 0;
    if (src[i] !== 0x7d) {
      for (;;) {
        if (src[i] !== 0x22) fail("expected a string key");
        var keyFrom = oj;
        var afterKey = scanString(i, end);
        var plainName = textAt(keyFrom + 1, oj - 1);
        var bit = plainName !== null && plainName.length <= 9 ? MEMBER_BITS[plainName] || 0 : 0;
        if (bit === 0) {
          var name = plainName !== null ? plainName : stringAt(keyFrom, oj);
          bit = MEMBER_BITS[name] || 0;
          if (bit === 0) {
            if (others === null) others = [];
            if (others.indexOf(name) >= 0) fail("duplicate key");
            others.push(name);
          }
        }
        if (bit !== 0) {
          if ((seen & bit) !== 0) fail("duplicate key");
          seen |= bit;
        }
        oj = keyFrom;
        i = skipWs(afterKey, end);
        if (src[i] !== 0x3a) fail("expected ':'");
        i = skipWs(i + 1, end);
        var c = src[i];
        var vFrom = oj;
        if (bit === K_PAYLOAD && c !== 0x7b) fail("payload is not an object");
        if (bit === K_META && c !== 0x7b) fail("_meta is not an object");
        i = scanValue(i, end);
        switch (bit) {
          case K_PAYLOAD: payloadAt = vFrom; payloadEnd = oj; break;
          case K_SEQ:
            if (!(c === 0x2d || (c >= 0x30 && c <= 0x39)) || !lastIntegral) fail("seq is not an integer");
            if (out[vFrom] === 0x2d) fail("seq is negative");
            seqAt = vFrom; seqEnd = oj;
            break;
          case K_TS: if (c !== 0x22) fail("ts is not a string"); tsAt = vFrom; tsEnd = oj; break;
          case K_TYPE: if (c !== 0x22) fail("type is not a string"); typeAt = vFrom; typeEnd = oj; break;
          case K_PREV: if (c !== 0x22) fail("prev_hash is not a string"); prevAt = vFrom; prevEnd = oj; break;
          case K_HASH: if (c !== 0x22) fail("hash is not a string"); hashAt = vFrom; hashEnd = oj; break;
          case K_SIG: if (c !== 0x22) fail("sig is not a string"); sigAt = vFrom; sigEnd = oj; break;
          case K_META: metaAt = vFrom; metaEnd = oj; break;
          case K_CONTROLS: controlsAt = vFrom; controlsEnd = oj; break;
          default: oj = vFrom; /* another member: checked, not kept */
        }
        i = skipWs(i, end);
        if (src[i] === 0x2c) {
          i = skipWs(i + 1, end);
          continue;
        }
        if (src[i] === 0x7d) break;
        fail("expected ',' or '}'");
      }
    }
    i = skipWs(i + 1, end);
    if (i !== end) fail("trailing characters after the object");
    if ((seen & K_META) !== 0) {
      /* a header line: _meta, and nothing beside it (a member beside it is covered by nothing) */
      var beside = others === null ? [] : others.slice();
      var names = ["payload", "seq", "ts", "type", "prev_hash", "hash", "sig", "controls"];
      for (var nb = 0; nb < names.length; nb++) if ((seen & MEMBER_BITS[names[nb]]) !== 0) beside.push(names[nb]);
      return { meta: utf8Lax.decode(out.subarray(metaAt, metaEnd)), beside: beside };
    }
    if ((seen & 63) !== 63) {
      var missing = [];
      if ((seen & K_SEQ) === 0) missing.push("seq");
      if ((seen & K_TS) === 0) missing.push("ts");
      if ((seen & K_TYPE) === 0) missing.push("type");
      if ((seen & K_PAYLOAD) === 0) missing.push("payload");
      if ((seen & K_PREV) === 0) missing.push("prev_hash");
      if ((seen & K_HASH) === 0) missing.push("hash");
      fail("missing field" + (missing.length > 1 ? "s" : "") + ": " + missing.join(", "));
    }
    var seq = Number(String.fromCharCode.apply(null, out.subarray(seqAt, seqEnd)));
    if (!Number.isSafeInteger(seq)) fail("seq is not a safe integer");
    var prevPlain = textAt(prevAt + 1, prevEnd - 1);
    var prev = prevPlain !== null ? prevPlain : stringAt(prevAt, prevEnd);
    var prevBytes = prevPlain !== null ? null : utf8Encoder.encode(prev);
    var prevLength = prevPlain !== null ? prevEnd - prevAt - 2 : prevBytes.length;
    /* the hashed message: prev_hash, then {"payload":P,"seq":S,"ts":T,"type":Y} */
    var message = new Uint8Array(prevLength + 11 + (payloadEnd - payloadAt) + 7 + (seqEnd - seqAt) + 6 + (tsEnd - tsAt) + 8 + (typeEnd - typeAt) + 1);
    if (prevBytes === null) message.set(out.subarray(prevAt + 1, prevEnd - 1), 0);
    else message.set(prevBytes, 0);
    var w = putLabel(message, prevLength, '{"payload":');
    message.set(out.subarray(payloadAt, payloadEnd), w);
    w = putLabel(message, w + payloadEnd - payloadAt, ',"seq":');
    message.set(out.subarray(seqAt, seqEnd), w);
    w = putLabel(message, w + seqEnd - seqAt, ',"ts":');
    message.set(out.subarray(tsAt, tsEnd), w);
    w = putLabel(message, w + tsEnd - tsAt, ',"type":');
    message.set(out.subarray(typeAt, typeEnd), w);
    message[w + typeEnd - typeAt] = 0x7d;
    return {
      meta: null,
      seq: seq,
      prev: prev,
      hash: stringAt(hashAt, hashEnd),
      sig: (seen & K_SIG) === 0 ? "" : stringAt(sigAt, sigEnd),
      type: stringAt(typeAt, typeEnd),
      controls: (seen & K_CONTROLS) === 0 ? null : out.slice(controlsAt, controlsEnd),
      message: message
    };
  }

  /* ------------------------------------------------------------------------------------------
   * Canonical JSON of JavaScript values (for rows' controls read as plain JSON, section 6)
   * ---------------------------------------------------------------------------------------- */

  function encodeString(s) {
    var r = '"';
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      if (c === 0x22) r += '\\"';
      else if (c === 0x5c) r += "\\\\";
      else if (c < 0x20) r += c === 8 ? "\\b" : c === 9 ? "\\t" : c === 10 ? "\\n" : c === 12 ? "\\f" : c === 13 ? "\\r" : "\\u00" + HEX_OF[c];
      else r += s[i];
    }
    return r + '"';
  }

  function compareCodePoints(a, b) {
    var ba = utf8Encoder.encode(a), bb = utf8Encoder.encode(b);
    var n = Math.min(ba.length, bb.length);
    for (var i = 0; i < n; i++) if (ba[i] !== bb[i]) return ba[i] - bb[i];
    return ba.length - bb.length;
  }

  function encodeValue(v) {
    if (v === null) return "null";
    if (v === true) return "true";
    if (v === false) return "false";
    if (typeof v === "number") return formatNumber(v);
    if (typeof v === "string") return encodeString(v);
    if (Array.isArray(v)) return "[" + v.map(encodeValue).join(",") + "]";
    var keys = Object.keys(v).sort(compareCodePoints);
    return "{" + keys.map(function (k) { return encodeString(k) + ":" + encodeValue(v[k]); }).join(",") + "}";
  }

  var NULL_ROW = utf8Encoder.encode("null\n");

  /*
   * A row's controls as the seal digests them: the value read as plain JSON, then written
   * canonically, so a number is digested as the JavaScript number it reads as (the library reads
   * rows so). For the usual controls, a list of strings, that is the canonical text itself.
   */
  function controlsRow(canonical) {
    if (canonical === null) return NULL_ROW;
    var inString = false, numberOutside = false;
    for (var k = 0; k < canonical.length; k++) {
      var c = canonical[k];
      if (inString) {
        if (c === 0x5c) k++;
        else if (c === 0x22) inString = false;
      } else if (c === 0x22) inString = true;
      else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
        numberOutside = true;
        break;
      }
    }
    if (numberOutside) return utf8Encoder.encode(encodeValue(JSON.parse(utf8Lax.decode(canonical))) + "\n");
    var row = new Uint8Array(canonical.length + 1);
    row.set(canonical, 0);
    row[canonical.length] = 0x0a;
    return row;
  }

  /* ------------------------------------------------------------------------------------------
   * The _meta header (section 5)
   * ---------------------------------------------------------------------------------------- */

  /* The members of a canonical object text: [key, canonical value text] pairs, in order. */
  function membersOf(text) {
    var members = [];
    var i = 1;
    while (i < text.length - 1) {
      var keyEnd = skipString(text, i);
      var key = JSON.parse(text.slice(i, keyEnd));
      var vStart = keyEnd + 1;
      var vEnd = skipValue(text, vStart);
      members.push([key, text.slice(vStart, vEnd)]);
      i = vEnd + 1;
    }
    return members;
  }

  function skipString(text, i) {
    for (var k = i + 1; ; k++) {
      var c = text.charCodeAt(k);
      if (c === 0x5c) k++;
      else if (c === 0x22) return k + 1;
    }
  }

  /* The end of the canonical value at i (no whitespace in canonical text). */
  function skipValue(text, i) {
    var depth = 0;
    for (var k = i; k < text.length; k++) {
      var c = text.charCodeAt(k);
      if (c === 0x22) {
        k = skipString(text, k) - 1;
        if (depth === 0) return k + 1;
      } else if (c === 0x7b || c === 0x5b) depth++;
      else if (c === 0x7d || c === 0x5d) {
        if (depth === 0) return k;
        depth--;
        if (depth === 0) return k + 1;
      } else if (c === 0x2c && depth === 0) return k;
    }
    return text.length;
  }

  /* How deeply a canonical value nests (itself level 1; scalars 0). */
  function depthOf(text) {
    var depth = 0, max = 0;
    for (var k = 0; k < text.length; k++) {
      var c = text.charCodeAt(k);
      if (c === 0x22) k = skipString(text, k) - 1;
      else if (c === 0x7b || c === 0x5b) {
        depth++;
        if (depth > max) max = depth;
      } else if (c === 0x7d || c === 0x5d) depth--;
    }
    return max;
  }

  /* The members A.4 names (anything else in an unsealed header is covered by nothing). */
  var A4_MEMBERS = ["system", "risk_tier", "framework", "controls_covered", "summary", "head_hash", "entries", "disclaimer", "sig"];
  var SEAL_MEMBERS = ["alg", "key_id", "digest", "sig"];
  var MAX_META_DEPTH = 64;

  /* The header of a canonical '_meta' text, or throws Malformed. */
  function readMeta(text) {
    if (depthOf(text) > MAX_META_DEPTH) fail("_meta is nested more than " + MAX_META_DEPTH + " levels deep");
    var members = membersOf(text);
    var raw = Object.create(null);
    var value = Object.create(null);
    members.forEach(function (m) {
      raw[m[0]] = m[1];
      value[m[0]] = JSON.parse(m[1]);
    });
    var has = function (k) { return raw[k] !== undefined; };
    var isText = function (k) { return typeof value[k] === "string"; };
    if (!has("system") || !isText("system")) fail("_meta.system must be a string");
    if (!has("risk_tier") || !(value.risk_tier === null || isText("risk_tier"))) fail("_meta.risk_tier must be a string or null");
    if (has("framework") && !(value.framework === null || isText("framework"))) fail("_meta.framework must be a string or null");
    if (has("controls_covered") && !(Array.isArray(value.controls_covered) && value.controls_covered.every(function (c) { return typeof c === "string"; }))) {
      fail("_meta.controls_covered must be an array of strings");
    }
    if (!has("head_hash") || !isText("head_hash")) fail("_meta.head_hash must be a string");
    /* entries: written as an integer (no fraction, no exponent), not negative, exact as a number */
    if (!has("entries") || !/^(0|[1-9][0-9]*)$/.test(raw.entries) || !Number.isSafeInteger(Number(raw.entries))) {
      fail("_meta.entries must be a non-negative integer (below 2^53)");
    }
    if (has("disclaimer") && !isText("disclaimer")) fail("_meta.disclaimer must be a string");
    if (has("sig") && !isText("sig")) fail("_meta.sig must be a string");
    var seal;
    if (has("seal")) {
      var fields = raw.seal.charCodeAt(0) === 0x7b ? membersOf(raw.seal) : null;
      var get = function (k) {
        if (fields === null) return undefined;
        for (var f = 0; f < fields.length; f++) if (fields[f][0] === k && fields[f][1].charCodeAt(0) === 0x22) return JSON.parse(fields[f][1]);
        return undefined;
      };
      seal = { alg: get("alg"), keyId: get("key_id"), digest: get("digest"), sig: get("sig") };
      if (seal.alg === undefined || seal.keyId === undefined || seal.digest === undefined || seal.sig === undefined) {
        fail("_meta.seal needs alg, key_id, digest, sig, each a string");
      }
      seal.extra = fields.map(function (f) { return f[0]; }).filter(function (k) { return SEAL_MEMBERS.indexOf(k) < 0; });
    }
    var canonicalMeta;
    if (has("seal") || has("checkpoint")) {
      /* what a seal digests: every member but the signatures sig, seal and checkpoint */
      canonicalMeta = "{" + members.filter(function (m) { return m[0] !== "sig" && m[0] !== "seal" && m[0] !== "checkpoint"; })
        .map(function (m) { return encodeString(m[0]) + ":" + m[1]; }).join(",") + "}";
    }
    return {
      system: value.system,
      headHash: value.head_hash,
      entries: Number(raw.entries),
      sig: has("sig") ? value.sig : undefined,
      /* what _meta.sig signs: four members only (A.4) */
      signedBody: '{"entries":' + raw.entries + ',"head_hash":' + raw.head_hash + ',"risk_tier":' + raw.risk_tier + ',"system":' + raw.system + "}",
      seal: seal,
      canonicalMeta: canonicalMeta,
      unsealed: members.map(function (m) { return m[0]; }).filter(function (k) { return k !== "seal" && A4_MEMBERS.indexOf(k) < 0; }),
      checkpoint: has("checkpoint") ? value.checkpoint : undefined,
      hasCheckpoint: has("checkpoint")
    };
  }

  /* The seal digest (section 6): SHA-256 of "acttrace-seal/1\n" + meta' + "\n", then the rows' hash. */
  async function sealDigest(canonicalMeta, rowsHash) {
    var head = utf8Encoder.encode("acttrace-seal/1\n" + canonicalMeta + "\n");
    var all = new Uint8Array(head.length + 32);
    all.set(head, 0);
    all.set(new Uint8Array(rowsHash), head.length);
    return sha256Hex(all);
  }

  /* ------------------------------------------------------------------------------------------
   * HMAC (section 4)
   * ---------------------------------------------------------------------------------------- */

  async function hmacOf(keyText) {
    var keyBytes = utf8Encoder.encode(keyText);
    var key = await subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    var keyId = (await sha256Hex(keyBytes)).slice(0, 16);
    return {
      keyId: keyId,
      hex: async function (text) {
        return toHex(await subtle.sign("HMAC", key, utf8Encoder.encode(text)));
      }
    };
  }

  /* ------------------------------------------------------------------------------------------
   * The verification
   * ---------------------------------------------------------------------------------------- */

  function Failure(tag, line, seq, reason) {
    this.tag = tag;
    this.line = line;
    this.seq = seq;
    this.reason = reason;
  }

  function yieldToPage() {
    return new Promise(function (resolve) { setTimeout(resolve, 0); });
  }

  async function verify(input, options) {
    options = options || {};
    if (typeof input !== "string" && !(input instanceof Uint8Array)) throw new TypeError("acttraceVerify: the pack must be a string or a Uint8Array");
    var mac = typeof options.key === "string" && options.key.length > 0 ? await hmacOf(options.key) : undefined;
    var ck;
    try {
      ck = await Checkpoints.make(options.pubkeys);
    } catch (e) {
      if (!(e instanceof Failure)) throw e;
      return failed(e, { entries: 0, head: GENESIS, anySigned: false, ck: undefined }, mac);
    }
    var onProgress = typeof options.onProgress === "function" ? options.onProgress : undefined;

    var state = {
      line: 0, /* physical lines read */
      entries: 0, /* entries verified */
      head: GENESIS, /* hash of the last entry verified */
      lastSeq: -1,
      lastLine: 0,
      header: undefined,
      /* the rows' controls, gathered for the seal digest */
      rows: undefined,
      rowsLength: 0,
      anySigned: false,
      pending: undefined, /* a forward seq jump, judged by the next line */
      ck: ck
    };

    var failure;
    var segments = new Segments(input);
    var segment = segments.next();
    var pos = 0;
    var lines = 0; /* physical lines read so far */
    var stop = false; /* a malformed line was read: nothing after it matters */
    /*
     * A pipeline of two batches: while the browser hashes one batch (WebCrypto works off the main
     * thread), the next is read; then the first is judged line by line, in order.
     */
    var ahead = null;
    try {
      for (;;) {
        var next = null;
        if (segment !== null && !stop) {
          var bytes = segment.bytes;
          var n = bytes.length;
          /* a batch of lines, up to the first that is malformed */
          var batch = [];
          while (pos < n && batch.length < CHUNK_LINES) {
            var nl = bytes.indexOf(0x0a, pos);
            var end = nl < 0 ? n : nl;
            var item = lineItem(bytes, pos, end, ++lines, segment.allUtf8);
            item.start = pos;
            item.end = end;
            batch.push(item);
            pos = nl < 0 ? n : nl + 1;
            if (item.malformed !== undefined) {
              stop = true;
              break;
            }
          }
          next = { batch: batch, bytes: bytes, read: segments.bytesBefore + pos, hashed: hashBatch(batch, mac) };
          if (pos >= n) {
            segment = segments.next();
            pos = 0;
          }
        }
        if (ahead !== null) {
          await ahead.hashed;
          for (var b = 0; b < ahead.batch.length && failure === undefined; b++) {
            var item2 = ahead.batch[b];
            var said = judge(state, item2, ahead.bytes, mac);
            if (said === ACCEPTED) said = state.ck === undefined ? accept(state, item2, ahead.bytes) : await acceptChecked(state, item2, ahead.bytes);
            failure = said;
          }
          if (failure !== undefined) break;
          if (onProgress !== undefined) onProgress(state.entries, ahead.read);
          await yieldToPage();
        }
        if (next === null) break;
        ahead = next;
      }
      if (failure === undefined) failure = await finish(state, mac);
    } catch (e) {
      if (e instanceof Failure) failure = e;
      else throw e;
    }
    if (failure instanceof Failure) return failed(failure, state, mac);
    return failure;
  }

  /* Every entry of a batch hashed at once, then (with the key) every hash signed at once. */
  async function hashBatch(batch, mac) {
    var digests = await Promise.all(batch.map(function (it) { return it.entry === undefined ? undefined : sha256(it.entry.message); }));
    for (var d = 0; d < batch.length; d++) if (digests[d] !== undefined) batch[d].computed = toHex(digests[d]);
    if (mac !== undefined) {
      var sigs = await Promise.all(batch.map(function (it) { return it.computed === undefined ? undefined : mac.hex(it.computed); }));
      for (var g = 0; g < batch.length; g++) batch[g].expectedSig = sigs[g];
    }
  }

  /*
   * The verdict of a failure. entries and head describe the last entry that verified, and
   * signatures what was checked of those entries (verify --json says the same).
   */
  function failed(failure, s, mac) {
    return {
      ok: false,
      result: failure.tag,
      message: failure.tag + (failure.line === 0 ? "" : " at line " + failure.line + (failure.seq === null ? "" : " (seq " + failure.seq + ")")) + ": " + failure.reason,
      line: failure.line,
      seq: failure.seq === null ? undefined : failure.seq,
      entries: s.entries,
      head: s.head,
      signatures: s.entries === 0 ? "not-checked" : mac !== undefined ? "verified" : s.anySigned ? "not-checked" : "absent",
      completeness: "none",
      checkpoints: failure.tag === "CheckpointInvalid" || failure.tag === "CheckpointUntrusted" ? "failed" : "not-checked",
      checkpoint_count: s.ck === undefined ? 0 : s.ck.count,
      unsealed_tail: s.entries,
      /* a checkpoint no trusted key vouches for: the keys that did sign it (name+keyid) */
      signers: failure.signers
    };
  }

  /* What a physical line is, before anything is hashed: blank, malformed, a header or an entry. */
  function lineItem(bytes, start, end, line, allUtf8) {
    if (end - start > MAX_LINE_BYTES) return { line: line, malformed: "line is longer than the limit of " + MAX_LINE_BYTES + " bytes" };
    if (line === 1 && end - start >= 3 && bytes[start] === 0xef && bytes[start + 1] === 0xbb && bytes[start + 2] === 0xbf) start += 3;
    if (end > start && bytes[end - 1] === 0x0d) end--;
    var blank = true;
    for (var k = start; k < end; k++) {
      if (bytes[k] !== 0x20 && bytes[k] !== 0x09) {
        blank = false;
        break;
      }
    }
    if (blank) return { line: line, blank: true };
    if (!allUtf8 && !isUtf8(bytes.subarray(start, end))) return { line: line, malformed: "not UTF-8" };
    try {
      var r = readLine(bytes, start, end);
      return r.meta !== null ? { line: line, meta: r } : { line: line, entry: r };
    } catch (e) {
      if (e instanceof Malformed) return { line: line, malformed: e.reason };
      if (e instanceof RangeError) return { line: line, malformed: "the line could not be checked within this verifier's limits (" + e.message + ")" };
      throw e;
    }
  }

  /* What judge says of an entry that holds: the state moves past it (see accept). */
  var ACCEPTED = { accepted: true };

  /*
   * One line, in order: the chain rules of section 11. A Failure, undefined when nothing more is
   * to be done (a blank line, the header, a forward jump waiting for the next line), or ACCEPTED.
   */
  function judge(s, it, bytes, mac) {
    var line = it.line;
    if (it.blank) {
      s.line = line;
      return undefined;
    }
    if (it.malformed !== undefined) return new Failure("MalformedLine", line, null, it.malformed);
    if (it.meta !== undefined) {
      if (s.entries > 0 || s.pending !== undefined || s.header !== undefined) return new Failure("MalformedLine", line, null, "_meta is only allowed on the first line");
      if (it.meta.beside.length > 0) return new Failure("MalformedLine", line, null, "the header line holds " + it.meta.beside.map(function (k) { return JSON.stringify(k); }).join(", ") + " beside _meta (a header line holds _meta only)");
      try {
        s.header = readMeta(it.meta.meta);
      } catch (e) {
        if (e instanceof Malformed) return new Failure("MalformedLine", line, null, e.reason);
        throw e;
      }
      s.header.line = line;
      s.header.sealRequired = false;
      if (s.header.seal !== undefined || (s.header.hasCheckpoint && s.ck !== undefined)) s.rows = [];
      s.line = line;
      return undefined;
    }
    var r = it.entry;
    var seq = r.seq;
    if (s.pending !== undefined) {
      var p = s.pending;
      return seq > p.lastSeq && seq < p.seq
        ? new Failure("ReorderDetected", p.line, p.seq, "seq " + p.seq + " comes before seq " + seq + " (entries swapped)")
        : new Failure("DeletionDetected", p.line, p.seq, jumpReason(p));
    }
    var computed = it.computed;
    var expectedSeq = s.lastSeq + 1;
    if (r.prev === s.head) {
      if (seq !== expectedSeq) return new Failure("EditDetected", line, seq, "seq is " + seq + ", expected " + expectedSeq);
      if (r.hash !== computed) return new Failure("EditDetected", line, seq, "content does not match its hash");
    } else if (seq === expectedSeq) {
      return new Failure("EditDetected", line, seq, "prev_hash does not link to the previous entry");
    } else if (seq <= s.lastSeq) {
      return new Failure("ReorderDetected", line, seq, "seq " + seq + " after seq " + s.lastSeq);
    } else {
      s.pending = { line: line, seq: seq, lastSeq: s.lastSeq };
      s.line = line;
      return undefined;
    }
    var signed = r.sig.length > 0;
    if (mac !== undefined) {
      if (!signed) return new Failure("SignatureInvalid", line, seq, "entry is not signed");
      if (!equalConstantTime(r.sig, it.expectedSig)) {
        return new Failure("SignatureInvalid", line, seq, s.entries === 0 ? otherKey(mac, bytes, it) : "signature does not match the key");
      }
    }
    return ACCEPTED;
  }

  /* With public keys, an entry that holds is checked as a checkpoint matter first (see CheckpointState.row). */
  async function acceptChecked(s, it, bytes) {
    var problem = await s.ck.row(it.entry, bytes, it, it.line, it.entry.seq, it.computed, s.head, s.entries === 0);
    return problem !== undefined ? problem : accept(s, it, bytes);
  }

  /* The state moves past an entry that holds; in a pack, its first entry and its controls matter to the header checks. */
  function accept(s, it, bytes) {
    var r = it.entry;
    var first = s.entries === 0;
    s.entries++;
    s.head = it.computed;
    s.lastSeq = r.seq;
    s.lastLine = it.line;
    s.line = it.line;
    s.anySigned = s.anySigned || r.sig.length > 0;
    if (s.header !== undefined) {
      if (first) {
        /* a pack of a log written by acttrace must carry a seal when checked with a key */
        var row = plainRow(bytes, it);
        if (row !== undefined && row.type === "audit_open" && row.payload !== null && typeof row.payload === "object" &&
            typeof row.payload.producer === "string" && row.payload.producer.indexOf("acttrace/") === 0) {
          s.header.sealRequired = true;
        }
      }
      if (s.rows !== undefined) {
        var rowText = controlsRow(r.controls);
        s.rows.push(rowText);
        s.rowsLength += rowText.length;
      }
    }
    return undefined;
  }

  /* The line as plain JSON (read only where a member's plain value matters). */
  function plainRow(bytes, it) {
    try {
      return JSON.parse(utf8Lax.decode(bytes.subarray(it.start, it.end)).replace(/^\ufeff/, ""));
    } catch (e) {
      return undefined;
    }
  }

  /* Why the first entry's signature fails: another key, when its audit_open names another key id. */
  function otherKey(mac, bytes, it) {
    var plain = "signature does not match the key";
    var row = plainRow(bytes, it);
    var signedWith = row !== undefined && row.type === "audit_open" && row.payload && row.payload.signing ? row.payload.signing.key_id : undefined;
    return typeof signedWith === "string" && signedWith !== mac.keyId
      ? plain + ": the log was signed with key id " + signedWith + ", the key given has key id " + mac.keyId
      : plain;
  }

  function jumpReason(p) {
    return p.lastSeq < 0
      ? "chain link broken: the chain starts at seq " + p.seq + " (" + (p.seq === 1 ? "entry 0 is" : "entries 0 to " + (p.seq - 1) + " are") + " missing)"
      : "chain link broken: seq jumps from " + p.lastSeq + " to " + p.seq;
  }

  /* After the last line: a pending jump, the header's signature and claims, the seal, completeness. */
  async function finish(s, mac) {
    if (s.pending !== undefined) return new Failure("DeletionDetected", s.pending.line, s.pending.seq, jumpReason(s.pending));
    if (s.entries === 0) return new Failure("MalformedLine", s.line, null, "no entry at all");
    var lastLine = s.lastLine, lastSeq = s.lastSeq;
    var header = s.header;
    var rowsHash = s.rows === undefined ? undefined : await sha256(concatBytes(s.rows, s.rowsLength));
    var ck = s.ck;
    var exportNote;
    if (ck !== undefined && ck.hasTree() && header !== undefined && header.hasCheckpoint) {
      exportNote = await ck.exportNote(s, header, rowsHash);
    }
    if (ck !== undefined && (exportNote === undefined || exportNote.reason !== undefined)) {
      var bad = await ck.settleWaiting();
      if (bad !== undefined) return bad;
    }
    if (mac !== undefined && header !== undefined) {
      if (header.sig === undefined) return new Failure("HeaderInvalid", header.line, null, "_meta is not signed");
      if (!equalConstantTime(await mac.hex(header.signedBody), header.sig)) return new Failure("HeaderInvalid", header.line, null, "_meta signature does not match the key");
    }
    var completeness = "none";
    if (header !== undefined) {
      if (header.headHash !== s.head || header.entries !== s.entries) {
        return new Failure("TruncationDetected", lastLine, lastSeq, "_meta claims " + header.entries + " entries ending at " + String(header.headHash).slice(0, 12) + "…, found " + s.entries + " ending at " + s.head.slice(0, 12) + "…");
      }
      completeness = mac !== undefined ? "signed-header" : "unsigned-header";
      var seal = header.seal;
      var invalid = function (reason) { return new Failure("HeaderInvalid", header.line, null, reason); };
      if (seal !== undefined) {
        if (seal.extra.length > 0) return invalid("_meta.seal holds " + seal.extra.map(function (k) { return JSON.stringify(k); }).join(", ") + ", which nothing covers");
        if (mac !== undefined) {
          if (seal.alg !== "hmac-sha256") return invalid("_meta.seal.alg is " + JSON.stringify(seal.alg) + ", but the key given is an HMAC key (hmac-sha256)");
          if (seal.keyId !== mac.keyId) return invalid("_meta.seal.key_id is " + JSON.stringify(seal.keyId) + ", but the key given has key id " + mac.keyId);
        }
        var digest = await sealDigest(header.canonicalMeta, rowsHash);
        if (digest !== seal.digest) return invalid("_meta.seal does not match the header or the rows' controls");
        if (mac !== undefined && !equalConstantTime(await mac.hex(digest), seal.sig)) return invalid("_meta.seal signature does not match the key");
      } else if (mac !== undefined) {
        if (header.sealRequired) return invalid("_meta.seal is missing (this pack's log was written by acttrace, whose packs are sealed)");
        if (header.unsealed.length > 0) {
          return invalid("_meta " + (header.unsealed.length === 1 ? "member " : "members ") + header.unsealed.map(function (k) { return JSON.stringify(k); }).join(", ") +
            (header.unsealed.length === 1 ? " is" : " are") + " covered by neither _meta.sig nor a seal");
        }
      }
    }
    var checkpoints = "not-checked";
    var covered = 0;
    if (ck !== undefined) {
      if (ck.hasTree() && header !== undefined) {
        if (!header.hasCheckpoint) {
          if (ck.named) return new Failure("HeaderInvalid", header.line, null, "_meta.checkpoint is missing (this pack's log signs checkpoints, so its packs carry a signed export note)");
        } else {
          if (exportNote.reason !== undefined) return new Failure("HeaderInvalid", header.line, null, exportNote.reason);
          ck.covered = s.entries;
          ck.exportVerified = true;
          completeness = "signed-checkpoint";
        }
      }
      checkpoints = !ck.hasTree() ? "not-checked" : ck.count > 0 || ck.exportVerified ? "verified" : "absent";
      covered = ck.covered;
    }
    var signatures = mac !== undefined ? "verified" : s.anySigned ? "not-checked" : "absent";
    return {
      ok: true,
      result: "Ok",
      message: "ok: " + s.entries + " " + (s.entries === 1 ? "entry" : "entries") + ", head " + s.head.slice(0, 12) + "… (signatures " + signatures + "; completeness: " + completeness + ")",
      entries: s.entries,
      head: s.head,
      signatures: signatures,
      completeness: completeness,
      checkpoints: checkpoints,
      checkpoint_count: ck === undefined ? 0 : ck.count,
      unsealed_tail: s.entries - covered
    };
  }

  /* ------------------------------------------------------------------------------------------
   * Checkpoints (sections 8 and 9): only with Ed25519 verifier keys
   * ---------------------------------------------------------------------------------------- */

  /* Standard base64, strictly: only the canonical spelling of a byte string is accepted. */
  function decodeBase64(text) {
    if (typeof text !== "string" || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
    var binary;
    try {
      binary = atob(text);
    } catch (e) {
      return undefined;
    }
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return encodeBase64(bytes) === text ? bytes : undefined;
  }

  function encodeBase64(bytes) {
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary);
  }

  function hex8(n) {
    return ("00000000" + n.toString(16)).slice(-8);
  }

  function isWellFormed(s) {
    if (typeof s.isWellFormed === "function") return s.isWellFormed();
    return !/[\ud800-\udbff](?![\udc00-\udfff])|(^|[^\ud800-\udbff])[\udc00-\udfff]/.test(s);
  }

  /* A key name (C2SP signed-note): non-empty, no Unicode white space, no '+'. */
  function isValidName(name) {
    return name.length > 0 && isWellFormed(name) && !/[\s\u0085+]/u.test(name);
  }

  /*
   * A verifier key text name+hash+base64(0x01 || 32-byte Ed25519 public key) (section 9): the
   * key, or a string saying why it is not one. The hash must be that of the name and the key.
   */
  async function parseVerifierKey(text) {
    var a = text.indexOf("+");
    var b = a < 0 ? -1 : text.indexOf("+", a + 1);
    if (b < 0) return "expected name+hash+key";
    var name = text.slice(0, a);
    var hash = text.slice(a + 1, b);
    if (!isValidName(name)) return "the key name is empty or holds a space or '+'";
    if (!/^[0-9a-fA-F]{8}$/.test(hash)) return "the key hash is not 8 hex digits";
    var key = decodeBase64(text.slice(b + 1));
    if (key === undefined) return "the key is not canonical standard base64";
    if (key.length === 0 || key[0] !== 0x01) return "unsupported signature type (only 0x01, Ed25519)";
    if (key.length !== 33) return "an Ed25519 key holds 32 bytes, this one " + (key.length - 1);
    var nameBytes = utf8Encoder.encode(name);
    var hashed = new Uint8Array(nameBytes.length + 1 + 33);
    hashed.set(nameBytes, 0);
    hashed[nameBytes.length] = 0x0a;
    hashed.set(key, nameBytes.length + 1);
    var digest = new Uint8Array(await sha256(hashed));
    var keyHash = ((digest[0] << 24) | (digest[1] << 16) | (digest[2] << 8) | digest[3]) >>> 0;
    if (keyHash !== parseInt(hash, 16)) return "the key hash " + hash.toLowerCase() + " does not match the name and key (their hash is " + hex8(keyHash) + ")";
    var publicKey = key.slice(1);
    var cryptoKey;
    try {
      cryptoKey = await subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      return "the key cannot be used for Ed25519 here (" + (e && e.message) + ")";
    }
    return {
      name: name,
      keyHash: keyHash,
      keyId: hex8(keyHash),
      id: name + "+" + hex8(keyHash),
      publicKey: publicKey,
      text: name + "+" + hex8(keyHash) + "+" + encodeBase64(key),
      verify: function (message, signature) {
        return signature.length === 64 ? subtle.verify({ name: "Ed25519" }, cryptoKey, signature, message) : Promise.resolve(false);
      }
    };
  }

  /*
   * A signed note read against the trusted keys, its signatures not verified yet: its text, the
   * trusted keys that claim to sign it (each once), and every signature line of a trusted key.
   * Or why it cannot be read: { malformed } (not a signed note), { unverified: signers } (no
   * trusted key signs it: untrusted, not tampered).
   */
  function readNote(note, trusted) {
    var known = Object.create(null);
    for (var t = 0; t < trusted.length; t++) {
      var other = known[trusted[t].id];
      if (other !== undefined && other.text !== trusted[t].text) return { malformed: "two trusted keys are both " + trusted[t].id };
      known[trusted[t].id] = trusted[t];
    }
    if (!isWellFormed(note)) return { malformed: "it is not well-formed text (a lone surrogate)" };
    if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) return { malformed: "it holds a control character" };
    var split = note.lastIndexOf("\n\n");
    if (split < 0) return { malformed: "no blank line before the signatures" };
    var text = note.slice(0, split + 1);
    var block = note.slice(split + 2);
    if (block.length === 0) return { malformed: "no signature line after the blank line" };
    if (block.charCodeAt(block.length - 1) !== 0x0a) return { malformed: "the last signature line does not end in a newline" };
    var lines = block.slice(0, -1).split("\n");
    if (lines.length > 100) return { malformed: "more than 100 signature lines" };
    var signers = [], unknown = [], checks = [];
    for (var i = 0; i < lines.length; i++) {
      var where = "signature line " + (i + 1);
      var line = lines[i];
      if (line.indexOf("\u2014 ") !== 0) return { malformed: where + " does not start with an em dash and a space" };
      var rest = line.slice(2);
      var space = rest.indexOf(" ");
      if (space < 0) return { malformed: where + " has no space between key name and signature" };
      var name = rest.slice(0, space);
      if (!isValidName(name)) return { malformed: where + " names no valid key" };
      var blob = decodeBase64(rest.slice(space + 1));
      if (blob === undefined || blob.length < 5) return { malformed: where + " does not hold a canonical base64 key hash and signature" };
      var id = name + "+" + hex8(((blob[0] << 24) | (blob[1] << 16) | (blob[2] << 8) | blob[3]) >>> 0);
      var v = known[id];
      if (v === undefined) {
        if (unknown.indexOf(id) < 0) unknown.push(id);
        continue;
      }
      /* every line of a trusted key is checked, repeats included */
      checks.push({ verifier: v, signature: blob.slice(4) });
      if (signers.indexOf(id) < 0) signers.push(id);
    }
    if (signers.length === 0) return { unverified: unknown };
    return { text: text, signers: signers, checks: checks };
  }

  /* The first trusted signature of a read note that does not verify (tampering), or undefined. */
  async function badSignature(read) {
    var message = utf8Encoder.encode(read.text);
    for (var i = 0; i < read.checks.length; i++) {
      if (!(await read.checks[i].verifier.verify(message, read.checks[i].signature))) return read.checks[i].verifier;
    }
    return undefined;
  }

  function alteredWords(v) {
    return "the signature of trusted key " + v.id + " does not verify: the note was altered after signing";
  }

  function untrustedWords(signers) {
    return signers.length === 0 ? "not signed at all" : "signed only by keys that are not trusted (" + signers.join(", ") + ")";
  }

  /* A checkpoint body (C2SP tlog-checkpoint), strictly, or a string saying why it is not one. */
  function parseCheckpoint(text) {
    if (text.charCodeAt(text.length - 1) !== 0x0a) return "the body does not end in a newline";
    var lines = text.slice(0, -1).split("\n");
    if (lines.length < 3) return "the body has " + lines.length + " line(s), a checkpoint needs origin, size and root";
    var bad = function (line) { return line.length === 0 || !isWellFormed(line) || /[\u0000-\u0009\u000b-\u001f]/.test(line); };
    if (bad(lines[0])) return "the origin line is unusable";
    if (!/^(0|[1-9][0-9]*)$/.test(lines[1])) return "the tree size is not decimal without leading zeros";
    var size = Number(lines[1]);
    if (!Number.isSafeInteger(size)) return "the tree size is larger than 2^53-1";
    var root = decodeBase64(lines[2]);
    if (root === undefined || root.length !== 32) return "the root hash is not 32 bytes in canonical standard base64";
    var extensions = lines.slice(3);
    for (var i = 0; i < extensions.length; i++) if (bad(extensions[i])) return "extension line " + (i + 1) + " is unusable";
    return { origin: lines[0], size: size, root: root, rootText: lines[2], extensions: extensions };
  }

  /*
   * The Merkle tree of the entries (section 8, RFC 9162), as its frontier: the roots of the
   * perfect subtrees the leaves so far make, largest first.
   */
  function Frontier() {
    this.size = 0;
    this.nodes = []; /* [{ height, hash (32 bytes) }] */
  }
  function nodeHash(left, right) {
    var m = new Uint8Array(65);
    m[0] = 0x01;
    m.set(left, 1);
    m.set(right, 33);
    return sha256(m).then(function (d) { return new Uint8Array(d); });
  }
  function leafHash(data) {
    var m = new Uint8Array(1 + data.length);
    m[0] = 0x00;
    m.set(data, 1);
    return sha256(m).then(function (d) { return new Uint8Array(d); });
  }
  Frontier.prototype.append = async function (leaf) {
    var node = { height: 0, hash: leaf };
    while (this.nodes.length > 0 && this.nodes[this.nodes.length - 1].height === node.height) {
      var left = this.nodes.pop();
      node = { height: node.height + 1, hash: await nodeHash(left.hash, node.hash) };
    }
    this.nodes.push(node);
    this.size++;
  };
  Frontier.prototype.root = async function () {
    if (this.nodes.length === 0) return new Uint8Array(await sha256(new Uint8Array(0)));
    var r = this.nodes[this.nodes.length - 1].hash;
    for (var i = this.nodes.length - 2; i >= 0; i--) r = await nodeHash(this.nodes[i].hash, r);
    return r;
  };

  function hexBytes(hex) {
    var b = new Uint8Array(hex.length >> 1);
    for (var i = 0; i < b.length; i++) b[i] = parseInt(hex.substr(2 * i, 2), 16);
    return b;
  }

  function equalBytes(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  var NEEDLES = [utf8Encoder.encode('checkpoint"'), utf8Encoder.encode('key_rotation"'), utf8Encoder.encode("\\u")];

  function holds(bytes, start, end, needle) {
    outer: for (var i = start; i + needle.length <= end; i++) {
      for (var k = 0; k < needle.length; k++) if (bytes[i + k] !== needle[k]) continue outer;
      return true;
    }
    return false;
  }

  /*
   * Checkpoints (section 9), with trusted Ed25519 verifier keys. Every checkpoint entry is checked
   * where it stands against the tree of the entries before it (origin, size, head, root, payload)
   * and its signer looked up among the trusted keys. An ordinary checkpoint's Ed25519 signature
   * waits until a later checkpoint of the same signers covers it (that later root covers the
   * earlier note, as the library's verifier does by default); the last one waiting is verified at
   * the end, unless the pack's export note covers everything. A rotation's confirming checkpoint
   * and the export note are verified at once.
   */
  var Checkpoints = {
    make: async function (pubkeys) {
      if (pubkeys === undefined || pubkeys === null || pubkeys.length === 0) return undefined;
      var trusted = [];
      for (var i = 0; i < pubkeys.length; i++) {
        var text = pubkeys[i];
        var bad = function (reason) { return new Failure("PublicKeyInvalid", 0, null, "publicKeys[" + i + "]: " + reason); };
        if (typeof text !== "string") throw bad("not a verifier key text");
        if (text.indexOf("PRIVATE+KEY+") === 0) throw bad("is a signer (private) key, not a verifier key");
        text = text.slice(-2) === "\r\n" ? text.slice(0, -2) : text.slice(-1) === "\n" ? text.slice(0, -1) : text;
        var v = await parseVerifierKey(text);
        if (typeof v === "string") throw bad(v);
        for (var t = 0; t < trusted.length; t++) if (trusted[t].id === v.id && trusted[t].text !== v.text) throw bad("names " + v.id + ", as another key given does with another key");
        trusted.push(v);
      }
      return new CheckpointState(trusted);
    }
  };

  function CheckpointState(trusted) {
    this.tree = new Frontier(); /* undefined when the pack starts mid-chain */
    this.origin = undefined; /* the log's checkpoint origin */
    this.key = undefined; /* the log's current checkpoint key */
    this.named = false; /* audit_open names a checkpoint key */
    this.trusted = trusted; /* the keys given, and rotated-in keys once confirmed */
    this.rotation = undefined; /* a key rotation no checkpoint under the old key has covered yet */
    this.count = 0; /* checkpoint entries seen */
    this.covered = 0; /* entries [0, covered) are covered by a verified checkpoint */
    this.unsigned = undefined; /* the checkpoint whose signature waits: { line, seq, note } */
    this.keys = Object.create(null); /* key texts named in the log, parsed once */
    this.exportVerified = false;
  }

  CheckpointState.prototype.hasTree = function () {
    return this.tree !== undefined;
  };

  CheckpointState.prototype.keyNamed = async function (text) {
    if (typeof text !== "string") return "is not a verifier key text";
    if (this.keys[text] === undefined) this.keys[text] = await parseVerifierKey(text);
    var v = this.keys[text];
    return typeof v === "string" ? "is not a verifier key (" + v + ")" : v;
  };

  /* An accepted entry's part: what it says (the first entry, a checkpoint, a key rotation), then its leaf. */
  CheckpointState.prototype.row = async function (r, bytes, it, line, seq, computed, headBefore, first) {
    if (first && seq !== 0) this.tree = undefined;
    var row;
    if (first || holds(bytes, it.start, it.end, NEEDLES[0]) || holds(bytes, it.start, it.end, NEEDLES[1]) || holds(bytes, it.start, it.end, NEEDLES[2])) {
      try {
        row = JSON.parse(utf8Lax.decode(bytes.subarray(it.start, it.end)).replace(/^\ufeff/, ""));
      } catch (e) {
        row = undefined;
      }
      if (row !== undefined && !first && row.type !== "checkpoint" && row.type !== "key_rotation") row = undefined;
    }
    if (row !== undefined && row !== null && typeof row.payload === "object" && row.payload !== null) {
      var problem = await this.entry(row.type, row.payload, line, seq, headBefore);
      if (problem !== undefined) return problem;
    }
    if (this.tree !== undefined) await this.tree.append(await leafHash(hexBytes(computed)));
    return undefined;
  };

  CheckpointState.prototype.settle = async function (waiting) {
    if (waiting === undefined) return undefined;
    var bad = await badSignature(waiting.note);
    return bad === undefined ? undefined : new Failure("CheckpointInvalid", waiting.line, waiting.seq, "the checkpoint's note: " + alteredWords(bad));
  };

  CheckpointState.prototype.settleWaiting = function () {
    return this.settle(this.unsigned);
  };

  CheckpointState.prototype.notConfirmed = function (line, seq, signers) {
    var f = new Failure("CheckpointUntrusted", line, seq, "the checkpoint is signed by " + this.rotation.key.id + ", the key the log rotated to at seq " + this.rotation.seq +
      ", but no checkpoint under " + (this.key === undefined ? "the previous key" : this.key.id) + " covers that rotation: rotation not confirmed");
    f.signers = signers;
    return f;
  };

  /* What an audit_open, a checkpoint or a key_rotation entry says, checked. */
  CheckpointState.prototype.entry = async function (type, payload, line, seq, headBefore) {
    var invalid = function (reason) { return new Failure("CheckpointInvalid", line, seq, reason); };
    if (type === "audit_open") {
      var named = payload.checkpoints;
      if (named === undefined || seq !== 0) return undefined;
      var c = named === null ? {} : named;
      if (c.alg !== "ed25519") return invalid("audit_open.checkpoints.alg is " + JSON.stringify(c.alg === undefined ? null : c.alg) + ', not "ed25519"');
      var key = await this.keyNamed(c.key);
      if (typeof key === "string") return invalid("audit_open.checkpoints.key " + key);
      if (typeof c.origin !== "string") return invalid("audit_open.checkpoints.origin is not a string");
      this.key = key;
      this.origin = c.origin;
      this.named = true;
      return undefined;
    }
    if (type === "key_rotation") {
      if (payload.alg !== "ed25519") return invalid("key_rotation.alg is " + JSON.stringify(payload.alg === undefined ? null : payload.alg) + ', not "ed25519"');
      var next = await this.keyNamed(payload.key);
      if (typeof next === "string") return invalid("key_rotation.key " + next);
      if (payload.previous === null) {
        /* a log that had no checkpoint key takes one: only the keys given can vouch for it */
        if (this.key !== undefined) return invalid("key_rotation names no previous key, but the log's checkpoint key is " + this.key.id);
        var bad = await this.settle(this.unsigned);
        if (bad !== undefined) return bad;
        this.key = next;
        this.unsigned = undefined;
        return undefined;
      }
      var prev = await this.keyNamed(payload.previous);
      if (typeof prev === "string") return invalid("key_rotation.previous " + prev);
      if (this.key === undefined || prev.text !== this.key.text) {
        return invalid("key_rotation's previous key is " + prev.id + ", but the log's checkpoint key is " + (this.key === undefined ? "none" : this.key.id));
      }
      this.rotation = { seq: seq, key: next };
      return undefined;
    }
    if (type !== "checkpoint") return undefined;
    var count = this.count + 1;
    if (this.tree === undefined) {
      this.count = count;
      return undefined;
    }
    var note = payload.note;
    if (typeof note !== "string") return invalid("checkpoint.note is not a signed note text");
    var read = readNote(note, this.trusted);
    if (read.malformed !== undefined) return invalid("the checkpoint's note: not a well-formed signed note (" + read.malformed + ")");
    var untrusted = function (signers, reason) {
      var f = new Failure("CheckpointUntrusted", line, seq, reason);
      f.signers = signers;
      return f;
    };
    if (read.unverified !== undefined) {
      if (this.rotation !== undefined && read.unverified.indexOf(this.rotation.key.id) >= 0) return this.notConfirmed(line, seq, read.unverified);
      return untrusted(read.unverified, "the checkpoint is " + untrustedWords(read.unverified));
    }
    if (this.key !== undefined && read.signers.indexOf(this.key.id) < 0) {
      if (this.rotation !== undefined && read.signers.indexOf(this.rotation.key.id) >= 0) return this.notConfirmed(line, seq, read.signers);
      return untrusted(read.signers, "the checkpoint is signed by " + read.signers.join(", ") + ", not by the log's checkpoint key " + this.key.id);
    }
    /* a rotation's confirming checkpoint is the only signature that vouches for the new key: verified now */
    var eager = this.rotation !== undefined;
    if (eager) {
      var altered = await badSignature(read);
      if (altered !== undefined) return invalid("the checkpoint's note: " + alteredWords(altered));
    }
    var checked = await this.treeCheck(payload, read.text, seq, headBefore);
    if (typeof checked === "string") {
      /* altered after signing (anyone), or signed so (the key's holder)? */
      var signedBadly = eager ? undefined : await badSignature(read);
      return invalid(signedBadly !== undefined ? "the checkpoint's note: " + alteredWords(signedBadly) : checked);
    }
    /* the waiting checkpoint is covered by this one when this one's signers include its signers */
    var waiting = this.unsigned;
    if (waiting !== undefined && !waiting.note.signers.every(function (id) { return read.signers.indexOf(id) >= 0; })) {
      var unsettled = await this.settle(waiting);
      if (unsettled !== undefined) return unsettled;
    }
    this.origin = checked.origin;
    this.count = count;
    this.covered = seq + 1;
    this.unsigned = eager ? undefined : { line: line, seq: seq, note: read };
    if (this.rotation !== undefined) {
      /* a checkpoint under the current key covers the rotation: the new key is the log's now */
      var r = this.rotation;
      this.key = r.key;
      this.rotation = undefined;
      if (!this.trusted.some(function (t) { return t.text === r.key.text; })) this.trusted = this.trusted.concat([r.key]);
    }
    return undefined;
  };

  /* A checkpoint against the tree and chain at its position: origin, size, head, root, payload. */
  CheckpointState.prototype.treeCheck = async function (payload, text, seq, headBefore) {
    var root = await this.tree.root();
    var rootText = encodeBase64(root);
    var body = parseCheckpoint(text);
    if (typeof body === "string") return "the checkpoint's note: " + body;
    var origin = this.origin !== undefined ? this.origin : body.origin;
    if (body.origin !== origin) return "the checkpoint's origin is " + JSON.stringify(body.origin) + ", the log's is " + JSON.stringify(origin);
    if (body.size !== seq || body.size !== this.tree.size) return "the checkpoint's tree size is " + body.size + ", but it stands at seq " + seq + ": it must cover the " + seq + " entries before it";
    if (body.extensions.length !== 1 || body.extensions[0].indexOf("head ") !== 0) return "the checkpoint's note must hold one extension line, the chain head";
    var head = body.extensions[0].slice(5);
    if (head !== headBefore) return "the checkpoint's head is " + head.slice(0, 12) + "…, but the entry before it has hash " + headBefore.slice(0, 12) + "…";
    if (!equalBytes(root, body.root)) return "the checkpoint's root is not the root of the tree of the " + seq + " entries before it";
    if (payload.size !== body.size || payload.root !== rootText || payload.head !== head) return "the checkpoint's payload (size, root, head) differs from its note";
    return { origin: origin, rootText: rootText };
  };

  /*
   * The pack's _meta.checkpoint (the export note): signed by the log's key under the trusted keys,
   * covering exactly this pack (its entries, head, root, and the seal digest of its header and
   * rows' controls). { reason } when it does not.
   */
  CheckpointState.prototype.exportNote = async function (s, header, rowsHash) {
    var note = header.checkpoint;
    if (typeof note !== "string") return { reason: "_meta.checkpoint is not a signed note text" };
    var read = readNote(note, this.trusted);
    if (read.malformed !== undefined) return { reason: "_meta.checkpoint is not a well-formed signed note (" + read.malformed + ")" };
    if (read.unverified !== undefined) return { reason: "_meta.checkpoint is " + untrustedWords(read.unverified) };
    var altered = await badSignature(read);
    if (altered !== undefined) return { reason: "_meta.checkpoint is " + alteredWords(altered) };
    if (this.key !== undefined && read.signers.indexOf(this.key.id) < 0) return { reason: "_meta.checkpoint is signed by " + read.signers.join(", ") + ", not by the log's checkpoint key " + this.key.id };
    var body = parseCheckpoint(read.text);
    if (typeof body === "string") return { reason: "_meta.checkpoint: " + body };
    if (this.origin !== undefined && body.origin !== this.origin) return { reason: "_meta.checkpoint's origin is " + JSON.stringify(body.origin) + ", the log's is " + JSON.stringify(this.origin) };
    var pack = body.extensions.length === 2 && body.extensions[1].indexOf("pack ") === 0 ? body.extensions[1].slice(5) : undefined;
    if (pack === undefined || body.extensions[0].indexOf("head ") !== 0) return { reason: "_meta.checkpoint is not an export note (a head line, then a pack line)" };
    if (body.size !== s.entries) return { reason: "_meta.checkpoint covers " + body.size + " entries, the pack holds " + s.entries };
    if (body.extensions[0].slice(5) !== s.head) return { reason: "_meta.checkpoint's head is not the pack's last entry" };
    if (!equalBytes(await this.tree.root(), body.root)) return { reason: "_meta.checkpoint's root is not the root of the pack's entries" };
    if (pack !== (await sealDigest(header.canonicalMeta, rowsHash))) return { reason: "_meta.checkpoint's pack line does not match the header or the rows' controls" };
    return {};
  };

  globalThis.acttraceVerify = function acttraceVerify(text, options) {
    if (!subtle) return Promise.reject(new Error("acttraceVerify: WebCrypto (crypto.subtle) is not available here"));
    return verify(text, options);
  };
})();
`
