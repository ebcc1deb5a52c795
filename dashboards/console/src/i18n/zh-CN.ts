/**
 * 简体中文 (the default). Every label the console shows comes from here and from en.ts, which
 * must hold the same keys: en.ts is typed by this file, so a key missing from either fails
 * `npm run build`. vue-i18n reads `{name}` as a parameter and `@`, `$`, `|` as syntax: write
 * a literal one as {'@'}.
 *
 * Each page keeps its labels under `pages.<page>` (same order in both files).
 */
const zhCN = {
  app: {
    name: 'EstateHub',
    title: 'EstateHub 物业运营',
  },
  common: {
    loading: '加载中…',
    retry: '重试',
    refresh: '刷新',
    save: '保存',
    cancel: '取消',
    confirm: '确定',
    search: '搜索',
    reset: '重置',
    export: '导出',
    actions: '操作',
    noData: '暂无数据',
    yes: '是',
    no: '否',
    close: '关闭',
    back: '返回',
  },
  lang: {
    label: '语言',
    /** The switch shows the language it switches to. */
    switchTo: 'English',
  },
  login: {
    title: '登录',
    subtitle: '物业运营管理平台',
    username: '用户名',
    password: '密码',
    remember: '在此设备上保持登录',
    submit: '登录',
    usernameRequired: '请输入用户名',
    passwordRequired: '请输入密码',
  },
  shell: {
    menu: '菜单',
    collapse: '收起菜单',
    expand: '展开菜单',
    org: '组织',
    orgPlaceholder: '选择集团 / 公司 / 管理处',
    noOrg: '您还没有可查看的管理处，请联系管理员授权。',
    user: '当前用户',
    logout: '退出登录',
    loggedOut: '已退出登录',
    sessionExpired: '登录已失效，请重新登录',
  },
  orgKind: {
    group: '集团',
    company: '公司',
    estate: '管理处',
  },
  menu: {
    billing: '收费管理',
    workOrders: '工单管理',
    setup: '项目设置',
  },
  errors: {
    network: '无法连接到服务器，请检查网络后重试',
    http: '请求失败（HTTP {status}）',
    withCode: '{title}：{message}',
    codes: {
      EH_ERR_VALIDATION: '输入有误',
      EH_ERR_UNAUTHENTICATED: '未登录或登录失败',
      EH_ERR_FORBIDDEN: '没有权限',
      EH_ERR_NOT_FOUND: '未找到',
      EH_ERR_CONFLICT: '操作冲突',
      EH_ERR_LOCKED: '已临时锁定',
      EH_ERR_INTERNAL: '服务器内部错误',
    },
  },
  placeholder: {
    body: '此页面正在建设中。',
  },
  chart: {
    noData: '暂无数据',
  },
  notFound: {
    title: '页面不存在',
    body: '您访问的页面不存在或已被移动。',
    home: '返回总览',
  },
  pages: {
    overview: { title: '总览' },
    live: { title: '实时监测' },
    meterReads: { title: '抄表' },
    feeItems: { title: '收费项目与标准' },
    billRuns: { title: '账单生成' },
    desk: { title: '收银台' },
    takings: { title: '收款日报' },
    workOrders: { title: '工单列表' },
    workOrderBoard: { title: '工单看板' },
    alarms: { title: '告警' },
    reports: { title: '报表' },
    buildings: { title: '楼栋' },
    units: { title: '房屋' },
    customers: { title: '客户' },
    meters: { title: '仪表' },
    gateways: { title: '网关与设备' },
    import: { title: '数据导入' },
    users: { title: '用户与角色' },
  },
}

export type MessageSchema = typeof zhCN
export default zhCN
