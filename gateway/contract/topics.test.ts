import { describe, expect, it } from 'vitest'
import {
  ackTopic,
  batchTopic,
  commandTopic,
  HUB_SHARED_BATCH_FILTER,
  parseTopic,
  sharedBatchFilter,
  statusTopic,
} from './topics.ts'

describe('topics', () => {
  it('builds the four topics of a gateway', () => {
    expect(batchTopic('gw-a.01')).toBe('estatehub/v1/gw/gw-a.01/batch')
    expect(ackTopic('gw1')).toBe('estatehub/v1/gw/gw1/ack')
    expect(statusTopic('gw1')).toBe('estatehub/v1/gw/gw1/status')
    expect(commandTopic('gw1')).toBe('estatehub/v1/gw/gw1/command')
  })

  it('refuses ids that would break the topic tree', () => {
    for (const bad of ['', 'a/b', 'a+b', '#', '$sys', '-lead', 'x'.repeat(65)])
      expect(() => batchTopic(bad), bad).toThrow(RangeError)
  })

  it('parses exactly its own topics', () => {
    expect(parseTopic('estatehub/v1/gw/gw1/batch')).toEqual({ gatewayId: 'gw1', kind: 'batch' })
    expect(parseTopic('estatehub/v1/gw/gw1/status')).toEqual({ gatewayId: 'gw1', kind: 'status' })
    expect(parseTopic('estatehub/v2/gw/gw1/batch')).toBeUndefined()
    expect(parseTopic('estatehub/v1/gw/gw1/batch/x')).toBeUndefined()
    expect(parseTopic('estatehub/v1/gw/gw1/other')).toBeUndefined()
    expect(parseTopic('estatehub/v1/gw/+/batch')).toBeUndefined()
  })

  it('gives hubs a shared-subscription filter', () => {
    expect(HUB_SHARED_BATCH_FILTER).toBe('$share/estatehub/estatehub/v1/gw/+/batch')
    expect(sharedBatchFilter('t1', 'gw1')).toBe('$share/t1/estatehub/v1/gw/gw1/batch')
    expect(() => sharedBatchFilter('a/b')).toThrow(RangeError)
  })
})
