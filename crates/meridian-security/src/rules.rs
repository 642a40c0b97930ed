//! REST access rules: `security/rest.properties`, lines `antPattern;METHODS=ROLE,ROLE`.

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestRule {
    /// Ant-style path pattern (`/**`, `/rest/workspaces/topp*`).
    pub pattern: String,
    /// Upper-case HTTP methods.
    pub methods: Vec<String>,
    /// Roles, any of which grants access.
    pub roles: Vec<String>,
}

/// The ordered rules; the first that matches decides.
#[derive(Debug, Clone)]
pub struct RestRules(pub Vec<RestRule>);

impl RestRules {
    /// GeoServer's default: every REST call needs `ROLE_ADMINISTRATOR`.
    pub fn default_rules() -> Self {
        Self::parse(
            "/**;GET,HEAD,OPTIONS=ROLE_ADMINISTRATOR\n/**;POST,DELETE,PUT=ROLE_ADMINISTRATOR\n",
        )
    }

    /// Parse the properties text; malformed lines are ignored as GeoServer does.
    pub fn parse(text: &str) -> Self {
        let mut v = Vec::new();
        for (lhs, roles) in crate::properties::entries(text) {
            let (pattern, methods) = match lhs.split_once(';') {
                Some((p, m)) => (
                    p.trim(),
                    m.split(',').map(|m| m.trim().to_uppercase()).collect(),
                ),
                None => (lhs.trim(), Vec::new()),
            };
            v.push(RestRule {
                pattern: pattern.to_string(),
                methods,
                roles: crate::properties::roles(roles),
            });
        }
        RestRules(v)
    }

    /// Roles required for a request, from the first matching rule; `None` = no rule, allowed.
    pub fn required(&self, method: &str, path: &str) -> Option<&[String]> {
        let m = method.to_uppercase();
        self.0
            .iter()
            .find(|r| {
                (r.methods.is_empty() || r.methods.contains(&m)) && ant_match(&r.pattern, path)
            })
            .map(|r| r.roles.as_slice())
    }
}

/// Ant path matching: `**` any number of segments, `*` within a segment, `?` one character.
pub(crate) fn ant_match(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let s: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match_segments(&p, &s)
}

fn match_segments(p: &[&str], s: &[&str]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some(&"**") => (0..=s.len()).any(|i| match_segments(&p[1..], &s[i..])),
        Some(seg) => {
            !s.is_empty()
                && glob(seg.as_bytes(), s[0].as_bytes())
                && match_segments(&p[1..], &s[1..])
        }
    }
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some(b'*') => (0..=s.len()).any(|i| glob(&p[1..], &s[i..])),
        Some(b'?') => !s.is_empty() && glob(&p[1..], &s[1..]),
        Some(c) => s.first() == Some(c) && glob(&p[1..], &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ant_patterns() {
        assert!(ant_match("/**", "/rest/workspaces"));
        assert!(ant_match(
            "/rest/workspaces/topp*",
            "/rest/workspaces/topp.xml"
        ));
        assert!(!ant_match(
            "/rest/workspaces/topp*",
            "/rest/workspaces/topp/datastores"
        ));
        assert!(ant_match(
            "/rest/workspaces/topp/**",
            "/rest/workspaces/topp/datastores"
        ));
        assert!(ant_match("/rest/**", "/rest"));
    }

    #[test]
    fn first_matching_rule_decides() {
        let r = RestRules::parse("# c\n/rest/styles/**;GET=IS_AUTHENTICATED_ANONYMOUSLY\n/**;GET,POST=ROLE_ADMINISTRATOR\n");
        assert_eq!(
            r.required("GET", "/rest/styles/x").unwrap(),
            ["IS_AUTHENTICATED_ANONYMOUSLY"]
        );
        assert_eq!(
            r.required("get", "/rest/workspaces").unwrap(),
            ["ROLE_ADMINISTRATOR"]
        );
        assert!(r.required("DELETE", "/rest/workspaces").is_none());
    }
}
