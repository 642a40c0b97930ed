//! Layer access rules from `security/layers.properties`: `workspace.layer.mode=ROLE,ROLE`,
//! mode `r` (read), `w` (write) or `a` (administer), `*` for any workspace or layer and for
//! any role. The most specific rule for a layer decides (`ws.layer`, then `ws.*`, then
//! `*.*`), as GeoServer's; with no rule for a mode, the mode is open to everyone.

use std::collections::HashMap;

/// What a rule governs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Reading features and maps.
    Read,
    /// Changing features (WFS-T).
    Write,
    /// Administering the layer.
    Admin,
}

/// What callers see of the layers they may not read (`mode=` in `layers.properties`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CatalogMode {
    /// Such layers are left out of every listing, and asked for by name they do not exist.
    #[default]
    Hide,
    /// Left out of listings; asked for by name, the caller is asked to log in.
    Mixed,
    /// Listed; their data asks the caller to log in.
    Challenge,
}

/// The rules of `layers.properties`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataRules {
    rules: HashMap<(String, String, Mode), Vec<String>>,
    mode: CatalogMode,
}

impl DataRules {
    /// GeoServer's defaults when there is no file: everyone reads; writing takes the
    /// administrator or group administrator role.
    pub fn default_rules() -> Self {
        DataRules::parse("*.*.r=*\n*.*.w=ADMIN,GROUP_ADMIN\n")
    }

    /// Read rules from text (and the catalog mode, `mode=HIDE|MIXED|CHALLENGE`); lines that are
    /// not rules (comments, malformed keys) are skipped.
    pub fn parse(text: &str) -> Self {
        let mut rules = HashMap::new();
        let mut catalog_mode = CatalogMode::Hide;
        for (key, roles) in crate::properties::entries(text) {
            if key == "mode" {
                catalog_mode = match roles.to_ascii_uppercase().as_str() {
                    "MIXED" => CatalogMode::Mixed,
                    "CHALLENGE" => CatalogMode::Challenge,
                    _ => CatalogMode::Hide,
                };
                continue;
            }
            let parts = split_key(key);
            let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
            // `group.mode`: a global layer group's rule (its workspace is "").
            let (ws, layer, mode) = match parts.as_slice() {
                [ws, layer, mode] => (*ws, *layer, *mode),
                [group, mode] if *group != "*" => ("", *group, *mode),
                _ => continue,
            };
            // As GeoServer: any workspace means any layer, and `a` is given per workspace.
            if ws == "*" && layer != "*" {
                continue;
            }
            let mode = match mode.trim() {
                "r" => Mode::Read,
                "w" => Mode::Write,
                "a" if layer == "*" => Mode::Admin,
                _ => continue,
            };
            rules.insert(
                (ws.trim().to_string(), layer.trim().to_string(), mode),
                crate::properties::roles(roles),
            );
        }
        DataRules {
            rules,
            mode: catalog_mode,
        }
    }

    /// What callers see of the layers they may not read.
    pub fn catalog_mode(&self) -> CatalogMode {
        self.mode
    }

    /// The roles the rule deciding `mode` on `workspace:layer` names (`None`: no rule, open).
    pub fn required(&self, workspace: &str, layer: &str, mode: Mode) -> Option<&[String]> {
        self.deciding(workspace, layer, mode).map(|(_, r)| r)
    }

    /// Which rule decides `mode` on `workspace:layer`: 0 its own, 1 its workspace's, 2 the
    /// global one (`None`: no rule).
    pub fn deciding_level(&self, workspace: &str, layer: &str, mode: Mode) -> Option<usize> {
        self.deciding(workspace, layer, mode).map(|(l, _)| l)
    }

    fn deciding(&self, workspace: &str, layer: &str, mode: Mode) -> Option<(usize, &[String])> {
        [(workspace, layer), (workspace, "*"), ("*", "*")]
            .iter()
            .enumerate()
            .find_map(|(i, (w, l))| {
                self.rules
                    .get(&(w.to_string(), l.to_string(), mode))
                    .map(|r| (i, r.as_slice()))
            })
    }

    /// Whether some read rule names a layer or group by name (only then can a group's rule
    /// differ from its layers').
    pub fn names_any(&self) -> bool {
        self.rules
            .keys()
            .any(|(_, l, m)| *m == Mode::Read && l != "*")
    }

