/** One server-sent event. `event` is "message" when the stream names none. */
export interface SseMessage {
  readonly event: string
  readonly data: string
  readonly id: string | undefined
}

/**
 * Parses a text/event-stream as its chunks arrive (the WHATWG rules: `field: value` lines,
 * `data` lines joined by newlines, a blank line dispatches, `:` starts a comment). Returns a
 * function to feed decoded text to; `retry` reports the server's reconnection delay.
 */
export function createSseParser(onMessage: (message: SseMessage) => void, onRetry?: (ms: number) => void) {
  let buffer = ''
  let event = ''
  let data: string[] = []
  let lastId: string | undefined
  const line = (text: string) => {
    if (text === '') {
      if (data.length > 0) onMessage({ event: event || 'message', data: data.join('\n'), id: lastId })
      event = ''
      data = []
      return
    }
    if (text.startsWith(':')) return
    const colon = text.indexOf(':')
    const field = colon === -1 ? text : text.slice(0, colon)
    let value = colon === -1 ? '' : text.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'event') event = value
    else if (field === 'data') data.push(value)
    else if (field === 'id' && !value.includes('\0')) lastId = value
    else if (field === 'retry' && /^\d+$/.test(value)) onRetry?.(Number(value))
  }
  return (chunk: string) => {
    buffer += chunk
    for (;;) {
      const match = /\r\n|\r|\n/.exec(buffer)
      // A lone \r at the end may be the first half of \r\n: wait for the next chunk.
      if (!match || (match[0] === '\r' && match.index === buffer.length - 1)) return
      line(buffer.slice(0, match.index))
      buffer = buffer.slice(match.index + match[0].length)
    }
  }
}
