import {
  Bell,
  Box,
  Cpu,
  DataAnalysis,
  DataLine,
  Document,
  HomeFilled,
  List,
  Money,
  Odometer,
  OfficeBuilding,
  Operation,
  Setting,
  Stamp,
  Tickets,
  Upload,
  User,
  UserFilled,
  Wallet,
} from '@element-plus/icons-vue'
import type { Component } from 'vue'
import type { MessageSchema } from './i18n/zh-CN.ts'

/** A page's name: its route name and its catalogue section (`pages.<name>.title`). */
export type PageName = keyof MessageSchema['pages']

export interface PageDef {
  readonly name: PageName
  readonly path: string
  readonly icon: Component
  readonly component: () => Promise<Component>
}

export interface MenuGroup {
  /** Its label: `menu.<group>`. */
  readonly group: keyof MessageSchema['menu']
  readonly icon: Component
  readonly pages: readonly PageDef[]
}

/**
 * Every page of the console, in menu order: the route table and the side menu are both made
 * from this list. A page is one file under pages/, loaded when first opened. To add a page:
 * its file, an entry here, and `pages.<name>.title` in both catalogues (dashboards/README.md).
 */
export const menu: readonly (PageDef | MenuGroup)[] = [
  {
    name: 'overview',
    path: '/overview',
    icon: HomeFilled,
    component: () => import('./pages/overview/OverviewPage.vue'),
  },
  { name: 'live', path: '/live', icon: DataLine, component: () => import('./pages/live/LivePage.vue') },
  {
    name: 'meterReads',
    path: '/meter-reads',
    icon: Odometer,
    component: () => import('./pages/meter-reads/MeterReadsPage.vue'),
  },
  {
    group: 'billing',
    icon: Money,
    pages: [
      {
        name: 'feeItems',
        path: '/billing/fee-items',
        icon: Tickets,
        component: () => import('./pages/billing/FeeItemsPage.vue'),
      },
      {
        name: 'billRuns',
        path: '/billing/bill-runs',
        icon: Document,
        component: () => import('./pages/billing/BillRunsPage.vue'),
      },
      {
        name: 'desk',
        path: '/billing/desk',
        icon: Wallet,
        component: () => import('./pages/billing/DeskPage.vue'),
      },
      {
        name: 'takings',
        path: '/billing/takings',
        icon: DataAnalysis,
        component: () => import('./pages/billing/TakingsPage.vue'),
      },
      {
        name: 'approvals',
        path: '/billing/approvals',
        icon: Stamp,
        component: () => import('./pages/billing/ApprovalsPage.vue'),
      },
    ],
  },
  {
    group: 'workOrders',
    icon: List,
    pages: [
      {
        name: 'workOrders',
        path: '/work-orders',
        icon: List,
        component: () => import('./pages/work-orders/WorkOrderListPage.vue'),
      },
      {
        name: 'workOrderBoard',
        path: '/work-orders/board',
        icon: Operation,
        component: () => import('./pages/work-orders/WorkOrderBoardPage.vue'),
      },
    ],
  },
  { name: 'alarms', path: '/alarms', icon: Bell, component: () => import('./pages/alarms/AlarmsPage.vue') },
  {
    name: 'reports',
    path: '/reports',
    icon: DataAnalysis,
    component: () => import('./pages/reports/ReportsPage.vue'),
  },
  {
    group: 'setup',
    icon: Setting,
    pages: [
      {
        name: 'buildings',
        path: '/setup/buildings',
        icon: OfficeBuilding,
        component: () => import('./pages/setup/BuildingsPage.vue'),
      },
      {
        name: 'units',
        path: '/setup/units',
        icon: Box,
        component: () => import('./pages/setup/UnitsPage.vue'),
      },
      {
        name: 'customers',
        path: '/setup/customers',
        icon: UserFilled,
        component: () => import('./pages/setup/CustomersPage.vue'),
      },
      {
        name: 'meters',
        path: '/setup/meters',
        icon: Odometer,
        component: () => import('./pages/setup/MetersPage.vue'),
      },
      {
        name: 'gateways',
        path: '/setup/gateways',
        icon: Cpu,
        component: () => import('./pages/setup/GatewaysPage.vue'),
      },
      {
        name: 'import',
        path: '/setup/import',
        icon: Upload,
        component: () => import('./pages/setup/ImportPage.vue'),
      },
    ],
  },
  { name: 'users', path: '/users', icon: User, component: () => import('./pages/users/UsersPage.vue') },
]

export function isGroup(entry: PageDef | MenuGroup): entry is MenuGroup {
  return 'group' in entry
}

/** Every page in menu order. */
export const pages: readonly PageDef[] = menu.flatMap((entry) => (isGroup(entry) ? entry.pages : [entry]))

/**
 * Pages reached from another page, not from the menu (a work order, a receipt): their route,
 * and the menu entry that stays highlighted while they are open. Their title key must exist
 * in both catalogues, e.g. `pages.workOrders.detailTitle`.
 */
export interface DetailRoute {
  readonly name: string
  readonly path: string
  readonly parent: PageName
  readonly titleKey: string
  readonly component: () => Promise<Component>
}

export const detailRoutes: readonly DetailRoute[] = [
  {
    name: 'workOrderDetail',
    path: '/work-orders/:id',
    parent: 'workOrders',
    titleKey: 'pages.workOrders.detailTitle',
    component: () => import('./pages/work-orders/WorkOrderDetailPage.vue'),
  },
]
