//! The `backend:` section: the catalog database, the HTTP listen address and
//! the public base URL.
//!
//! The section has the shape of a Backstage backend config, so that a
//! Backstage app-config can be reused. Keys orgsync does not read (`cors`,
//! `cache`, …) are ignored unless they look like a misspelled key it reads.

use std::fmt;
use std::path::PathBuf;

use serde_json::{Map, Value};
use url::Url;

use crate::auth::{read_auth, ApiAuth};
use crate::context::{show, Context, KeyPath};
use crate::read::{Fields, Strictness};

/// The database the catalog is stored in.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseConfig {
    pub client: DatabaseClient,
    /// A file path (SQLite; relative to the working directory, or
    /// `:memory:`) or a `postgres://` URL (PostgreSQL).
    pub connection: String,
}

/// The database engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseClient {
    Sqlite,
    Postgres,
}

impl Default for DatabaseConfig {
    fn default() -> DatabaseConfig {
        DatabaseConfig {
            client: DatabaseClient::Sqlite,
            connection: DEFAULT_SQLITE_PATH.to_string(),
        }
    }
}

/// Debug shows the connection with any password replaced, because
/// PostgreSQL URLs often carry one.
impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("client", &self.client)
            .field("connection", &redact_connection(&self.connection))
            .finish()
    }
}

/// The address the HTTP server listens on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenConfig {
    pub host: String,
    pub port: u16,
}

impl Default for ListenConfig {
    fn default() -> ListenConfig {
        ListenConfig {
            host: DEFAULT_LISTEN_HOST.to_string(),
            port: DEFAULT_LISTEN_PORT,
        }
    }
}

pub(crate) const DEFAULT_SQLITE_PATH: &str = "./data/orgsync.sqlite";
/// Loopback by default, so that a fresh install is not reachable from the
/// network until someone decides it should be.
pub(crate) const DEFAULT_LISTEN_HOST: &str = "127.0.0.1";
pub(crate) const DEFAULT_LISTEN_PORT: u16 = 7007;

pub(crate) const BACKEND_KEYS: &[&str] =
    &["baseUrl", "listen", "database", "auth", "secretKeyFile"];
pub(crate) const DATABASE_KEYS: &[&str] = &["client", "connection"];
pub(crate) const LISTEN_KEYS: &[&str] = &["host", "port"];

/// The parts of `backend:` that orgsync reads.
#[derive(Debug, Default)]
pub(crate) struct Backend {
    pub(crate) database: DatabaseConfig,
    pub(crate) listen: ListenConfig,
    pub(crate) base_url: Option<Url>,
    pub(crate) secret_key_file: Option<PathBuf>,
    pub(crate) auth: ApiAuth,
}

/// Reads `backend:`; every key is optional.
pub(crate) fn read_backend(
    context: &mut Context,
    path: &KeyPath,
    map: &Map<String, Value>,
) -> Backend {
    let fields = Fields::new(path, map);
    fields.check_keys(context, BACKEND_KEYS, &[], Strictness::Shared);
    let auth = fields
        .map(
            context,
            "auth",
            "write auth: { readToken: ${ORGSYNC_READ_TOKEN}, adminToken: ${ORGSYNC_ADMIN_TOKEN} }",
        )
        .map(|map| read_auth(context, &path.key("auth"), map))
        .unwrap_or_default();

    let database = fields
        .map(
            context,
            "database",
            "write database: { client: sqlite, connection: ./data/orgsync.sqlite }",
        )
        .map(|map| read_database(context, &path.key("database"), map))
        .unwrap_or_default();
    let listen = match fields.raw("listen") {
        Some(value) => read_listen(context, &path.key("listen"), value).unwrap_or_default(),
        None => ListenConfig::default(),
    };
    let base_url = read_base_url(context, &fields);
    let secret_key_file = read_secret_key_file(context, &fields);

    Backend {
        database,
        listen,
        base_url,
        secret_key_file,
        auth,
    }
}

