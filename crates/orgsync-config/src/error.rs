//! Errors and warnings found while loading a config.
//!
//! Every problem is reported as a *diagnostic*: the file the value came from,
//! the key path of the value (`catalog.providers.okta.default.oktaUrl`), the
//! value itself (redacted when it is a secret), what is wrong with it and how
//! to fix it. Loading collects all of them instead of stopping at the first.

use std::fmt;

/// One thing wrong with the config. Loading fails when there is at least one.
///
/// Displays as
/// `app-config.yaml: catalog.providers.okta.default.oktaUrl: "https://acme-admin.okta.com" is the admin console URL; use the org URL "https://acme.okta.com"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(self.file.as_str(), self.line, &self.key_path, self.value.as_deref(), &self.problem, &self.fix))]
pub struct ConfigError {
    /// The config file the value came from, as it was given on the command
    /// line. Several files are separated by ", " when the problem is not tied to one.
    pub file: String,
    /// The 1-based line, when known (YAML syntax errors only).
    pub line: Option<usize>,
    /// Dotted key path of the value at fault; list items as `[index]`.
    pub key_path: String,
    /// The value at fault, rendered for display; secrets are replaced by a
    /// placeholder such as `<private key, 1679 characters>`.
    pub value: Option<String>,
    /// The problem, written to follow the value when there is one
    /// ("is the admin console URL"), otherwise a whole clause.
    pub problem: String,
    /// How to fix it.
    pub fix: String,
}

/// Something in the config that works but should change (an old key name,
/// a setting that has no effect). Loading succeeds with warnings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The config file the value came from.
    pub file: String,
    /// Dotted key path of the value the warning is about.
    pub key_path: String,
    /// The value, rendered for display and redacted like [`ConfigError::value`].
    pub value: Option<String>,
    /// The problem with the value.
    pub problem: String,
    /// The change to make.
    pub fix: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&render(
            &self.file,
            None,
            &self.key_path,
            self.value.as_deref(),
            &self.problem,
            &self.fix,
        ))
    }
}

/// Every error found in the config, in the order they were found.
///
/// Displays one error per line. An invalid search expression adds two
/// indented lines: the expression and a caret under the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// Returns the errors whose key path is exactly `key_path`.
    pub fn at(&self, key_path: &str) -> Vec<&ConfigError> {
        self.0.iter().filter(|e| e.key_path == key_path).collect()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

/// Formats a diagnostic as `file[:line]: key.path: value problem; fix`.
fn render(
    file: &str,
    line: Option<usize>,
    key_path: &str,
    value: Option<&str>,
    problem: &str,
    fix: &str,
) -> String {
    let mut text = file.to_string();
    if let Some(line) = line {
        text.push_str(&format!(":{line}"));
    }
    text.push_str(": ");
    if !key_path.is_empty() {
        text.push_str(key_path);
        text.push_str(": ");
    }
    if let Some(value) = value {
        text.push_str(value);
        text.push(' ');
    }
    text.push_str(problem);
    if !fix.is_empty() {
        text.push_str("; ");
        text.push_str(fix);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin_url_error() -> ConfigError {
        ConfigError {
            file: "app-config.yaml".into(),
            line: None,
            key_path: "catalog.providers.okta.default.oktaUrl".into(),
            value: Some("\"https://acme-admin.okta.com\"".into()),
            problem: "is the admin console URL".into(),
            fix: "use the org URL \"https://acme.okta.com\"".into(),
        }
    }

    #[test]
    fn error_display_reads_as_one_sentence() {
        let expected = "app-config.yaml: catalog.providers.okta.default.oktaUrl: \
            \"https://acme-admin.okta.com\" is the admin console URL; \
            use the org URL \"https://acme.okta.com\"";
        assert_eq!(admin_url_error().to_string(), expected);
    }

    #[test]
    fn error_display_shows_line_when_known() {
        let error = ConfigError {
            line: Some(7),
            value: None,
            key_path: String::new(),
            problem: "invalid YAML".into(),
            ..admin_url_error()
        };
        assert!(error
            .to_string()
            .starts_with("app-config.yaml:7: invalid YAML;"));
    }

    #[test]
    fn errors_display_one_per_line() {
        let errors = ConfigErrors(vec![admin_url_error(), admin_url_error()]);
        assert_eq!(errors.to_string().lines().count(), 2);
    }
}
