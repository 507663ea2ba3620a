//! Typed configuration from environment variables, validated at start-up. Every variable is
//! listed in `docs/CONFIGURATION.md`; an invalid one stops start-up with a message naming it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tenancy::{ShardId, TenancyOptions};

#[derive(Debug, thiserror::Error)]
#[error("configuration error: {var} {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Clone, Debug)]
pub struct Config {
    /// `None` → the embedded PostgreSQL under `data_dir/pg`.
    pub database_url: Option<String>,
    /// Extra shards: `SWIFTACARE_SHARD_URLS="eu2=postgres://…;eu3=postgres://…"`.
    pub extra_shards: HashMap<ShardId, String>,
    pub addr: SocketAddr,
    pub public_url: Option<String>,
    pub base_domain: Option<String>,
    pub data_dir: PathBuf,
    pub pool_size: usize,
    pub pool_wait: Duration,
    pub tenant_cache_ttl: Duration,
    pub max_body_bytes: usize,
    pub migrate_concurrency: usize,
    /// How many jobs the embedded runner handles at once (each in its own transaction).
    pub job_concurrency: usize,
    pub log_format: LogFormat,
    pub log_filter: String,
    pub web_dir: Option<PathBuf>,
    /// `None` → mail is written as `.eml` files under `data_dir/mail`.
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// `None` → sign-in throttling counters live in this process.
    pub redis_url: Option<String>,
    /// RabbitMQ for jobs (`swiftacare worker`); `None` → `serve` runs the outbox itself.
    pub amqp_url: Option<String>,
    pub redis_prefix: String,
    pub trust_forwarded_for: bool,
    /// SMS gateways may be on loopback or private networks (tests, an in-house gateway).
    pub sms_allow_private: bool,
    /// The access-token signing key (≥ 32 bytes); `None` → a key file in `data_dir`.
    pub token_key: Option<Vec<u8>>,
}

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// `true`/`1` or `false`/`0`; unset means false.
fn flag(env: Env, name: &'static str) -> Result<bool, ConfigError> {
    match var(env, name).as_deref() {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(_) => Err(ConfigError {
            var: name,
            problem: "must be true or false".into(),
        }),
    }
}