fn read_database(
    context: &mut Context,
    path: &KeyPath,
    map: &Map<String, Value>,
) -> DatabaseConfig {
    let fields = Fields::new(path, map);
    fields.check_keys(context, DATABASE_KEYS, &[], Strictness::Shared);

    let client = fields
        .string(context, "client")
        .and_then(|name| parse_client(context, &path.key("client"), &name))
        .unwrap_or(DatabaseClient::Sqlite);
    let connection = match fields.raw("connection") {
        Some(Value::Object(_)) => {
            context.error(
                &path.key("connection"),
                Some("a map".to_string()),
                "is a map of connection settings, which orgsync does not read",
                "write a single URL, such as postgres://user:password@host:5432/orgsync",
            );
            None
        }
        _ => fields.string(context, "connection"),
    };
    let connection = match (client, connection) {
        (_, Some(connection)) => connection,
        (DatabaseClient::Sqlite, None) => DEFAULT_SQLITE_PATH.to_string(),
        (DatabaseClient::Postgres, None) => {
            if fields.is_missing(context, "connection") {
                context.error(
                    path,
                    None,
                    "sets client: pg but no connection",
                    "add connection: postgres://user:password@host:5432/orgsync",
                );
            }
            String::new()
        }
    };
    check_connection(context, &path.key("connection"), client, &connection);
    DatabaseConfig { client, connection }
}

/// Accepts Backstage's client names: `pg`, and `better-sqlite3` or
/// `sqlite3` besides orgsync's own `sqlite`.
fn parse_client(context: &mut Context, path: &KeyPath, name: &str) -> Option<DatabaseClient> {
    match name {
        "sqlite" | "sqlite3" | "better-sqlite3" => Some(DatabaseClient::Sqlite),
        "pg" => Some(DatabaseClient::Postgres),
        other => {
            let fix = if other.to_ascii_lowercase().starts_with("postgres") {
                "write pg for PostgreSQL"
            } else {
                "write sqlite or pg"
            };
            context.error(
                path,
                Some(show(&Value::String(other.to_string()))),
                "is not a supported database client",
                fix,
            );
            None
        }
    }
}

fn check_connection(
    context: &mut Context,
    path: &KeyPath,
    client: DatabaseClient,
    connection: &str,
) {
    let is_postgres_url =
        connection.starts_with("postgres://") || connection.starts_with("postgresql://");
    let displayed = Some(show(&Value::String(redact_connection(connection))));
    match client {
        DatabaseClient::Postgres if !connection.is_empty() && !is_postgres_url => context.error(
            path,
            displayed,
            "is not a PostgreSQL URL",
            "write postgres://user:password@host:5432/orgsync",
        ),
        DatabaseClient::Sqlite if is_postgres_url => context.error(
            path,
            displayed,
            "is a PostgreSQL URL, but client is sqlite",
            "set client: pg",
        ),
        DatabaseClient::Sqlite if connection.is_empty() => context.error(
            path,
            displayed,
            "is empty",
            format!("write a file path such as {DEFAULT_SQLITE_PATH}, or :memory:"),
        ),
        _ => {}
    }
}

