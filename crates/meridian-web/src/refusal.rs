//! A refused change shown next to the field that caused it. REST answers a refusal with words;
//! each form lists its fields with the words that name them, and the message goes under the
//! first field it names, or above the form when it names none.

use maud::{html, Markup};

/// A refusal and the field it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal<'a> {
    /// The field's id, or `None` for the form as a whole.
    pub field: Option<&'a str>,
    /// What was wrong.
    pub message: &'a str,
}

/// Place `message` on a form whose fields are `(id, words naming it)`: the first field with a
/// word the message contains.
pub(crate) fn blame<'a>(message: &'a str, fields: &[(&'a str, &[&str])]) -> Refusal<'a> {
    let field = fields
        .iter()
        .find(|(_, words)| words.iter().any(|w| message.contains(w)))
        .map(|(id, _)| *id);
    Refusal { field, message }
}

/// The message under field `id` (`{id}-error`), when the refusal is about it.
pub(crate) fn under(r: Option<&Refusal<'_>>, id: &str) -> Markup {
    match r {
        Some(r) if r.field == Some(id) => html! {
            p class="error" role="alert" id={ (id) "-error" } { (r.message) }
        },
        _ => html! {},
    }
}

/// The message above the form, when the refusal is about no one field.
pub(crate) fn above(r: Option<&Refusal<'_>>, id: &str) -> Markup {
    match r {
        Some(r) if r.field.is_none() => html! {
            p class="error" role="alert" id=(id) { (r.message) }
        },
        _ => html! {},
    }
}

/// Whether the refusal is about field `id` (for `aria-invalid`).
pub(crate) fn invalid(r: Option<&Refusal<'_>>, id: &str) -> bool {
    r.is_some_and(|r| r.field == Some(id))
}

/// `aria-describedby` for field `id`: its error's id when the refusal is about it.
pub(crate) fn described(r: Option<&Refusal<'_>>, id: &str) -> Option<String> {
    invalid(r, id).then(|| format!("{id}-error"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_goes_under_the_first_field_it_names_or_above_the_form() {
        let fields: &[(&str, &[&str])] = &[
            ("brokerURL", &["brokerURL", "broker"]),
            ("topicName", &["topic"]),
        ];
        let r = blame("brokerURL: bad host 'a b'", fields);
        assert_eq!(r.field, Some("brokerURL"));
        let out = under(Some(&r), "brokerURL").into_string();
        assert!(out.contains("id=\"brokerURL-error\"") && out.contains("bad host"));
        assert!(under(Some(&r), "topicName").into_string().is_empty());
        assert!(above(Some(&r), "form-error").into_string().is_empty());
        assert_eq!(
            described(Some(&r), "brokerURL").as_deref(),
            Some("brokerURL-error")
        );
        let r = blame("discovery 'x' is not a mode", fields);
        assert_eq!(r.field, None);
        assert!(above(Some(&r), "form-error")
            .into_string()
            .contains("not a mode"));
    }
}
