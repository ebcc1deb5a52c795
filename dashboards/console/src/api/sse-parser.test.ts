import { describe, expect, it } from 'vitest'
import { createSseParser, type SseMessage } from './sse-parser.ts'

function parse(chunks: string[]) {
  const messages: SseMessage[] = []
  const retries: number[] = []
  const feed = createSseParser(
    (m) => messages.push(m),
    (ms) => retries.push(ms),
  )
  for (const chunk of chunks) feed(chunk)
  return { messages, retries }
}

describe('the event-stream parser', () => {
  it('dispatches on a blank line, with event, id and multi-line data', () => {
    const { messages } = parse([
      ': a comment\n',
      'event: reading\nid: 7\ndata: {"a":1}\n\n',
      'data: one\ndata: two\n\n',
    ])
    expect(messages).toEqual([
      { event: 'reading', data: '{"a":1}', id: '7' },
      { event: 'message', data: 'one\ntwo', id: '7' },
    ])
  })

  it('joins lines split across chunks, whatever the line ending', () => {
    // A \r at the end of a chunk may be half of \r\n: the blank line after y waits for more.
    const { messages } = parse(['da', 'ta: x\r', '\n\r', '\ndata:y\r\r'])
    expect(messages.map((m) => m.data)).toEqual(['x'])
    const later = parse(['da', 'ta: x\r', '\n\r', '\ndata:y\r\r', ': ping\n'])
    expect(later.messages.map((m) => m.data)).toEqual(['x', 'y'])
  })

  it('reports retry and ignores events without data', () => {
    const { messages, retries } = parse(['retry: 2500\n\n', 'event: ping\n\n', 'retry: soon\n\n'])
    expect(messages).toEqual([])
    expect(retries).toEqual([2500])
  })
})
