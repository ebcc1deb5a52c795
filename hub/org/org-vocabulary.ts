/**
 * The org tree's list, defined once (types, route schemas, the database CHECK in
 * hub/store/vocabulary-checks.ts, the console). Imports nothing: the console imports it.
 */
export const orgNodeKinds = ['group', 'company', 'estate'] as const
export type OrgNodeKind = (typeof orgNodeKinds)[number]
