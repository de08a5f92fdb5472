//! How the audit log reads in Chinese: one label per recorded action and record kind.

/// Every action the services record, with its label; the log's filter offers these.
pub const ACTIONS: &[(&str, &str)] = &[
    ("session.start", "登录"),
    ("session.end", "退出登录"),
    ("token.issue", "签发接口令牌"),
    ("token.revoke", "吊销接口令牌"),
    ("user.register", "房东注册"),
    ("user.create", "创建账号"),
    ("user.password_change", "修改密码"),
    ("user.password_reset", "重置密码"),
    ("user.disable", "停用账号"),
    ("user.enable", "启用账号"),
    ("user.rename_scope", "修改村或网格名称"),
    ("village.create", "新建村"),
    ("village.rename", "修改村名称"),
    ("grid.create", "新建网格"),
    ("grid.rename", "修改网格名称"),
    ("inspector.assign_grids", "分配网格"),
    ("property.create", "登记房屋"),
    ("property.update", "修改房屋"),
    ("upload.create", "上传照片"),
    ("application.create", "创建申请"),
    ("application.declare", "填写申报信息"),
    ("application.attach", "上传申请材料"),
    ("application.detach", "删除申请材料"),
    ("application.submit", "提交申请"),
    ("application.status", "申请状态变更"),
    ("application.reject", "驳回申请"),
    ("application.delete_draft", "删除申请草稿"),
    ("task.create", "生成检查任务"),
    ("task.draft", "保存检查草稿"),
    ("task.start", "开始检查"),
    ("task.reassign", "改派检查任务"),
    ("inspection.submit", "提交检查结果"),
    ("finding.fix", "上报整改"),
    ("permit.issue", "核发准入证"),
    ("permit.suspend", "暂停准入证"),
    ("permit.reinstate", "恢复准入证"),
    ("permit.revoke", "吊销准入证"),
    ("permit.expire", "准入证到期"),
    ("permit.renew", "申请续期"),
    ("signing_key.rotate", "更换签名密钥"),
    ("stay.check_in", "租客入住登记"),
    ("stay.register_by_landlord", "房东代为登记"),
    ("stay.confirm", "确认入住"),
    ("stay.reject", "拒绝入住登记"),
    ("stay.check_out", "退租"),
    ("stay.lapse", "登记过期未确认"),
    ("stay.retention_wipe", "到期删除个人信息"),
    ("stay.reveal_doc", "查看完整证件号码"),
    ("proof.issue", "开具居住证明"),
    ("residents.view", "查看实有人口"),
    ("residents.api", "接口调取实有人口"),
    ("residents.export", "导出实有人口"),
    ("webhook.subscribe", "新建推送订阅"),
    ("webhook.delete", "删除推送订阅"),
    ("webhook.retry", "重发推送"),
];

/// The label of an action, or the action itself when it is not (yet) listed.
pub fn action_label(action: &str) -> &str {
    ACTIONS
        .iter()
        .find(|(a, _)| *a == action)
        .map_or(action, |(_, l)| l)
}

/// The label of a kind of record.
pub fn entity_label(entity: &str) -> &str {
    match entity {
        "user" => "账号",
        "session" => "会话",
        "token" | "api_token" => "接口令牌",
        "village" => "村",
        "grid" => "网格",
        "property" => "房屋",
        "upload" => "照片",
        "application" => "申请",
        "task" | "inspection_task" => "检查任务",
        "inspection" => "检查",
        "finding" => "隐患",
        "permit" => "准入证",
        "signing_key" => "签名密钥",
        "stay" => "居住登记",
        "residence_proof" => "居住证明",
        "residents" => "实有人口",
        "webhook" | "webhook_subscription" | "delivery" => "推送",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_action_has_one_chinese_label() {
        for (a, l) in ACTIONS {
            assert_eq!(action_label(a), *l);
            assert!(!l.is_ascii(), "{a}");
            assert_eq!(ACTIONS.iter().filter(|(b, _)| b == a).count(), 1, "{a}");
        }
        assert_eq!(action_label("something.new"), "something.new");
        assert_eq!(entity_label("stay"), "居住登记");
    }
}
