/**
 * Set up before every test file (vitest.config.ts `setupFiles`): the property tests (`it.prop`,
 * `fc.assert`) draw from one seed instead of a fresh random one per run, so a run can be repeated.
 * The seed is fixed in the normal suite; ACTTRACE_SEED=n chooses another (to replay a run, or to
 * look further); in the longer forms (ACTTRACE_LONG=1, FUZZ_LONG=1) it is fresh and printed.
 * fast-check names the seed (and the
 * path to the failing case) in every failure it reports.
 */
import * as fc from "effect/FastCheck"

const given = process.env["ACTTRACE_SEED"] || process.env["FUZZ_SEED"]
const long = process.env["FUZZ_LONG"] === "1" || process.env["ACTTRACE_LONG"] === "1"
const seed = given ? Number(given) >>> 0 : long ? (Date.now() ^ (process.pid << 8)) >>> 0 : 0xac7
if (long || given) console.log(`property tests: seed ${seed} (ACTTRACE_SEED=${seed} replays them)`)
fc.configureGlobal({ ...fc.readConfigureGlobal(), seed })
