// AccessScope: a grant reaches its node and everything beneath it, never upwards or sideways.
import { describe, expect, it } from 'vitest'
import type { Role } from '../store/database-schema.ts'
import { AccessScope, type Grant } from './access-scope.ts'
import type { Permission } from './roles.ts'

// group G → company C1 (estates E1a, E1b) and company C2 (estate E2)
const tree = [
  { id: 'G', kind: 'group', parentId: null },
  { id: 'C1', kind: 'company', parentId: 'G' },
  { id: 'C2', kind: 'company', parentId: 'G' },
  { id: 'E1a', kind: 'estate', parentId: 'C1' },
  { id: 'E1b', kind: 'estate', parentId: 'C1' },
  { id: 'E2', kind: 'estate', parentId: 'C2' },
] as const
const allNodes = tree.map((n) => n.id)
const writes: Permission[] = [
  'org.write',
  'users.manage',
  'property.write',
  'customers.write',
  'devices.write',
  'meters.write',
]

const scopeOf = (...grants: [Role, string | null][]) =>
  new AccessScope(
    'user-1',
    'walker',
    grants.map(([role, nodeId]): Grant => ({ role, nodeId })),
    tree,
  )

describe('AccessScope', () => {
  it('keeps who the user is and their grants', () => {
    const scope = scopeOf(['viewer', 'E1a'])
    expect(scope.userId).toBe('user-1')
    expect(scope.username).toBe('walker')
    expect(scope.grants).toEqual([{ role: 'viewer', nodeId: 'E1a' }])
  })

  it('lets a grant on a company cover that company and its estates only', () => {
    const scope = scopeOf(['admin', 'C1'])
    for (const id of ['C1', 'E1a', 'E1b']) {
      expect(scope.canSee(id), id).toBe(true)
      expect(scope.can('devices.write', id), id).toBe(true)
      expect(scope.can('users.manage', id), id).toBe(true)
    }
    for (const id of ['G', 'C2', 'E2']) {
      expect(scope.canSee(id), id).toBe(false)
      expect(scope.can('read', id), id).toBe(false)
    }
    expect(scope.estates().sort()).toEqual(['E1a', 'E1b'])
    expect(scope.visibleNodes().sort()).toEqual(['C1', 'E1a', 'E1b'])
    expect(scope.isGlobal).toBe(false)
    expect(scope.globally('users.manage')).toBe(false)
  })

  it('lets a global grant (nodeId null) cover the whole tree', () => {
    const scope = scopeOf(['engineering', null])
    expect(scope.isGlobal).toBe(true)
    expect(scope.visibleNodes().sort()).toEqual([...allNodes].sort())
    for (const id of allNodes) expect(scope.can('meters.write', id), id).toBe(true)
    expect(scope.estates().sort()).toEqual(['E1a', 'E1b', 'E2'])
    expect(scope.globally('devices.write')).toBe(true)
    expect(scope.globally('org.write')).toBe(false)
    expect(scope.can('org.write', 'E1a')).toBe(false)
  })

  it('gives a viewer read and nothing else', () => {
    const scope = scopeOf(['viewer', null])
    for (const id of allNodes) {
      expect(scope.can('read', id), id).toBe(true)
      for (const permission of writes) expect(scope.can(permission, id), `${permission} ${id}`).toBe(false)
    }
    for (const permission of writes) expect(scope.estates(permission), permission).toEqual([])
    expect(scope.globally('read')).toBe(true)
    expect(scope.globally('org.write')).toBe(false)
  })

  it('unions the permissions of several grants, node by node', () => {
    const scope = scopeOf(['finance', 'E1a'], ['engineering', 'C1'])
    expect(
      ['read', 'customers.write', 'devices.write', 'meters.write'].every((p) =>
        scope.can(p as Permission, 'E1a'),
      ),
    ).toBe(true)
    expect(scope.can('property.write', 'E1a')).toBe(false)
    // E1b is reached only by the engineering grant on its company.
    expect(scope.can('devices.write', 'E1b')).toBe(true)
    expect(scope.can('customers.write', 'E1b')).toBe(false)
    expect(scope.can('customers.write', 'C1')).toBe(false)
    expect(scope.canSee('E2')).toBe(false)
  })

  it('lists in estates(permission) only the estates where that permission is held, never other kinds', () => {
    const scope = scopeOf(['engineering', 'E1a'], ['viewer', 'C2'], ['leasing', 'E1b'])
    expect(scope.estates('devices.write')).toEqual(['E1a'])
    expect(scope.estates('property.write')).toEqual(['E1b'])
    expect(scope.estates('customers.write')).toEqual(['E1b'])
    expect(scope.estates('read').sort()).toEqual(['E1a', 'E1b', 'E2'])
    expect(scope.estates().sort()).toEqual(['E1a', 'E1b', 'E2'])
    expect(scope.estates('org.write')).toEqual([])
    // The company C2 is visible but is not an estate.
    expect(scope.canSee('C2')).toBe(true)
    expect(scope.estates()).not.toContain('C2')
  })

  it('does not let a grant reach upwards: the ancestors of a granted node stay invisible', () => {
    const scope = scopeOf(['admin', 'E1a'])
    expect(scope.canSee('E1a')).toBe(true)
    expect(scope.canSee('C1')).toBe(false)
    expect(scope.canSee('G')).toBe(false)
    expect(scope.canSee('E1b')).toBe(false)
    expect(scope.can('org.write', 'C1')).toBe(false)
    expect(scope.visibleNodes()).toEqual(['E1a'])
  })

  it('grants nothing for a node not in the tree, nor for no grants at all', () => {
    expect(scopeOf(['admin', 'gone']).visibleNodes()).toEqual([])
    const none = scopeOf()
    expect(none.visibleNodes()).toEqual([])
    expect(none.estates()).toEqual([])
    expect(none.isGlobal).toBe(false)
    expect(none.canSee('G')).toBe(false)
  })
})
