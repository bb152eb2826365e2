//! A secrets scan. The test runs `orgsync sync` at trace log level with text
//! and JSON logs, exports the catalog, runs `orgsync doctor`, and runs
//! `orgsync serve` until its first scheduled sync and fetches every GET
//! route of its OpenAPI document and the web UI's pages. It then searches everything printed and
//! served, and the SQLite files, for the secrets of the run:
//! - the client's private key: the PEM text, any 40 characters of the base64
//!   DER (standard or URL-safe alphabet) or of its hex form, and the private
//!   scalar as hex or as a JWK `d` value;
//! - every client assertion fake-okta received and every access token it
//!   issued: the whole JWT, and any 40 characters of its signature;
//! - the catalog API's read and admin tokens.

mod common;

use std::path::Path;
use std::process::Output;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use common::TestOrg;
use fake_okta::server::FakeOkta;

/// Length of the substrings of a secret that count as a leak.
const WINDOW: usize = 40;

/// The DER prefix of the private scalar of a P-256 key in PKCS#8: the
/// ECPrivateKey version 1, then an OCTET STRING of 32 bytes (RFC 5915).
const P256_SCALAR_PREFIX: [u8; 5] = [0x02, 0x01, 0x01, 0x04, 0x20];

/// A string that must not appear in any output, with a description of it.
struct Needle {
    description: String,
    text: String,
}

/// Text that orgsync printed or wrote, and where it came from.
struct Haystack {
    source: String,
    text: String,
}

fn needle(description: impl Into<String>, text: impl Into<String>) -> Needle {
    Needle {
        description: description.into(),
        text: text.into(),
    }
}

/// Returns every `WINDOW`-character substring of `text`, or `text` itself
/// when it is shorter.
fn windows(description: &str, text: &str) -> Vec<Needle> {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= WINDOW {
        return vec![needle(description, text)];
    }
    chars
        .windows(WINDOW)
        .map(|window| needle(description, window.iter().collect::<String>()))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Returns the forms of a PKCS#8 PEM private key that must not leak.
fn key_needles(pem: &str) -> Vec<Needle> {
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = STANDARD.decode(&body).expect("the PEM body is base64");

    let mut needles = vec![needle("the private key PEM", pem.trim())];
    needles.extend(windows("the base64 DER of the private key", &body));
    needles.extend(windows(
        "the URL-safe base64 DER of the private key",
        &URL_SAFE_NO_PAD.encode(&der),
    ));
    needles.extend(windows("the hex DER of the private key", &hex(&der)));

    let start = der
        .windows(P256_SCALAR_PREFIX.len())
        .position(|window| window == P256_SCALAR_PREFIX)
        .expect("a P-256 PKCS#8 key")
        + P256_SCALAR_PREFIX.len();
    let scalar = &der[start..start + 32];
    needles.push(needle("the private scalar as hex", hex(scalar)));
    needles.push(needle(
        "the private scalar as a JWK d",
        URL_SAFE_NO_PAD.encode(scalar),
    ));
    needles
}

/// Returns a JWT and the windows of its signature, the part that cannot be
/// rebuilt from what a log may show.
fn jwt_needles(description: &str, jwt: &str) -> Vec<Needle> {
    let mut needles = vec![needle(description, jwt)];
    if let Some(signature) = jwt.rsplit('.').next() {
        needles.extend(windows(
            &format!("the signature of {description}"),
            signature,
        ));
    }
    needles
}

/// Removes ANSI color sequences, which text logs put around field names.
fn strip_ansi(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            plain.push(c);
            continue;
        }
        for code in chars.by_ref() {
            if code.is_ascii_alphabetic() {
                break;
            }
        }
    }
    plain
}

