/**
 * Roles and permissions, each list defined once: the types, the role_grants CHECK
 * (hub/store/vocabulary-checks.ts), the users API's schemas, the console's role select and the
 * catalogues' keys derive from these arrays. Imports nothing: the console imports this file.
 */

export const roles = ['admin', 'finance', 'service', 'engineering', 'leasing', 'viewer'] as const
export type Role = (typeof roles)[number]

/**
 * What a role may change. Reading is granted by any role; a permission applies to the
 * estates under the node the role was granted on.
 */
export const permissions = [
  'read',
  'org.write',
  'users.manage',
  'property.write',
  'customers.write',
  'devices.write',
  'meters.write',
  /** Run meter reads, override a reading with a reason, estimate a missing one. */
  'meterReads.review',
  /** Approve meter reads for billing. */
  'meterReads.approve',
  /** Fee items, standards and their assignments. */
  'billing.configure',
  /** Preview and approve bill runs; request adjustments and late-fee waivers. */
  'billing.run',
  /** Take payments and deposits at the desk; request refunds and voids. */
  'payments.take',
  /** Approve (or reject) refunds, voids, adjustments and waivers someone else requested. */
  'payments.approve',
  /** Register, dispatch, assign and move work orders; acknowledge and close alarms. */
  'workOrders.manage',
] as const
export type Permission = (typeof permissions)[number]

const rolePermissions: Record<Role, readonly Permission[]> = {
  // The administrator holds every permission there is, including any added later.
  admin: permissions,
  finance: [
    'read',
    'customers.write',
    'meterReads.review',
    'meterReads.approve',
    'billing.configure',
    'billing.run',
    'payments.take',
    'payments.approve',
  ],
  service: ['read', 'customers.write', 'payments.take', 'workOrders.manage'],
  engineering: ['read', 'devices.write', 'meters.write', 'meterReads.review', 'workOrders.manage'],
  leasing: ['read', 'property.write', 'customers.write'],
  viewer: ['read'],
}

export function permissionsOf(role: Role): readonly Permission[] {
  return rolePermissions[role]
}
