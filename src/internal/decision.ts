/**
 * The current decision of a fiber, shared by `AuditLog` (which sets it) and `Capture` (which
 * reads it for calls captured outside Effect).
 */
import * as FiberRef from "effect/FiberRef"

/** The innermost open decision of the current fiber (`null` outside any). */
export const currentDecision: FiberRef.FiberRef<string | null> = FiberRef.unsafeMake<string | null>(null)

/**
 * One open decision of a fiber: its id, the log holding it (the log's subscription to its hub,
 * opaque here), and the decision it was opened in. With several logs open, a fiber's decisions
 * can belong to different logs; the frames say which is whose.
 */
export interface Frame {
  readonly id: string
  readonly log: object
  readonly outer: Frame | null
}

/** The innermost open decision of the current fiber with its log (`null` outside any). */
export const currentFrame: FiberRef.FiberRef<Frame | null> = FiberRef.unsafeMake<Frame | null>(null)

/**
 * The decision an entry of `log` is tagged with: the innermost decision of that log among the
 * fiber's open ones (a decision of another log, opened inside it, is that log's business). When
 * `currentDecision` names something else than the innermost frame, it was set by other means
 * than a decision (the interceptors of a call run in the call's decision; an app's own
 * `Effect.locally`), and it is what it says.
 */
export const decisionOf = (log: object, current: string | null, frame: Frame | null): string | null => {
  if (frame === null || frame.id !== current) return current
  for (let f: Frame | null = frame; f !== null; f = f.outer) if (f.log === log) return f.id
  return null
}

/** The log of the call's decision `current`, when the fiber's innermost frame is that decision. */
export const logOf = (current: string | null, frame: Frame | null): object | null =>
  frame !== null && frame.id === current ? frame.log : null