/// Replaces the password of a URL-shaped connection string with `***`.
pub(crate) fn redact_connection(connection: &str) -> String {
    match Url::parse(connection) {
        Ok(mut url) if url.password().is_some() => {
            // Setting a password only fails for URLs without a host, and
            // those cannot have had one.
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => connection.to_string(),
    }
}

/// Reads `listen:` as `{ host, port }`, or as Backstage's string form
/// `host:port` or `:port`.
fn read_listen(context: &mut Context, path: &KeyPath, value: &Value) -> Option<ListenConfig> {
    match value {
        Value::Object(map) => {
            let fields = Fields::new(path, map);
            fields.check_keys(context, LISTEN_KEYS, &[], Strictness::Strict);
            let host = fields
                .string(context, "host")
                .unwrap_or_else(|| DEFAULT_LISTEN_HOST.to_string());
            let port = fields
                .integer(context, "port", 0, u64::from(u16::MAX))
                .map_or(DEFAULT_LISTEN_PORT, |port| port as u16);
            Some(ListenConfig { host, port })
        }
        Value::String(text) => parse_listen_string(text).or_else(|| {
            context.error(
                path,
                Some(show(value)),
                "is not host:port",
                "write listen: { host: 127.0.0.1, port: 7007 }",
            );
            None
        }),
        other => {
            context.error(
                path,
                Some(show(other)),
                "is not a map",
                "write listen: { host: 127.0.0.1, port: 7007 }",
            );
            None
        }
    }
}

fn parse_listen_string(text: &str) -> Option<ListenConfig> {
    let (host, port) = text.rsplit_once(':')?;
    let port = port.parse::<u16>().ok()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = if host.is_empty() {
        DEFAULT_LISTEN_HOST
    } else {
        host
    };
    Some(ListenConfig {
        host: host.to_string(),
        port,
    })
}

fn read_base_url(context: &mut Context, fields: &Fields<'_>) -> Option<Url> {
    let text = fields.string(context, "baseUrl")?;
    match Url::parse(&text) {
        Ok(url) if url.scheme() == "http" || url.scheme() == "https" => Some(url),
        _ => {
            context.error(
                &fields.path.key("baseUrl"),
                Some(show(&Value::String(text))),
                "is not an http or https URL",
                "write the URL people use to reach orgsync, such as https://orgsync.example.com",
            );
            None
        }
    }
}

fn read_secret_key_file(context: &mut Context, fields: &Fields<'_>) -> Option<PathBuf> {
    let text = fields.string(context, "secretKeyFile")?;
    if text.trim().is_empty() {
        context.error(
            &fields.path.key("secretKeyFile"),
            Some(show(&Value::String(text))),
            "is empty",
            "write a file path such as ./data/orgsync-secret.key, or remove it to use the default",
        );
        return None;
    }
    Some(PathBuf::from(text.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn backend(value: Value) -> (Backend, Context) {
        let mut context = Context::default();
        let path = KeyPath::root().key("backend");
        let backend = read_backend(&mut context, &path, value.as_object().unwrap());
        (backend, context)
    }

    #[test]
    fn defaults_to_sqlite_file() {
        let (read, _) = backend(json!({}));
        assert_eq!(read.database, DatabaseConfig::default());
    }

    #[test]
    fn pg_with_url_is_accepted() {
        let (read, context) = backend(
            json!({"database": {"client": "pg", "connection": "postgres://u:p@db/orgsync"}}),
        );
        assert!(context.errors.is_empty());
        assert_eq!(read.database.client, DatabaseClient::Postgres);
    }

    #[test]
    fn pg_without_connection_is_rejected() {
        let (_, context) = backend(json!({"database": {"client": "pg"}}));
        assert_eq!(context.errors[0].key_path, "backend.database");
    }

    #[test]
    fn postgres_client_name_suggests_pg() {
        let (_, context) = backend(json!({"database": {"client": "postgresql"}}));
        assert_eq!(context.errors[0].fix, "write pg for PostgreSQL");
    }

    #[test]
    fn postgres_url_with_sqlite_client_is_rejected() {
        let (_, context) = backend(json!({"database": {"connection": "postgres://db/orgsync"}}));
        assert_eq!(context.errors[0].fix, "set client: pg");
    }

    #[test]
    fn connection_password_is_redacted_in_errors() {
        let (_, context) =
            backend(json!({"database": {"connection": "postgres://u:hunter2@db/x"}}));
        assert!(!context.errors[0].to_string().contains("hunter2"));
    }

    #[test]
    fn connection_password_is_redacted_in_debug() {
        let config = DatabaseConfig {
            client: DatabaseClient::Postgres,
            connection: "postgres://u:hunter2@db/x".to_string(),
        };
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn listen_map_is_read() {
        let (read, _) = backend(json!({"listen": {"host": "0.0.0.0", "port": 8080}}));
        assert_eq!(
            read.listen,
            ListenConfig {
                host: "0.0.0.0".into(),
                port: 8080
            }
        );
    }

    #[test]
    fn listen_port_string_is_read() {
        let (read, _) = backend(json!({"listen": ":7100"}));
        assert_eq!(read.listen.port, 7100);
    }

    #[test]
    fn listen_port_out_of_range_is_rejected() {
        let (_, context) = backend(json!({"listen": {"port": 70000}}));
        assert_eq!(context.errors[0].key_path, "backend.listen.port");
    }

    #[test]
    fn auth_tokens_are_read() {
        let (read, context) = backend(json!({"auth": {
            "keys": [],
            "adminToken": "admin-0123456789abcdef",
        }}));
        assert!(context.warnings.is_empty(), "{:?}", context.warnings);
        assert_eq!(
            read.auth.admin_token.as_deref(),
            Some("admin-0123456789abcdef")
        );
        assert_eq!(read.auth.read_token, None);
    }

    #[test]
    fn auth_that_is_not_a_map_is_rejected() {
        let (_, context) = backend(json!({"auth": "token"}));
        assert_eq!(context.errors[0].key_path, "backend.auth");
    }

    #[test]
    fn misspelled_database_is_caught() {
        let (_, context) = backend(json!({"databse": {}}));
        assert_eq!(context.errors[0].fix, "did you mean `database`?");
    }

    #[test]
    fn base_url_is_read() {
        let (read, _) = backend(json!({"baseUrl": "https://orgsync.example.com"}));
        assert!(read.base_url.is_some());
    }
}
