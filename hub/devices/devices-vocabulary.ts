/**
 * The devices domain's own list (point kinds, qualities and byte orders are the drivers'
 * vocabulary, drivers/driver-types.ts, reached through gateway/contract). Imports nothing.
 */
export const gatewayLinkStatuses = ['online', 'offline'] as const
export type GatewayLinkStatus = (typeof gatewayLinkStatuses)[number]
