//! Tree layer groups guard what they hold, as GeoServer's layer security has it: a layer (or
//! group) inside a tree group (named tree, container tree, earth observation) the caller may
//! not read is hidden too, unless another tree group holding it is readable, or its own rule
//! is stronger than the group's. A layer's own rule (`ws.layer.r`) always decides alone;
//! a workspace group's rule beats its workspace's rule (`ws.*.r`), which beats a global
//! group's rule, which beats the global rule (`*.*.r`). Single and opaque groups guard
//! nothing: their rule covers the group alone.

use crate::data_rules::{DataRules, Mode};

/// Where a layer or group sits among the catalog's groups.
pub trait Containers: Send + Sync + std::fmt::Debug {
    /// Whether `workspace:name` names a layer group (else a layer), and the tree groups that
    /// hold it directly, as (workspace, name) with `""` for a global group.
    fn containing(&self, workspace: &str, name: &str) -> (bool, Vec<(String, String)>);
}

/// How strong the rule deciding read access on `workspace:name` is.
fn strength(rules: &DataRules, workspace: &str, name: &str, group: bool) -> u8 {
    match rules.deciding_level(workspace, name, Mode::Read) {
        // The thing's own rule.
        Some(0) if !group => 30,
        Some(0) if !workspace.is_empty() => 25,
        Some(0) => 15,
        // Its workspace's rule.
        Some(1) => 20,
        // The global rule.
        Some(_) => 10,
        None => 0,
    }
}

/// Groups nest at most this deep.
const MAX_DEPTH: usize = 8;

/// Whether a caller with `roles` may read `workspace:name`, the tree groups holding it
/// considered.
pub(crate) fn readable(
    rules: &DataRules,
    containers: &dyn Containers,
    workspace: &str,
    name: &str,
    roles: &[String],
    depth: usize,
) -> bool {
    if !rules.allows(workspace, name, Mode::Read, roles) {
        return false;
    }
    if depth > MAX_DEPTH || rules.allows(workspace, "*", Mode::Admin, roles) {
        return true;
    }
    let (group, holders) = containers.containing(workspace, name);
    let own = strength(rules, workspace, name, group);
    if own == 30 || holders.is_empty() {
        return true;
    }
    holders.iter().any(|(w, g)| {
        strength(rules, w, g, true) < own || readable(rules, containers, w, g, roles, depth + 1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tasmania` (global) holds `topp:roads` and the workspace group `topp:water`, which
    /// holds `topp:lakes`; `public` (global) holds `topp:roads` too.
    #[derive(Debug)]
    struct Fixture;

    impl Containers for Fixture {
        fn containing(&self, workspace: &str, name: &str) -> (bool, Vec<(String, String)>) {
            let g = |w: &str, n: &str| (w.to_string(), n.to_string());
            match (workspace, name) {
                ("topp", "roads") => (false, vec![g("", "tasmania"), g("", "public")]),
                ("topp", "lakes") => (false, vec![g("topp", "water")]),
                ("topp", "water") => (true, vec![g("", "tasmania")]),
                ("", _) | ("topp", _) if name != "states" => (true, vec![]),
                _ => (false, vec![]),
            }
        }
    }

    fn can(rules: &str, ws: &str, name: &str, roles: &[&str]) -> bool {
        let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        readable(&DataRules::parse(rules), &Fixture, ws, name, &roles, 0)
    }

    #[test]
    fn a_denied_tree_group_hides_what_it_holds() {
        let rules = "*.*.r=*\ntasmania.r=ROLE_T\n";
        // lakes sits in water, which sits in tasmania: hidden with it.
        assert!(!can(rules, "topp", "water", &[]));
        assert!(!can(rules, "topp", "lakes", &[]));
        assert!(can(rules, "topp", "lakes", &["ROLE_T"]));
        // roads is also in `public`, which anyone reads.
        assert!(can(rules, "topp", "roads", &[]));
        // states is in no group.
        assert!(can(rules, "topp", "states", &[]));
    }

    #[test]
    fn a_layers_own_rule_beats_its_groups_and_a_workspace_rule_beats_a_global_group() {
        let rules = "*.*.r=*\ntasmania.r=ROLE_T\npublic.r=ROLE_T\ntopp.roads.r=*\n";
        assert!(can(rules, "topp", "roads", &[]));
        // The workspace's rule is stronger than the global groups' rules.
        let rules = "*.*.r=*\ntasmania.r=ROLE_T\ntopp.*.r=*\n";
        assert!(can(rules, "topp", "water", &[]));
        // A workspace group's own rule is stronger than the workspace rule.
        let rules = "*.*.r=*\ntopp.*.r=*\ntopp.water.r=ROLE_W\n";
        assert!(!can(rules, "topp", "lakes", &[]));
        assert!(can(rules, "topp", "lakes", &["ROLE_W"]));
        // A group's rule never opens what the layer's own rules close.
        let rules = "*.*.r=*\ntopp.lakes.r=ROLE_L\n";
        assert!(!can(rules, "topp", "lakes", &[]));
    }
}
