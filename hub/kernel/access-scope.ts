import type { Kysely } from 'kysely'
import type { Database, OrgNodeKind, Role } from '../store/database-schema.ts'
import { type Permission, permissionsOf } from './roles.ts'

interface TreeNode {
  readonly id: string
  readonly kind: OrgNodeKind
  readonly parentId: string | null
}

export interface Grant {
  readonly role: Role
  /** null: granted on the whole organisation tree. */
  readonly nodeId: string | null
}

/**
 * What one user may see and change, worked out once per request from their grants and the
 * organisation tree. Every route asks this object; nothing else decides access.
 */
export class AccessScope {
  readonly userId: string
  readonly username: string
  readonly grants: readonly Grant[]
  readonly #permissionsByNode = new Map<string, Set<Permission>>()
  readonly #kinds = new Map<string, OrgNodeKind>()

  constructor(userId: string, username: string, grants: readonly Grant[], tree: readonly TreeNode[]) {
    this.userId = userId
    this.username = username
    this.grants = grants
    const children = new Map<string | null, TreeNode[]>()
    for (const node of tree) {
      this.#kinds.set(node.id, node.kind)
      const siblings = children.get(node.parentId) ?? []
      siblings.push(node)
      children.set(node.parentId, siblings)
    }
    for (const grant of grants) {
      const permissions = permissionsOf(grant.role)
      // A grant covers its node and everything beneath; a null node is the whole tree.
      const stack =
        grant.nodeId === null ? [...(children.get(null) ?? [])] : tree.filter((n) => n.id === grant.nodeId)
      while (stack.length > 0) {
        const node = stack.pop()!
        const held = this.#permissionsByNode.get(node.id) ?? new Set<Permission>()
        for (const p of permissions) held.add(p)
        this.#permissionsByNode.set(node.id, held)
        stack.push(...(children.get(node.id) ?? []))
      }
    }
  }

  /** Granted on the whole tree (may create groups, see users without grants). */
  get isGlobal(): boolean {
    return this.grants.some((g) => g.nodeId === null)
  }

  globally(permission: Permission): boolean {
    return this.grants.some((g) => g.nodeId === null && permissionsOf(g.role).includes(permission))
  }

  /** May the user do `permission` on this node (an estate, company or group)? */
  can(permission: Permission, nodeId: string): boolean {
    return this.#permissionsByNode.get(nodeId)?.has(permission) ?? false
  }

  canSee(nodeId: string): boolean {
    return this.#permissionsByNode.has(nodeId)
  }

  /** Estates on which the user holds `permission`; `read` gives every visible estate. */
  estates(permission: Permission = 'read'): string[] {
    const result: string[] = []
    for (const [id, held] of this.#permissionsByNode) {
      if (this.#kinds.get(id) === 'estate' && held.has(permission)) result.push(id)
    }
    return result
  }

  /** Every node (any kind) the user may see. */
  visibleNodes(): string[] {
    return [...this.#permissionsByNode.keys()]
  }
}

export async function loadAccessScope(
  db: Kysely<Database>,
  userId: string,
  username: string,
): Promise<AccessScope> {
  const [grants, tree] = await Promise.all([
    db.selectFrom('roleGrants').select(['role', 'nodeId']).where('userId', '=', userId).execute(),
    db.selectFrom('orgNodes').select(['id', 'kind', 'parentId']).execute(),
  ])
  return new AccessScope(userId, username, grants, tree)
}
