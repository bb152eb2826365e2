//! Measures org generation and paging throughput of fake-okta.
//!
//! Run with `cargo run --release -p fake-okta --example bench_fake -- [USERS
//! GROUPS MEMBERSHIPS]` (default 100000 5000 1000000). It prints a Markdown
//! table: generation time, resident memory after generation, and pages per
//! second for full walks of `/api/v1/users`, `/api/v1/groups` and the largest
//! group's members, over loopback with one client and with eight at once.

use std::time::Instant;

use fake_okta::generate::{generate_org, GenerateOptions};
use fake_okta::limits::RateLimitConfig;
use fake_okta::server::{FakeOkta, RunningFakeOkta};

const SCOPES: [&str; 2] = ["okta.users.read", "okta.groups.read"];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let numbers: Vec<usize> = std::env::args()
        .skip(1)
        .map(|arg| arg.parse())
        .collect::<Result<_, _>>()?;
    let users = numbers.first().copied().unwrap_or(100_000);
    let groups = numbers.get(1).copied().unwrap_or(5_000);
    let memberships = numbers.get(2).copied().unwrap_or(users * 10);

    let mut options = GenerateOptions::new(users, groups, 1);
    options.memberships = Some(memberships);
    let started = Instant::now();
    let cpu_before = cpu_seconds();
    let org = generate_org(&options);
    let generation = started.elapsed();
    let generation_cpu = cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    println!("| measurement | result |");
    println!("| --- | --- |");
    println!(
        "| generate {} users, {} groups, {} memberships | {:.2} s |",
        org.user_count(),
        org.group_count(),
        org.membership_count(),
        generation.as_secs_f64()
    );
    if let Some(cpu) = generation_cpu {
        println!("| CPU time of that generation (user + system) | {cpu:.2} s |");
    }
    if let Some(rss) = resident_memory_mib() {
        println!("| resident memory after generation | {rss} MiB |");
    }

    let largest = org
        .groups_after(None)
        .filter(|group| group.group_type() != "BUILT_IN")
        .max_by_key(|group| org.member_count(group.id()))
        .map(|group| group.id().to_owned())
        .unwrap_or_default();
    let fake = FakeOkta::builder()
        .org(org)
        .rate_limits(RateLimitConfig::unlimited())
        .with_generated_client(&SCOPES)
        .start_on_loopback()
        .await?;

    let walks = [
        ("/api/v1/users?limit=200".to_owned(), "users, limit 200"),
        ("/api/v1/groups?limit=200".to_owned(), "groups, limit 200"),
        (
            format!("/api/v1/groups/{largest}/users?limit=1000"),
            "largest group's members, limit 1000",
        ),
    ];
    for (path, label) in &walks {
        let (pages, seconds) = walk(&fake, path).await?;
        let rate = pages as f64 / seconds;
        println!("| walk {label}: {pages} pages | {seconds:.2} s, {rate:.0} pages/s |");
    }

    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let base = fake.base_url.clone();
        let token = fake.access_token(&SCOPES).unwrap_or_default();
        tasks.push(tokio::spawn(async move {
            walk_url(&base, &token, "/api/v1/users?limit=200").await
        }));
    }
    let mut pages = 0;
    for task in tasks {
        pages += task.await??;
    }
    let seconds = started.elapsed().as_secs_f64();
    let rate = pages as f64 / seconds;
    println!(
        "| 8 clients walking users at once: {pages} pages | {seconds:.2} s, {rate:.0} pages/s |"
    );

    fake.shutdown().await;
    Ok(())
}

/// Follows `next` links from `path`; returns the pages read and the seconds.
async fn walk(fake: &RunningFakeOkta, path: &str) -> anyhow::Result<(usize, f64)> {
    let token = fake.access_token(&SCOPES).unwrap_or_default();
    let started = Instant::now();
    let pages = walk_url(&fake.base_url, &token, path).await?;
    Ok((pages, started.elapsed().as_secs_f64()))
}

async fn walk_url(base: &str, token: &str, path: &str) -> anyhow::Result<usize> {
    let http = reqwest::Client::new();
    let mut url = Some(format!("{base}{path}"));
    let mut pages = 0;
    while let Some(current) = url.take() {
        let response = http.get(&current).bearer_auth(token).send().await?;
        anyhow::ensure!(
            response.status().is_success(),
            "{current}: {}",
            response.status()
        );
        url = next_link(response.headers());
        response.bytes().await?;
        pages += 1;
    }
    Ok(pages)
}

fn next_link(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers.get_all("link").iter().find_map(|value| {
        let text = value.to_str().ok()?;
        let (url, relation) = text.split_once(">; ")?;
        (relation == "rel=\"next\"").then(|| url.trim_start_matches('<').to_owned())
    })
}

/// Returns the CPU time this process used so far (user and system), in
/// seconds, from `/proc` (Linux only). The clock tick is assumed to be 100 Hz,
/// the value on common Linux builds.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesized command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = stat.rsplit_once(") ")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / 100.0)
}

/// Returns the resident memory of this process in MiB, from `/proc` (Linux
/// only).
fn resident_memory_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}
