//! GeoServer's `.properties` security files, read alike: `key=value` lines, keys and values
//! trimmed; blank lines, comments (`#`, `!`) and lines without `=` skipped.

/// The `key=value` entries of a properties text, in file order.
pub(crate) fn entries(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
}

/// A comma-separated role list, trimmed, empty entries dropped.
pub(crate) fn roles(list: &str) -> Vec<String> {
    list.split(',')
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_blank_and_keyless_lines_are_skipped() {
        let text = "# c\n! c\n\n  a.b = R1, ,R2 \nno equals\nmode=HIDE\n";
        let e: Vec<(&str, &str)> = entries(text).collect();
        assert_eq!(e, vec![("a.b", "R1, ,R2"), ("mode", "HIDE")]);
        assert_eq!(roles(e[0].1), vec!["R1".to_string(), "R2".to_string()]);
    }
}
