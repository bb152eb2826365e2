//! The sign-in and Catalog Settings pages through the whole HTTP
//! application: a real SQLite file, a real fake-okta on a loopback port
//! and the server's router, with cookies carried by hand as a browser
//! would. Every response body is checked for the private key.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use fake_okta::server::{FakeOkta, RunningFakeOkta};
use http::{header, Request, StatusCode};
use orgsync_server::catalog::StoreCatalog;
use orgsync_server::session::AdminPassword;
use orgsync_server::settings::secret::SecretKey;
use orgsync_server::{RunningServer, ServeOptions, ServerBuilder};
use orgsync_store::{EntityQuery, SqliteStore, Store};
use tempfile::TempDir;
use tower::ServiceExt;

const SCOPES: [&str; 2] = ["okta.users.read", "okta.groups.read"];
const PASSWORD: &str = "correct horse battery";

/// A response as the tests read it.
struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    body: String,
}

struct Fixture {
    fake: RunningFakeOkta,
    _dir: TempDir,
    store: Arc<dyn Store>,
    router: Router,
    running: Option<RunningServer>,
    /// Every response body seen, to scan for secrets at the end.
    seen: Vec<String>,
}

impl Fixture {
    async fn start() -> Fixture {
        let fake = FakeOkta::builder()
            .generated(25, 5, 3)
            .with_generated_client(&SCOPES)
            .start_on_loopback()
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.sqlite");
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(path.to_str().unwrap()).await.unwrap());
        let options = ServeOptions {
            secret_key: Some(SecretKey::generate()),
            admin_password: Some(AdminPassword::from_setting(PASSWORD).unwrap()),
            ..ServeOptions::default()
        };
        let catalog = Arc::new(StoreCatalog::new(Arc::clone(&store)));
        let server = ServerBuilder::new(Arc::clone(&store), catalog)
            .options(options)
            .build();
        let router = server.router();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let running = server.start(Vec::new(), listener).await.unwrap();
        Fixture {
            fake,
            _dir: dir,
            store,
            router,
            running: Some(running),
            seen: Vec::new(),
        }
    }

    fn private_key(&self) -> String {
        self.fake
            .credentials
            .as_ref()
            .unwrap()
            .private_key_pem
            .clone()
    }

    async fn send(&mut self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
            .await
            .unwrap();
        let body = String::from_utf8_lossy(&bytes).into_owned();
        self.seen.push(body.clone());
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn get(&mut self, path: &str, cookie: Option<&str>) -> Answer {
        let mut request = Request::get(path).header(header::ACCEPT, "text/html");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    async fn post(&mut self, path: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> Answer {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "text/html");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// Signs in with the password and returns the session cookie.
    async fn sign_in(&mut self) -> String {
        let form = self.get("/sign-in", None).await;
        let token = hidden_value(&form.body, "sign_in_token");
        let cookie = cookie_pair(&form, "orgsync_sign_in");
        let answer = self
            .post(
                "/sign-in",
                Some(&cookie),
                &[
                    ("secret", PASSWORD),
                    ("sign_in_token", &token),
                    ("next", "/settings"),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        cookie_pair(&answer, "orgsync_session")
    }

    /// Reads the session's CSRF token from a page's sign-out form.
    async fn csrf_token(&mut self, session: &str) -> String {
        let page = self.get("/settings", Some(session)).await;
        hidden_value(&page.body, "csrf_token")
    }

    fn provider_fields(&self, key_id: &str) -> Vec<(String, String)> {
        let credentials = self.fake.credentials.as_ref().unwrap();
        vec![
            ("id".to_string(), "web".to_string()),
            ("okta_url".to_string(), self.fake.base_url.to_string()),
            ("client_id".to_string(), credentials.client_id.clone()),
            (
                "private_key".to_string(),
                credentials.private_key_pem.clone(),
            ),
            ("key_id".to_string(), key_id.to_string()),
            ("frequency".to_string(), "PT1H".to_string()),
            ("timeout".to_string(), "PT1M".to_string()),
            ("group_filter".to_string(), "all".to_string()),
        ]
    }

    fn assert_no_secret_seen(&self) {
        let pem = self.private_key();
        for body in &self.seen {
            for line in pem.lines().filter(|line| !line.starts_with("-----")) {
                assert!(!body.contains(line), "a response contains the private key");
            }
            assert!(!body.contains(PASSWORD), "a response contains the password");
        }
    }

    async fn stop(mut self) {
        self.assert_no_secret_seen();
        if let Some(running) = self.running.take() {
            running.shutdown().await.unwrap();
        }
    }
}

fn with_action<'a>(
    fields: &'a [(String, String)],
    extra: &'a [(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut all: Vec<(&str, &str)> = fields
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    all.extend_from_slice(extra);
    all
}

/// Returns the value of the first hidden input named `name`.
fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in:\n{html}"))
        + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_string()
}

/// Returns the `name=value` pair of a cookie the response sets.
fn cookie_pair(answer: &Answer, name: &str) -> String {
    answer
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .and_then(|value| value.split(';').next())
        .unwrap_or_else(|| panic!("the response sets no {name} cookie"))
        .to_string()
}

fn set_cookie_text(answer: &Answer, name: &str) -> String {
    answer
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_starts_strict_session() {
    let mut fixture = Fixture::start().await;
    let form = fixture.get("/sign-in", None).await;
    assert_eq!(form.status, StatusCode::OK);
    let token = hidden_value(&form.body, "sign_in_token");
    let cookie = cookie_pair(&form, "orgsync_sign_in");

    let wrong = fixture
        .post(
            "/sign-in",
            Some(&cookie),
            &[("secret", "nope"), ("sign_in_token", &token)],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("not correct"));

    let right = fixture
        .post(
            "/sign-in",
            Some(&cookie),
            &[("secret", PASSWORD), ("sign_in_token", &token)],
        )
        .await;
    assert_eq!(right.status, StatusCode::SEE_OTHER);
    let session = set_cookie_text(&right, "orgsync_session");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Strict"), "{session}");

    let page = fixture
        .get("/settings", Some(&cookie_pair(&right, "orgsync_session")))
        .await;
    assert!(page.body.contains("Sign out"));
    assert!(page.body.contains("Add provider"));
    fixture.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_without_form_token_is_rejected() {
    let mut fixture = Fixture::start().await;
    let answer = fixture
        .post(
            "/sign-in",
            None,
            &[("secret", PASSWORD), ("sign_in_token", "forged")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .all(|value| !value.to_str().unwrap().starts_with("orgsync_session=")));
    fixture.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_sees_read_only_settings() {
    let mut fixture = Fixture::start().await;
    let page = fixture.get("/settings", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("Add provider</a>"));
    assert!(page.body.contains("/sign-in?next=/settings"));

    let fields = fixture.provider_fields("");
    let answer = fixture
        .post(
            "/settings/providers",
            None,
            &with_action(&fields, &[("action", "save"), ("csrf_token", "x")]),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(fixture.store.saved_providers().await.unwrap().is_empty());
    fixture.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_without_csrf_token_is_rejected() {
    let mut fixture = Fixture::start().await;
    let session = fixture.sign_in().await;
    let fields = fixture.provider_fields("");
    let answer = fixture
        .post(
            "/settings/providers",
            Some(&session),
            &with_action(&fields, &[("action", "save"), ("csrf_token", "forged")]),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(fixture.store.saved_providers().await.unwrap().is_empty());
    fixture.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_is_tested_saved_and_run() {
    let mut fixture = Fixture::start().await;
    let session = fixture.sign_in().await;
    let csrf = fixture.csrf_token(&session).await;
    let key_id = fixture.fake.credentials.as_ref().unwrap().key_id.clone();

    // A wrong key id fails Test connection with the doctor's fix.
    let wrong = fixture.provider_fields("not-the-key");
    let tested = fixture
        .post(
            "/settings/providers",
            Some(&session),
            &with_action(&wrong, &[("action", "test"), ("csrf_token", &csrf)]),
        )
        .await;
    assert_eq!(tested.status, StatusCode::OK, "{}", tested.body);
    assert!(tested.body.contains("Test connection"));
    assert!(tested.body.contains("Failed"));
    assert!(tested.body.contains("Fix: "), "{}", tested.body);

    // An invalid URL is reported at its field with the config message.
    let mut invalid = fixture.provider_fields(&key_id);
    invalid[1].1 = "ftp://acme.okta.com".to_string();
    let rejected = fixture
        .post(
            "/settings/providers",
            Some(&session),
            &with_action(&invalid, &[("action", "save"), ("csrf_token", &csrf)]),
        )
        .await;
    assert_eq!(rejected.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        rejected.body.contains("id=\"okta_url-error\""),
        "{}",
        rejected.body
    );

    let right = fixture.provider_fields(&key_id);
    let preview = fixture
        .post(
            "/settings/providers",
            Some(&session),
            &with_action(&right, &[("action", "preview"), ("csrf_token", &csrf)]),
        )
        .await;
    assert!(
        preview.body.contains("Nothing was written"),
        "{}",
        preview.body
    );
    assert_eq!(count_users(&fixture.store).await, 0);

    let saved = fixture
        .post(
            "/settings/providers",
            Some(&session),
            &with_action(&right, &[("action", "save"), ("csrf_token", &csrf)]),
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = fixture
        .get("/settings/providers/web?saved=1", Some(&session))
        .await;
    assert!(page.body.contains("A key is stored"));
    let stored = fixture.store.saved_providers().await.unwrap();
    assert!(page.body.contains(&stored[0].settings.key_fingerprint));

    let run = fixture
        .post(
            "/settings/providers/web",
            Some(&session),
            &[("action", "run"), ("csrf_token", &csrf), ("id", "web")],
        )
        .await;
    assert_eq!(run.status, StatusCode::SEE_OTHER, "{}", run.body);
    let mut users = 0;
    for _ in 0..200 {
        users = count_users(&fixture.store).await;
        if users > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(users > 0, "the run wrote no users");
    let list = fixture.get("/settings", Some(&session)).await;
    assert!(list.body.contains("saved settings"));
    fixture.stop().await;
}

async fn count_users(store: &Arc<dyn Store>) -> usize {
    let query = EntityQuery {
        kind: Some("User".to_string()),
        ..EntityQuery::default()
    };
    store.count_entities(&query).await.unwrap()
}
