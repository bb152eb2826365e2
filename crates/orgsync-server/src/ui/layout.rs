//! The page shell every UI page shares: a skip link, a header with the
//! product name, the main navigation and the viewer's sign-in state, the
//! `main` landmark and a footer. Also the error page in the same shell.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{header, HeaderValue, StatusCode};
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::assets;

/// The person looking at a page.
///
/// Handlers take it as an extractor. It reads the `Viewer` that a session
/// middleware put in the request extensions. Without one, the viewer is
/// anonymous.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Viewer {
    /// Not signed in.
    #[default]
    Anonymous,
    /// A signed-in administrator.
    Admin {
        /// The name shown in the header.
        name: String,
        /// The session's CSRF token, which the sign-out form posts.
        csrf_token: String,
    },
}

impl Viewer {
    /// Returns whether the viewer has signed in.
    pub fn is_signed_in(&self) -> bool {
        matches!(self, Viewer::Admin { .. })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Viewer, Infallible> {
        Ok(parts
            .extensions
            .get::<Viewer>()
            .cloned()
            .unwrap_or_default())
    }
}

/// The sections of the main navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Home,
    Users,
    Groups,
    Runs,
    Settings,
}

const NAVIGATION: [(Section, &str, &str); 4] = [
    (Section::Users, "/users", "Users"),
    (Section::Groups, "/groups", "Groups"),
    (Section::Runs, "/runs", "Runs"),
    (Section::Settings, "/settings", "Settings"),
];

/// The Content-Security-Policy of every page: the page may load only the
/// stylesheet and script orgsync serves, and images from itself, inline
/// `data:` URLs or `https:` URLs (users' pictures, which Okta profiles link
/// to). Inline scripts and `style` attributes are not allowed, so pages use
/// neither.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data: https:; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// A page ready to send: the title (before " · orgsync"), the highlighted
/// navigation section and the content of `main`.
pub struct Page {
    pub title: String,
    pub section: Section,
    pub viewer: Viewer,
    pub content: Markup,
}

impl Page {
    /// Renders the whole document.
    pub fn render(&self) -> Markup {
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (self.title) " · orgsync" }
                    link rel="stylesheet" href=(assets::STYLESHEET_PATH);
                    script src=(assets::SCRIPT_PATH) defer {}
                }
                body {
                    a class="skip-link" href="#main" { "Skip to content" }
                    (header(self.section, &self.viewer))
                    main id="main" tabindex="-1" {
                        (self.content)
                    }
                    footer class="site-footer" {
                        p {
                            "orgsync " (env!("CARGO_PKG_VERSION"))
                            " · "
                            a href="/api/openapi.json" { "API" }
                            " · "
                            a href="/metrics" { "Metrics" }
                        }
                    }
                }
            }
        }
    }

    /// Builds the response with `status` and the security headers.
    pub fn into_response_with(self, status: StatusCode) -> Response {
        html_response(status, self.render())
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        self.into_response_with(StatusCode::OK)
    }
}

/// Builds an HTML response with the headers every page carries: the
/// Content-Security-Policy, no MIME sniffing, no framing, no caching of
/// catalog data by shared caches, and no referrer to other sites.
pub fn html_response(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    response
}

fn header(current: Section, viewer: &Viewer) -> Markup {
    html! {
        header class="site-header" {
            a class="brand" href="/" aria-current=[(current == Section::Home).then_some("page")] {
                span class="brand-mark" aria-hidden="true" { (PreEscaped(BRAND_MARK)) }
                "orgsync"
            }
            nav aria-label="Main" {
                ul {
                    @for (section, href, label) in NAVIGATION {
                        li {
                            a href=(href) aria-current=[(section == current).then_some("page")] {
                                (label)
                            }
                        }
                    }
                }
            }
            div class="viewer" {
                @match viewer {
                    Viewer::Anonymous => {
                        a class="button secondary" href="/sign-in" { "Sign in" }
                    }
                    Viewer::Admin { name, csrf_token } => {
                        span class="viewer-name" { "Signed in as " strong { (name) } }
                        form method="post" action="/sign-out" class="inline" {
                            input type="hidden" name="csrf_token" value=(csrf_token);
                            button type="submit" class="button secondary" { "Sign out" }
                        }
                    }
                }
            }
        }
    }
}

/// The logo: two linked nodes, drawn with presentation attributes only
/// because the Content-Security-Policy forbids `style` attributes.
const BRAND_MARK: &str = r##"<svg width="22" height="22" viewBox="0 0 22 22" focusable="false"><circle cx="6" cy="6" r="4" fill="currentColor"/><circle cx="16" cy="16" r="4" fill="currentColor"/><path d="M6 6 L16 16" stroke="currentColor" stroke-width="2"/></svg>"##;

/// Renders an error page: `heading` names what failed and `message` tells
/// the reader what to do next.
pub fn error_page(status: StatusCode, viewer: Viewer, heading: &str, message: &str) -> Response {
    let page = Page {
        title: heading.to_string(),
        section: Section::Home,
        viewer,
        content: html! {
            div class="error-panel" role="alert" {
                p class="error-status" { (status.as_u16()) " " (status.canonical_reason().unwrap_or("Error")) }
                h1 { (heading) }
                p { (message) }
                p { a href="/" { "Back to the overview" } }
            }
        },
    };
    page.into_response_with(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(viewer: Viewer, section: Section) -> String {
        Page {
            title: "Users".to_string(),
            section,
            viewer,
            content: html! { p { "<content>" } },
        }
        .render()
        .into_string()
    }

    #[test]
    fn shell_has_landmarks() {
        let page = render(Viewer::Anonymous, Section::Users);
        assert!(page.contains("<main id=\"main\""));
        assert!(page.contains("<nav aria-label=\"Main\">"));
        assert!(page.contains("<footer"));
        assert!(page.contains("href=\"#main\""));
    }

    #[test]
    fn current_section_is_marked() {
        let page = render(Viewer::Anonymous, Section::Groups);
        assert!(page.contains("<a href=\"/groups\" aria-current=\"page\">"));
        assert!(page.contains("<a href=\"/users\">"));
    }

    #[test]
    fn anonymous_viewer_gets_sign_in_link() {
        let page = render(Viewer::Anonymous, Section::Home);
        assert!(page.contains("href=\"/sign-in\""));
        assert!(!page.contains("/sign-out"));
    }

    #[test]
    fn admin_viewer_gets_sign_out_form() {
        let viewer = Viewer::Admin {
            name: "ada".to_string(),
            csrf_token: "t0ken".to_string(),
        };
        let page = render(viewer, Section::Home);
        assert!(page.contains("<strong>ada</strong>"));
        assert!(page.contains("action=\"/sign-out\""));
        assert!(page.contains("value=\"t0ken\""));
    }

    #[test]
    fn content_is_escaped() {
        let page = render(Viewer::Anonymous, Section::Home);
        assert!(page.contains("&lt;content&gt;"));
    }

    #[test]
    fn responses_carry_security_headers() {
        let response = html_response(StatusCode::OK, html! { p { "x" } });
        let headers = response.headers();
        assert_eq!(
            headers[header::CONTENT_SECURITY_POLICY],
            CONTENT_SECURITY_POLICY
        );
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    }
}
