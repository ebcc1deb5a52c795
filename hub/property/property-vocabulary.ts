/**
 * The property domain's lists, each defined once: the types, route schemas, database CHECKs
 * (hub/store/vocabulary-checks.ts), the console's selects and the catalogues' keys derive from
 * them. Imports nothing: the console imports this file at build time.
 */
export const unitUses = ['residence', 'shop', 'office', 'parking', 'storage', 'other'] as const
export type UnitUse = (typeof unitUses)[number]

export const unitStatuses = ['vacant', 'occupied', 'rented', 'decorating'] as const
export type UnitStatus = (typeof unitStatuses)[number]

export const customerKinds = ['person', 'company'] as const
export type CustomerKind = (typeof customerKinds)[number]

export const occupancyRoles = ['owner', 'tenant'] as const
export type OccupancyRole = (typeof occupancyRoles)[number]

/** How a customer opens a door: card, face, QR code or PIN. */
export const credentialKinds = ['card', 'face', 'qr', 'pin'] as const
export type CredentialKind = (typeof credentialKinds)[number]
