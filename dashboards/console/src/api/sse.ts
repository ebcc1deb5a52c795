import { ref } from 'vue'
import { ApiError, authHeaders, type Query, urlFor } from './client.ts'
import type { PathOf } from './hub.ts'
import { createSseParser, type SseMessage } from './sse-parser.ts'

export type { SseMessage }

export interface EventStreamOptions {
  readonly query?: Query
  readonly onMessage: (message: SseMessage) => void
  /** Each time the stream is (re)connected. */
  readonly onOpen?: () => void
  /** Each failure; the stream retries by itself unless the answer was 401, 403 or 404. */
  readonly onError?: (error: unknown) => void
  /** The session ended (401): the default goes back to the login page like the API client. */
  readonly onUnauthenticated?: () => void
  readonly minDelayMs?: number
  readonly maxDelayMs?: number
}

export interface EventStream {
  /** True while the stream is open. */
  readonly connected: { readonly value: boolean }
  close(): void
}

let unauthenticated: (() => void) | undefined
export function setStreamUnauthenticatedHandler(handler: () => void) {
  unauthenticated = handler
}

/**
 * Reads an event stream of the hub through fetch, so the bearer token goes in the header
 * (EventSource cannot send one). Reconnects with doubling back-off (1 s … 30 s, reset after
 * a good connection), sending Last-Event-ID. Call close() when the page unmounts.
 */
export function openEventStream(path: PathOf<'get'>, options: EventStreamOptions): EventStream {
  const connected = ref(false)
  const controller = new AbortController()
  const min = options.minDelayMs ?? 1000
  const max = options.maxDelayMs ?? 30_000
  let delay = min
  let lastId: string | undefined

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms)
      controller.signal.addEventListener('abort', () => {
        clearTimeout(timer)
        resolve()
      })
    })

  const run = async () => {
    while (!controller.signal.aborted) {
      try {
        const response = await fetch(urlFor(path, options.query), {
          headers: {
            accept: 'text/event-stream',
            ...authHeaders(),
            ...(lastId === undefined ? {} : { 'last-event-id': lastId }),
          },
          signal: controller.signal,
          cache: 'no-store',
        })
        if (!response.ok || !response.body) {
          let message = `HTTP ${response.status}`
          let code = `HTTP_${response.status}`
          try {
            const body = (await response.json()) as { error?: string; message?: string }
            message = body.message ?? message
            code = body.error ?? code
          } catch {
            // not JSON
          }
          const error = new ApiError(response.status, code, message)
          if (response.status === 401) {
            ;(options.onUnauthenticated ?? unauthenticated)?.()
            options.onError?.(error)
            return
          }
          // A stream that does not exist or is not ours does not start to by retrying.
          if (response.status === 403 || response.status === 404) {
            options.onError?.(error)
            return
          }
          throw error
        }
        connected.value = true
        delay = min
        options.onOpen?.()
        const feed = createSseParser(
          (message) => {
            if (message.id !== undefined) lastId = message.id
            options.onMessage(message)
          },
          (ms) => {
            delay = Math.min(Math.max(ms, min), max)
          },
        )
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
        for (;;) {
          const { value, done } = await reader.read()
          if (done) break
          feed(value)
        }
      } catch (error) {
        if (controller.signal.aborted) return
        options.onError?.(error)
      } finally {
        connected.value = false
      }
      if (controller.signal.aborted) return
      await wait(delay)
      delay = Math.min(delay * 2, max)
    }
  }
  void run()
  return {
    connected,
    close() {
      controller.abort()
      connected.value = false
    },
  }
}