    /// Whether a caller with `roles` (empty: anonymous) may use `mode` on
    /// `workspace:layer`. The full administrator always may; a workspace's administrators
    /// (an explicit `ws.*.a` rule naming one of their roles) may read and write in it.
    pub fn allows(&self, workspace: &str, layer: &str, mode: Mode, roles: &[String]) -> bool {
        if roles.iter().any(|r| r == "ROLE_ADMINISTRATOR") {
            return true;
        }
        if mode != Mode::Admin {
            let admin = [(workspace, "*"), ("*", "*")]
                .iter()
                .find_map(|(w, l)| self.rules.get(&(w.to_string(), l.to_string(), Mode::Admin)));
            if admin.is_some_and(|req| req.iter().any(|r| roles.contains(r))) {
                return true;
            }
        }
        match self.required(workspace, layer, mode) {
            // Administering takes a rule that names the caller; the other modes are open
            // where no rule speaks.
            None => mode != Mode::Admin,
            Some(required) => required
                .iter()
                .any(|r| r == "*" || roles.iter().any(|have| have == r)),
        }
    }
}

/// A rule key's parts, split on the dots that are not escaped (`\.` is a dot in a name).
fn split_key(key: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = key.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                chars.next();
                if let Some(last) = parts.last_mut() {
                    last.push('.');
                }
            }
            '.' => parts.push(String::new()),
            c => {
                if let Some(last) = parts.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| s.to_string()).collect()
    }

    /// GeoServer's documented example: the most specific rule wins.
    #[test]
    fn the_most_specific_rule_decides() {
        let r = DataRules::parse(
            "*.*.r=*\n*.*.w=ADMIN,GROUP_ADMIN\ntopp.*.w=EDITOR\ntopp.states.w=STATES_EDITOR\nmode=HIDE\n# comment\n",
        );
        let editor = roles(&["EDITOR", "ROLE_AUTHENTICATED"]);
        let states = roles(&["STATES_EDITOR", "ROLE_AUTHENTICATED"]);
        assert!(r.allows("topp", "tasmania_roads", Mode::Write, &editor));
        assert!(!r.allows("topp", "states", Mode::Write, &editor));
        assert!(r.allows("topp", "states", Mode::Write, &states));
        assert!(!r.allows("sf", "roads", Mode::Write, &editor));
        assert!(r.allows("sf", "roads", Mode::Write, &roles(&["GROUP_ADMIN"])));
        assert!(r.allows("sf", "roads", Mode::Write, &roles(&["ROLE_ADMINISTRATOR"])));
        assert!(!r.allows("sf", "roads", Mode::Write, &[]), "anonymous");
        assert!(r.allows("sf", "roads", Mode::Read, &[]));
        assert!(
            DataRules::parse("").allows("sf", "roads", Mode::Write, &[]),
            "no rule: open"
        );
        // A global layer group's rule has two parts.
        let g = DataRules::parse("*.*.r=*\nbasemap.r=ROLE_MAPS\n");
        assert!(!g.allows("", "basemap", Mode::Read, &[]));
        assert!(g.allows("", "basemap", Mode::Read, &roles(&["ROLE_MAPS"])));
        assert!(g.allows("", "other", Mode::Read, &[]));
        // A workspace's administrators read and write in it; `a` is per workspace only; a
        // dot in a layer's name is escaped; `*.layer` is no rule.
        let a = DataRules::parse(concat!(
            "*.*.r=NOBODY\n*.*.w=NOBODY\ntopp.*.a=ROLE_TOPP\ntopp.states.a=X\n",
            "sf.my\\.roads.r=ROLE_R\n*.roads.r=ROLE_Z\n"
        ));
        let topp = roles(&["ROLE_TOPP"]);
        assert!(a.allows("topp", "states", Mode::Read, &topp));
        assert!(a.allows("topp", "states", Mode::Write, &topp));
        assert!(!a.allows("sf", "roads", Mode::Read, &topp));
        assert!(a.allows("sf", "my.roads", Mode::Read, &roles(&["ROLE_R"])));
        assert!(!a.allows("sf", "roads", Mode::Read, &roles(&["ROLE_Z"])));
    }
}
