// Strings of the operations views (version conflicts, forwarding status, the split-screen wall),
// zh-CN first; merged into the one catalogue (i18n.js). Kept apart so those views can change
// without touching the shared table.
export const OPS_DICT = {
  zh: {
    conflict_reloaded: '未执行「{action}」：该告警已被{who}更新（现为{state}），已重新加载，请核对后再操作',
    conflict_someone: '他人',
    conflict_system: '系统',
  },
  en: {
    conflict_reloaded: 'Not done ({action}): {who} changed this alert (now {state}); reloaded, check it and decide again',
    conflict_someone: 'someone else',
    conflict_system: 'the system',
  },
};
