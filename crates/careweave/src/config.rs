//! Layered settings: built-in defaults, then a TOML file, then `CAREWEAVE_*` environment variables.

use std::path::Path;
use std::str::FromStr;

use anyhow::Context;
use careweave_store::{DatabaseUrl, Store};
use careweave_web::Settings;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;

/// The settings file read when `--config` is not given, if it exists.
const DEFAULT_FILE: &str = "careweave.toml";

/// The settings that environment variables may set, as `CAREWEAVE_<KEY>`.
const SETTINGS_KEYS: &[&str] = &[
    "database_url",
    "host",
    "port",
    "session_hours",
    "secure_cookies",
    "sign_in_backoff_cap_seconds",
    "refer_per_hour",
    "trust_forwarded_for",
    "instruments_dir",
    "break_glass_hours",
    "timezone",
    "public_base_url",
    // Keys and tokens are better kept in the environment than in a file beside the database.
    "mfa_secret_key",
    "metrics_token",
];

/// Loads settings. A `--config` file that does not exist is an error; the default file is optional.
pub fn load(file: Option<&Path>) -> anyhow::Result<Settings> {
    let mut figment = Figment::from(Serialized::defaults(Settings::default()));
    match file {
        Some(path) => {
            anyhow::ensure!(
                path.is_file(),
                "settings file {} does not exist",
                path.display()
            );
            figment = figment.merge(Toml::file(path));
        }
        None => figment = figment.merge(Toml::file(DEFAULT_FILE)),
    }
    figment
        // Only the settings' own keys: other CAREWEAVE_* variables (the log format, the test
        // suite's) belong to other readers and must not make start-up fail.
        .merge(Env::prefixed("CAREWEAVE_").only(SETTINGS_KEYS))
        .extract()
        .context("invalid settings")
}

/// Opens the configured database (without migrating it), reading "today" on the system clock
/// in the `timezone` setting so that commands decide dates as the running service does.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let url = DatabaseUrl::from_str(&settings.database_url)?;
    let zone = careweave_domain::clock::parse_time_zone(&settings.timezone)
        .context("the timezone setting")?;
    Ok(Store::connect(&url)
        .await
        .with_context(|| format!("could not open the database at {}", url.redacted()))?
        .with_clock(careweave_domain::clock::Clock::system(zone)))
}

#[cfg(test)]
// figment's `Jail` closures must return `figment::Result`, whose error is large; that is its API.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("custom.toml", "port = 9000\nhost = \"0.0.0.0\"\n")?;
            jail.set_env("CAREWEAVE_PORT", "9100");
            jail.set_env("CAREWEAVE_BIN", "/somewhere/else");
            // Every setting the README lists with a variable can be set by it.
            jail.set_env("CAREWEAVE_TIMEZONE", "Europe/Dublin");
            jail.set_env("CAREWEAVE_METRICS_TOKEN", "scrape");
            jail.set_env("CAREWEAVE_REFER_PER_HOUR", "5");
            let s = load(Some(Path::new("custom.toml"))).expect("settings load");
            assert_eq!(s.host, "0.0.0.0");
            assert_eq!(s.port, 9100);
            assert_eq!(s.database_url, Settings::default().database_url);
            assert_eq!(s.timezone, "Europe/Dublin");
            assert_eq!(s.refer_per_hour, 5);
            assert!(s.metrics_token.is_some());
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_missing_files_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "prot = 9000\n")?;
            assert!(load(Some(Path::new("bad.toml"))).is_err());
            assert!(load(Some(Path::new("missing.toml"))).is_err());
            Ok(())
        });
    }

    #[test]
    fn a_retention_table_changes_only_what_it_names() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("r.toml", "[retention]\nclosed_case_years = 10\n")?;
            let s = load(Some(Path::new("r.toml"))).expect("settings load");
            assert_eq!(s.retention.closed_case_years, 10);
            assert_eq!(s.retention.directory_years, 8);
            jail.create_file("typo.toml", "[retention]\nclosed_cases_years = 10\n")?;
            assert!(load(Some(Path::new("typo.toml"))).is_err());
            Ok(())
        });
    }
}