/// Returns one line per needle found in a haystack.
fn leaks(haystacks: &[Haystack], needles: &[Needle]) -> Vec<String> {
    let mut found = Vec::new();
    for haystack in haystacks {
        let plain = strip_ansi(&haystack.text);
        for needle in needles {
            if haystack.text.contains(&needle.text) || plain.contains(&needle.text) {
                found.push(format!("{} is in {}", needle.description, haystack.source));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

fn output_haystacks(source: &str, output: &Output) -> Vec<Haystack> {
    vec![
        Haystack {
            source: format!("the stdout of {source}"),
            text: String::from_utf8_lossy(&output.stdout).into_owned(),
        },
        Haystack {
            source: format!("the stderr of {source}"),
            text: String::from_utf8_lossy(&output.stderr).into_owned(),
        },
    ]
}

/// Reads the SQLite file and its `-wal` and `-shm` files, where present.
fn database_haystacks(database: &Path) -> Vec<Haystack> {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| {
            let path = format!("{}{suffix}", database.display());
            let bytes = std::fs::read(&path).ok()?;
            Some(Haystack {
                source: path,
                text: String::from_utf8_lossy(&bytes).into_owned(),
            })
        })
        .collect()
}

async fn subcommands() -> String {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_orgsync"))
        .arg("--help")
        .output()
        .await
        .expect("orgsync runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs every command that handles secrets at trace level, and returns what
/// they printed.
async fn run_commands(org: &TestOrg) -> Vec<Haystack> {
    let mut haystacks = Vec::new();
    for format in ["text", "json"] {
        let args = [
            "sync",
            "--log",
            "trace",
            "--log-format",
            format,
            "--progress",
            "plain",
        ];
        let output = org.orgsync(&args).await;
        assert!(output.status.success(), "sync with {format} logs failed");
        haystacks.extend(output_haystacks(&format!("sync ({format} logs)"), &output));
    }

    for format in ["yaml", "json"] {
        let args = ["export", "--format", format, "--log", "trace"];
        let output = org.orgsync(&args).await;
        assert!(output.status.success(), "export as {format} failed");
        haystacks.extend(output_haystacks(&format!("export ({format})"), &output));
    }

    // Builds without the doctor command skip it.
    if subcommands().await.contains("doctor") {
        let output = org.orgsync(&["doctor", "--log", "trace"]).await;
        haystacks.extend(output_haystacks("doctor", &output));
    }
    haystacks
}

/// The bearer tokens of the catalog API for one test.
struct ApiTokens {
    read: String,
    admin: String,
}

impl ApiTokens {
    /// Makes tokens that differ per run, so that no fixed string can match.
    fn new() -> ApiTokens {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default();
        ApiTokens {
            read: format!("read-{nanos:x}-{}", std::process::id()),
            admin: format!("admin-{nanos:x}-{}", std::process::id()),
        }
    }
}

/// Fills the path parameters of a catalog API route with values that exist.
fn fill_route(template: &str, entity: &serde_json::Value) -> String {
    let metadata = &entity["metadata"];
    let values = [
        ("{kind}", entity["kind"].as_str().unwrap_or("user")),
        (
            "{namespace}",
            metadata["namespace"].as_str().unwrap_or("default"),
        ),
        ("{name}", metadata["name"].as_str().unwrap_or("unknown")),
        ("{uid}", metadata["uid"].as_str().unwrap_or("unknown")),
        ("{id}", "test"),
    ];
    let mut path = template.to_string();
    for (parameter, value) in values {
        path = path.replace(parameter, value);
    }
    path
}

/// Returns the paths of every GET route the OpenAPI document lists, with
/// the query parameters that a route requires.
fn get_routes(openapi: &serde_json::Value, entity: &serde_json::Value) -> Vec<String> {
    let Some(paths) = openapi["paths"].as_object() else {
        return Vec::new();
    };
    paths
        .iter()
        .filter(|(_, operations)| operations.get("get").is_some())
        .map(|(template, operations)| {
            let mut path = fill_route(template, entity);
            let required_queries = operations["get"]["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|parameter| parameter["in"] == "query" && parameter["required"] == true)
                .filter_map(|parameter| parameter["name"].as_str());
            for (index, name) in required_queries.enumerate() {
                let separator = if index == 0 { '?' } else { '&' };
                path.push_str(&format!("{separator}{name}=kind"));
            }
            path
        })
        .collect()
}

/// Reads the serve command's stdout up to the line that names its address.
async fn serving_url(
    stdout: tokio::process::ChildStdout,
) -> (String, tokio::task::JoinHandle<String>) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

    let mut reader = BufReader::new(stdout);
    let mut printed = String::new();
    let url = loop {
        let mut line = String::new();
        let read = reader.read_line(&mut line).await.expect("stdout readable");
        assert!(read > 0, "serve exited before serving: {printed}");
        printed.push_str(&line);
        if let Some(url) = line.trim().strip_prefix("orgsync is serving ") {
            break url.to_string();
        }
    };
    let rest = tokio::spawn(async move {
        let _ = reader.read_to_string(&mut printed).await;
        printed
    });
    (url, rest)
}

/// Waits until the server's scheduled sync of provider `test` succeeded.
async fn wait_for_scheduled_run(http: &reqwest::Client, url: &str, read: &str) {
    let runs = format!("{url}/api/orgsync/providers/test/runs");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let response = http.get(&runs).bearer_auth(read).send().await;
        if let Ok(response) = response {
            if response
                .text()
                .await
                .unwrap_or_default()
                .contains("succeeded")
            {
                return;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the scheduled sync did not succeed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Fetches every GET route and returns the responses, headers included.
async fn fetch_routes(
    http: &reqwest::Client,
    url: &str,
    tokens: &ApiTokens,
    entity: &serde_json::Value,
) -> Haystack {
    let openapi: serde_json::Value = http
        .get(format!("{url}/api/openapi.json"))
        .send()
        .await
        .expect("OpenAPI document served")
        .json()
        .await
        .expect("OpenAPI document is JSON");
    let mut routes = get_routes(&openapi, entity);
    assert!(routes.len() > 5, "only {} GET routes listed", routes.len());
    let pages = ui_pages(entity);
    routes.extend(pages.iter().cloned());

    let mut text = String::new();
    for route in routes {
        let response = http
            .get(format!("{url}{route}"))
            .bearer_auth(&tokens.read)
            .send()
            .await
            .expect("route answers");
        if pages.contains(&route) {
            // A page that fails to render would make the scan pass vacuously.
            assert!(
                response.status().is_success(),
                "GET {route} -> {}",
                response.status()
            );
        }
        text.push_str(&format!(
            "GET {route} -> {}\n{:?}\n",
            response.status(),
            response.headers()
        ));
        text.push_str(&response.text().await.unwrap_or_default());
        text.push('\n');
    }
    Haystack {
        source: "the API responses and UI pages".to_string(),
        text,
    }
}

/// Returns the web UI's pages, with `entity` filling the entity pages, as
/// the OpenAPI document lists only the API.
fn ui_pages(entity: &serde_json::Value) -> Vec<String> {
    let name = entity["metadata"]["name"].as_str().expect("entity name");
    let kind = entity["kind"].as_str().expect("entity kind");
    let page = if kind == "User" { "users" } else { "groups" };
    [
        "/".to_string(),
        "/users".to_string(),
        "/users?q=a".to_string(),
        "/groups".to_string(),
        "/runs".to_string(),
        "/runs/test".to_string(),
        "/sign-in".to_string(),
        format!("/{page}/{name}"),
    ]
    .into()
}

/// Runs `orgsync serve` at trace level until its first scheduled sync
/// succeeded, fetches every GET route, and returns what it printed and
/// served, and the database files as they are while it runs.
async fn run_server(org: &mut TestOrg, tokens: &ApiTokens) -> Vec<Haystack> {
    org.reconfigure("        schedule:\n          initialDelay: { milliseconds: 100 }\n");
    let entity = org.catalog().await.into_iter().next().expect("an entity");
    let mut command = org.command(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--log",
        "trace",
        "--log-format",
        "json",
    ]);
    command
        .env("ORGSYNC_READ_TOKEN", &tokens.read)
        .env("ORGSYNC_ADMIN_TOKEN", &tokens.admin)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("serve starts");
    let stderr = child.stderr.take().expect("stderr piped");
    let logs = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut text = String::new();
        let _ = tokio::io::BufReader::new(stderr)
            .read_to_string(&mut text)
            .await;
        text
    });
    let (url, stdout) = serving_url(child.stdout.take().expect("stdout piped")).await;

    let http = reqwest::Client::new();
    wait_for_scheduled_run(&http, &url, &tokens.read).await;
    let mut haystacks = vec![fetch_routes(&http, &url, tokens, &entity).await];
    haystacks.extend(database_haystacks(&org.database()));

    let _ = child.start_kill();
    let _ = child.wait().await;
    haystacks.push(Haystack {
        source: "the stdout of serve".to_string(),
        text: stdout.await.unwrap_or_default(),
    });
    haystacks.push(Haystack {
        source: "the stderr of serve".to_string(),
        text: logs.await.unwrap_or_default(),
    });
    haystacks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_hold_no_secrets() {
    let mut org = TestOrg::start(FakeOkta::builder().generated(120, 10, 17), "").await;
    let api_tokens = ApiTokens::new();
    let mut haystacks = run_commands(&org).await;
    haystacks.extend(database_haystacks(&org.database()));
    haystacks.extend(run_server(&mut org, &api_tokens).await);

    let credentials = org.fake.credentials.as_ref().expect("generated client");
    let auth = org.fake.auth();
    let tokens = auth.issued_access_tokens();
    let assertions = auth.received_client_assertions();
    assert!(!tokens.is_empty(), "fake-okta issued no access token");
    assert!(!assertions.is_empty(), "fake-okta received no assertion");

    let mut needles = key_needles(&credentials.private_key_pem);
    for token in &tokens {
        needles.extend(jwt_needles("an access token", token));
    }
    for assertion in &assertions {
        needles.extend(jwt_needles("a client assertion", assertion));
    }
    needles.push(needle(
        "the catalog API read token",
        api_tokens.read.as_str(),
    ));
    needles.push(needle(
        "the catalog API admin token",
        api_tokens.admin.as_str(),
    ));

    let trace_lines: usize = haystacks.iter().map(|h| h.text.lines().count()).sum();
    assert!(trace_lines > 100, "only {trace_lines} lines were scanned");
    let found = leaks(&haystacks, &needles);
    assert!(found.is_empty(), "secrets leaked:\n{}", found.join("\n"));
}

#[test]
fn scan_finds_planted_secrets() {
    let credentials =
        fake_okta::auth::generate_credentials(fake_okta::auth::KeyKind::EcP256, Some(5));
    let needles = key_needles(&credentials.private_key_pem);
    let body: String = credentials
        .private_key_pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let planted = Haystack {
        source: "a planted log".to_string(),
        text: format!("\u{1b}[2mkey\u{1b}[0m={}", &body[20..70]),
    };

    let found = leaks(&[planted], &needles);

    let expected = "the base64 DER of the private key is in a planted log";
    assert!(found.iter().any(|leak| leak == expected), "{found:?}");
}

#[test]
fn strip_ansi_keeps_text() {
    assert_eq!(strip_ansi("\u{1b}[2mtoken\u{1b}[0m=abc"), "token=abc");
}
