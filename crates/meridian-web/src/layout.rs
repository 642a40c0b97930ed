//! The page shell: header with the sections, the signed-in user and a logout form.

use maud::{html, Markup, DOCTYPE};

/// The sections of the interface, in the header's order: path and title.
const SECTIONS: &[(&str, &str)] = &[
    ("status", "Server status"),
    ("cluster", "Cluster"),
    ("workspaces", "Workspaces"),
    ("stores", "Stores"),
    ("layers", "Layers"),
    ("groups", "Groups"),
    ("styles", "Styles"),
    ("services", "Services"),
];

/// A whole page: `current` is the section shown, `user` and `csrf` the session's.
pub fn page(title: &str, current: &str, session: Option<(&str, &str)>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — Meridian" }
                link rel="stylesheet" href="/geoserver/web/assets/web.css";
            }
            body {
                header {
                    a class="brand" href="/geoserver/web/" { "Meridian" }
                    @if let Some((user, csrf)) = session {
                        nav aria-label="Sections" {
                            ul {
                                @for (path, name) in SECTIONS {
                                    li {
                                        @if *path == current {
                                            a href={ "/geoserver/web/" (path) } aria-current="page" { (name) }
                                        } @else {
                                            a href={ "/geoserver/web/" (path) } { (name) }
                                        }
                                    }
                                }
                            }
                        }
                        form method="post" action="/geoserver/web/logout" {
                            input type="hidden" name="_csrf" value=(csrf);
                            span { (user) " · " }
                            button class="link" type="submit" { "Log out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}
