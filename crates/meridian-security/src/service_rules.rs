//! Service access rules from `security/services.properties`: `service.operation=ROLE,ROLE`
//! (`wfs.GetFeature=ROLE_X`, `wms.*=ROLE_Y`), as GeoServer's. The rule for the operation
//! decides, else the service's `*` rule; with none, the operation is open.

use std::collections::HashMap;

/// The rules of `services.properties`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceRules {
    /// (service, operation) in lower case → roles.
    rules: HashMap<(String, String), Vec<String>>,
}

impl ServiceRules {
    /// Read rules from text; other lines (comments, `mode=`) are skipped.
    pub fn parse(text: &str) -> Self {
        let mut rules = HashMap::new();
        for (key, roles) in crate::properties::entries(text) {
            let Some((service, op)) = key.split_once('.') else {
                continue;
            };
            let roles = crate::properties::roles(roles);
            rules.insert(
                (
                    service.trim().to_ascii_lowercase(),
                    op.trim().to_ascii_lowercase(),
                ),
                roles,
            );
        }
        ServiceRules { rules }
    }

    /// The roles the rule for `service`'s `operation` names (`None`: open).
    pub fn required(&self, service: &str, operation: &str) -> Option<&[String]> {
        let s = service.to_ascii_lowercase();
        self.rules
            .get(&(s.clone(), operation.to_ascii_lowercase()))
            .or_else(|| self.rules.get(&(s, "*".to_string())))
            .map(Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operation_rule_wins_over_the_service_rule() {
        let r = ServiceRules::parse("wfs.GetFeature=ROLE_A\nwfs.*=ROLE_B\n# c\nmode=HIDE\n");
        assert_eq!(
            r.required("WFS", "getfeature"),
            Some(&["ROLE_A".to_string()][..])
        );
        assert_eq!(
            r.required("wfs", "DescribeFeatureType"),
            Some(&["ROLE_B".to_string()][..])
        );
        assert_eq!(r.required("wms", "GetMap"), None);
    }
}