fn var(env: Env, name: &'static str) -> Option<String> {
    env(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn parsed<T: std::str::FromStr>(
    env: Env,
    name: &'static str,
    default: T,
    what: &str,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match var(env, name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|e| ConfigError {
            var: name,
            problem: format!("must be {what} ({e})"),
        }),
    }
}

fn ranged(
    env: Env,
    name: &'static str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    let v: u64 = parsed(env, name, default, "a whole number")?;
    if !(min..=max).contains(&v) {
        return Err(ConfigError {
            var: name,
            problem: format!("must be between {min} and {max}, got {v}"),
        });
    }
    Ok(v)
}

fn postgres_url(name: &'static str, v: &str) -> Result<String, ConfigError> {
    if v.starts_with("postgres://") || v.starts_with("postgresql://") {
        Ok(v.to_owned())
    } else {
        Err(ConfigError {
            var: name,
            problem: "must be a postgres:// or postgresql:// URL".into(),
        })
    }
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(&|k| std::env::var(k).ok())
    }

    pub fn from_lookup(env: Env) -> Result<Config, ConfigError> {
        let database_url = var(env, "DATABASE_URL")
            .map(|v| postgres_url("DATABASE_URL", &v))
            .transpose()?;
        let mut extra_shards = HashMap::new();
        if let Some(spec) = var(env, "SWIFTACARE_SHARD_URLS") {
            for entry in spec.split(';').map(str::trim).filter(|e| !e.is_empty()) {
                let bad = |p: &str| ConfigError {
                    var: "SWIFTACARE_SHARD_URLS",
                    problem: p.to_owned(),
                };
                let (name, url) = entry
                    .split_once('=')
                    .ok_or_else(|| bad("entries must be name=postgres://…"))?;
                let shard = ShardId::parse(name.trim()).ok_or_else(|| {
                    bad("shard names are lowercase letters, digits and _ (start with a letter)")
                })?;
                if shard == ShardId::primary() {
                    return Err(bad("`primary` is DATABASE_URL; do not list it"));
                }
                extra_shards.insert(shard, postgres_url("SWIFTACARE_SHARD_URLS", url.trim())?);
            }
        }
        if !extra_shards.is_empty() && database_url.is_none() {
            return Err(ConfigError {
                var: "SWIFTACARE_SHARD_URLS",
                problem: "requires DATABASE_URL".into(),
            });
        }
        let base_domain = var(env, "SWIFTACARE_BASE_DOMAIN")
            .map(|d| d.trim_start_matches('.').to_ascii_lowercase());
        if let Some(d) = &base_domain
            && (!d.contains('.') || d.contains('/') || d.contains(':'))
        {
            return Err(ConfigError {
                var: "SWIFTACARE_BASE_DOMAIN",
                problem: "must be a bare domain such as swiftacare.example".into(),
            });
        }
        let log_format = match var(env, "SWIFTACARE_LOG_FORMAT").as_deref() {
            None | Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(other) => {
                return Err(ConfigError {
                    var: "SWIFTACARE_LOG_FORMAT",
                    problem: format!("must be json or pretty, got {other:?}"),
                });
            }
        };
        let public_url = var(env, "SWIFTACARE_PUBLIC_URL");
        if let Some(u) = &public_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err(ConfigError {
                var: "SWIFTACARE_PUBLIC_URL",
                problem: "must start with http:// or https://".into(),
            });
        }
        Ok(Config {
            database_url,
            extra_shards,
            addr: parsed(
                env,
                "SWIFTACARE_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 8080)),
                "host:port",
            )?,
            public_url,
            base_domain,
            data_dir: PathBuf::from(
                var(env, "SWIFTACARE_DATA_DIR").unwrap_or_else(|| ".swiftacare".into()),
            ),
            pool_size: ranged(env, "SWIFTACARE_DB_POOL_SIZE", 16, 1, 1000)? as usize,
            pool_wait: Duration::from_millis(ranged(
                env,
                "SWIFTACARE_DB_POOL_WAIT_MS",
                3000,
                10,
                60_000,
            )?),
            tenant_cache_ttl: Duration::from_secs(ranged(
                env,
                "SWIFTACARE_TENANT_CACHE_TTL_SECS",
                5,
                0,
                300,
            )?),
            max_body_bytes: ranged(env, "SWIFTACARE_MAX_BODY_BYTES", 1 << 20, 1024, 1 << 30)?
                as usize,
            migrate_concurrency: ranged(env, "SWIFTACARE_MIGRATE_CONCURRENCY", 4, 1, 64)? as usize,
            job_concurrency: ranged(
                env,
                "SWIFTACARE_JOB_CONCURRENCY",
                crate::jobs::DEFAULT_CONCURRENCY as u64,
                1,
                64,
            )? as usize,
            log_format,
            log_filter: {
                let f = var(env, "SWIFTACARE_LOG").unwrap_or_else(|| "info".into());
                if tracing_subscriber::EnvFilter::try_new(&f).is_err() {
                    return Err(ConfigError {
                        var: "SWIFTACARE_LOG",
                        problem: format!(
                            "is not a valid log filter ({f:?}); e.g. info, warn, swiftacare_api=debug"
                        ),
                    });
                }
                f
            },
            web_dir: var(env, "SWIFTACARE_WEB_DIR").map(PathBuf::from),
            smtp_url: match var(env, "SWIFTACARE_SMTP_URL") {
                Some(u) if u.starts_with("smtp://") || u.starts_with("smtps://") => Some(u),
                Some(_) => {
                    return Err(ConfigError {
                        var: "SWIFTACARE_SMTP_URL",
                        problem:
                            "must be smtp://[user:pass@]host[:port][?tls=required] or smtps://…"
                                .into(),
                    });
                }
                None => None,
            },
            redis_url: match var(env, "SWIFTACARE_REDIS_URL") {
                Some(u)
                    if u.starts_with("redis://")
                        || u.starts_with("rediss://")
                        || u.starts_with("redis+unix://") =>
                {
                    Some(u)
                }
                Some(_) => {
                    return Err(ConfigError {
                        var: "SWIFTACARE_REDIS_URL",
                        problem: "must be a redis:// or redis+unix:// URL (TLS to Redis is not built in yet: use a local TLS tunnel)".into(),
                    });
                }
                None => None,
            },
            amqp_url: match var(env, "SWIFTACARE_AMQP_URL") {
                Some(u) if u.starts_with("amqp://") || u.starts_with("amqps://") => Some(u),
                Some(_) => {
                    return Err(ConfigError {
                        var: "SWIFTACARE_AMQP_URL",
                        problem: "must be an amqp:// or amqps:// URL (with the vhost as its path, e.g. amqp://guest:guest@127.0.0.1:5672/%2f)".into(),
                    });
                }
                None => None,
            },
            redis_prefix: {
                let p = var(env, "SWIFTACARE_REDIS_PREFIX").unwrap_or_else(|| "swiftacare".into());
                if p.is_empty()
                    || p.len() > 64
                    || !p
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                {
                    return Err(ConfigError {
                        var: "SWIFTACARE_REDIS_PREFIX",
                        problem: "must be 1–64 ASCII letters, digits, _ and -".into(),
                    });
                }
                p
            },
            trust_forwarded_for: flag(env, "SWIFTACARE_TRUST_FORWARDED_FOR")?,
            sms_allow_private: flag(env, "SWIFTACARE_SMS_ALLOW_PRIVATE")?,
            token_key: match var(env, "SWIFTACARE_TOKEN_KEY") {
                None => None,
                Some(k) => {
                    use base64::Engine;
                    let bytes = hex::decode(&k)
                        .ok()
                        .or_else(|| base64::engine::general_purpose::STANDARD.decode(&k).ok())
                        .ok_or_else(|| ConfigError {
                            var: "SWIFTACARE_TOKEN_KEY",
                            problem: "must be hex or base64".into(),
                        })?;
                    if bytes.len() < 32 {
                        return Err(ConfigError {
                            var: "SWIFTACARE_TOKEN_KEY",
                            problem: format!(
                                "must hold at least 32 bytes (got {}); e.g. `openssl rand -hex 32`",
                                bytes.len()
                            ),
                        });
                    }
                    Some(bytes)
                }
            },
            mail_from: {
                let f = var(env, "SWIFTACARE_MAIL_FROM")
                    .unwrap_or_else(|| "Swiftacare <no-reply@swiftacare.invalid>".into());
                if f.parse::<lettre::message::Mailbox>().is_err() {
                    return Err(ConfigError {
                        var: "SWIFTACARE_MAIL_FROM",
                        problem: "must be an address such as Clinic <no-reply@clinic.example>"
                            .into(),
                    });
                }
                f
            },
        })
    }

    /// Pool settings for `tenancy`, given the primary URL (configured or embedded).
    pub fn tenancy_options(&self, primary_url: &str) -> TenancyOptions {
        let mut urls = self.extra_shards.clone();
        urls.insert(ShardId::primary(), primary_url.to_owned());
        TenancyOptions {
            urls,
            pool_size: self.pool_size,
            pool_wait: self.pool_wait,
            registry_ttl: self.tenant_cache_ttl,
        }
    }

    /// Where people reach the server (for printed links).
    pub fn throttle(&self) -> Result<crate::throttle::Throttle, redis::RedisError> {
        match &self.redis_url {
            Some(url) => {
                crate::throttle::Throttle::redis(url, &self.redis_prefix, Default::default())
            }
            None => Ok(crate::throttle::Throttle::memory(Default::default())),
        }
    }

    /// The configured key, or (single-server default) `data_dir/token.key`, created once with 64
    /// random bytes and mode 0600. Several servers must share `SWIFTACARE_TOKEN_KEY`.
    pub fn token_signer(&self) -> anyhow::Result<domain::identity::tokens::TokenSigner> {
        let key = match &self.token_key {
            Some(k) => k.clone(),
            None => {
                let path = self.data_dir.join("token.key");
                match std::fs::read(&path) {
                    Ok(k) if k.len() >= 32 => k,
                    // Replacing an existing key would sign everyone out and make every enrolled
                    // authenticator unreadable: refuse instead.
                    Ok(_) => anyhow::bail!(
                        "{} is shorter than 32 bytes; restore it or set SWIFTACARE_TOKEN_KEY",
                        path.display()
                    ),
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        anyhow::bail!(
                            "cannot read {}: {e}; restore it or set SWIFTACARE_TOKEN_KEY",
                            path.display()
                        )
                    }
                    Err(_) => {
                        use rand::RngCore;
                        use std::io::Write;
                        let mut k = vec![0u8; 64];
                        rand::rng().fill_bytes(&mut k);
                        std::fs::create_dir_all(&self.data_dir)?;
                        let mut options = std::fs::OpenOptions::new();
                        options.write(true).create_new(true);
                        #[cfg(unix)]
                        {
                            use std::os::unix::fs::OpenOptionsExt;
                            options.mode(0o600);
                        }
                        match options.open(&path) {
                            Ok(mut f) => {
                                f.write_all(&k)?;
                                k
                            }
                            // Another process created it first: use theirs.
                            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                                std::fs::read(&path)?
                            }
                            Err(e) => return Err(e.into()),
                        }
                    }
                }
            }
        };
        Ok(domain::identity::tokens::TokenSigner::new(&key)?)
    }

    pub fn mailer(&self) -> Result<crate::mail::Mailer, crate::mail::MailError> {
        crate::mail::Mailer::new(
            self.smtp_url.as_deref(),
            &self.mail_from,
            self.data_dir.join("mail"),
        )
    }

    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(&move |k| map.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = cfg(&[]).expect("defaults are valid");
        assert_eq!(c.addr.to_string(), "127.0.0.1:8080");
        assert!(c.database_url.is_none());
        assert_eq!(c.log_format, LogFormat::Json);
    }

    #[test]
    fn errors_name_the_variable() {
        for (k, v) in [
            ("SWIFTACARE_ADDR", "nope"),
            ("DATABASE_URL", "mysql://x"),
            ("SWIFTACARE_DB_POOL_SIZE", "0"),
            ("SWIFTACARE_LOG_FORMAT", "xml"),
            ("SWIFTACARE_BASE_DOMAIN", "localhost"),
            ("SWIFTACARE_PUBLIC_URL", "ftp://x"),
            ("SWIFTACARE_LOG", "info,=[bad"),
            ("SWIFTACARE_SMTP_URL", "mail.example:25"),
            ("SWIFTACARE_MAIL_FROM", "not an address"),
            ("SWIFTACARE_REDIS_URL", "localhost:6379"),
            ("SWIFTACARE_TRUST_FORWARDED_FOR", "maybe"),
            ("SWIFTACARE_TOKEN_KEY", "abcd"),
        ] {
            let e = cfg(&[(k, v)]).expect_err(k);
            assert_eq!(e.var, k);
            assert!(e.to_string().contains(k));
        }
        let e = cfg(&[
            ("DATABASE_URL", "postgres://a/b"),
            ("SWIFTACARE_SHARD_URLS", "primary=postgres://x"),
        ])
        .expect_err("primary listed");
        assert_eq!(e.var, "SWIFTACARE_SHARD_URLS");
    }
}
