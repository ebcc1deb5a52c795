import { Type } from 'typebox'
import { describe, expect, it } from 'vitest'
import { AccessError } from './access-errors.ts'
import { parseAccessEvents } from './access-event-parse.ts'
import { parseEventTime } from './access-event-schema.ts'
import { checkControllers, createTokenMatcher } from './controller-auth.ts'
import { RecentEventIds } from './recent-event-ids.ts'
import { schemaIssues } from './schema-issues.ts'

// The receiver's pure parts; test/access.int.test.ts drives the whole over HTTP.

describe('createTokenMatcher', () => {
  const controllers = [
    { id: 'a', token: 'aaaaaaaaaaaaaaaa', device: 'da' },
    { id: 'b', token: 'bbbbbbbbbbbbbbbb', device: 'db' },
  ]
  const match = createTokenMatcher(controllers)
  it('finds the controller of a bearer token, case-insensitive scheme', () => {
    expect(match('Bearer bbbbbbbbbbbbbbbb')?.id).toBe('b')
    expect(match('bearer aaaaaaaaaaaaaaaa')?.id).toBe('a')
  })
  it('finds nothing for a prefix, a longer token, another scheme or no header', () => {
    for (const h of [
      'Bearer aaaaaaaaaaaaaaa',
      'Bearer aaaaaaaaaaaaaaaaa',
      'Basic aaaaaaaaaaaaaaaa',
      'Bearer ',
      undefined,
    ]) {
      expect(match(h)).toBeUndefined()
    }
  })
  it('lists config problems by key', () => {
    expect(checkControllers([{ id: 'bad id', token: 'x', device: 'd' }])).toEqual([
      'controllers.0.id: must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$',
      'controllers.0.token: must be at least 16 characters',
    ])
  })
})

describe('RecentEventIds', () => {
  it('forgets the oldest id past its window, per controller', () => {
    const ids = new RecentEventIds(2)
    ids.add('a', '1')
    ids.add('a', '2')
    ids.add('b', '1')
    ids.add('a', '3')
    expect([ids.has('a', '1'), ids.has('a', '2'), ids.has('a', '3'), ids.has('b', '1')]).toEqual([
      false,
      true,
      true,
      true,
    ])
    ids.delete('a', '3')
    expect(ids.has('a', '3')).toBe(false)
  })
})

describe('parseAccessEvents', () => {
  const now = Date.UTC(2025, 5, 1)
  const ok = {
    controllerId: 'c',
    eventId: 'e1',
    door: '东门',
    type: 'granted',
    ts: '2025-06-01T08:00:00+08:00',
  }

  it('takes one event or a batch and parses ts with its offset', () => {
    expect(parseAccessEvents(ok, now)).toEqual([{ event: ok, tsMs: Date.UTC(2025, 5, 1, 0), field: 'body' }])
    expect(parseAccessEvents({ events: [ok, ok] }, now).map((p) => p.field)).toEqual([
      'body.events.0',
      'body.events.1',
    ])
  })

  it('names every bad field even past TypeBox’s default of 8 errors', () => {
    const bad = {
      a: 1,
      b: 2,
      c: 3,
      d: 4,
      e: 5,
      door: '',
      type: 'x',
      ts: 'y',
      credential: { kind: 'z', ref: '' },
    }
    try {
      parseAccessEvents(bad, now)
      expect.unreachable()
    } catch (e) {
      expect(e).toBeInstanceOf(AccessError)
      expect((e as AccessError).details.map((d) => d.field).sort()).toEqual(
        [
          'a',
          'b',
          'c',
          'd',
          'e',
          'controllerId',
          'eventId',
          'door',
          'type',
          'ts',
          'credential.kind',
          'credential.ref',
        ]
          .map((f) => `body.${f}`)
          .sort(),
      )
    }
  })

  it('rejects impossible calendar dates that Date.parse would roll over', () => {
    expect(parseEventTime('2025-02-29T00:00:00Z')).toBeNaN()
    expect(parseEventTime('2024-02-29T23:59:59Z')).toBe(Date.UTC(2024, 1, 29, 23, 59, 59))
  })
})

describe('schemaIssues', () => {
  it('says a union failure as one line per field', () => {
    const s = Type.Object({ x: Type.Union([Type.Number(), Type.String({ pattern: '^\\d+$' })]) })
    expect(schemaIssues(s, { x: 'a' })).toEqual([
      { path: ['x'], message: 'must be number or must match ^\\d+$' },
    ])
  })
})
