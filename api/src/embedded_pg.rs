//! The "embedded default" PostgreSQL.
//!
//! Hand-written over the machine's own PostgreSQL binaries on purpose: crates such as
//! `postgresql_embedded` download PostgreSQL at build or run time, which offline and
//! air-gapped installs (and this project's CI) cannot do.
//!
//! When the server starts without `DATABASE_URL`, it should still have a database to talk to.
//! This module runs a private PostgreSQL cluster from the PostgreSQL server binaries that are
//! installed on the machine (found with `pg_config --bindir`, or under
//! `/usr/lib/postgresql/<version>/bin`), with its files in one directory (by default
//! `./.swiftacare/pg`, chosen by the caller):
//!
//! ```text
//! <dir>/data           the cluster (created with initdb on first use, kept between runs)
//! <dir>/sock           the unix socket directory (mode 0700)
//! <dir>/postgres.log   the server log
//! ```
//!
//! The server listens on 127.0.0.1 only, on a free port picked at start, and has a database
//! named `swiftacare`. [`EmbeddedPostgres::database_url`] gives the URL to connect to.
//! [`EmbeddedPostgres::stop`] (or dropping the value) stops the server it started. If a server
//! from the same data directory is already running (for example another `swiftacare` process
//! started it), it is reused and left running.
//!
//! PostgreSQL refuses to run as root. When this process is root, the PostgreSQL commands are
//! run as the `postgres` system user (with `runuser`, or `su` if `runuser` is missing), and
//! `<dir>/data`, `<dir>/sock` and `<dir>/postgres.log` are owned by that user. The directory
//! itself and its ancestors are left alone; they must already be traversable by `postgres`.
//!
//! This is meant for development and single-machine trials; for anything shared, set
//! `DATABASE_URL` to a real server.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The database the application uses.
const DB_NAME: &str = "swiftacare";
/// The cluster's superuser role, always `postgres` (initdb `--username=postgres`).
const SUPERUSER: &str = "postgres";
/// The system user the server runs as when this process is root.
const SYSTEM_USER: &str = "postgres";
/// How long to wait for the server to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How many free ports to try if the chosen one is taken between picking and binding.
const START_ATTEMPTS: usize = 3;
/// `sizeof(sockaddr_un.sun_path) - 1`: the longest unix socket path (without the NUL).
const MAX_SOCKET_PATH: usize = 107;
/// The longest socket file name PostgreSQL puts in the socket directory: `/.s.PGSQL.65535`.
const SOCKET_FILE_NAME_LEN: usize = "/.s.PGSQL.65535".len();
/// Where Debian/Ubuntu install the versioned server binaries.
const VERSIONED_ROOT: &str = "/usr/lib/postgresql";

/// Errors from starting or stopping the embedded PostgreSQL.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedPgError {
    #[error(
        "PostgreSQL server binaries not found (looked in `pg_config --bindir` and /usr/lib/postgresql/*/bin). Install them, e.g. `apt-get install postgresql` on Debian/Ubuntu, or set DATABASE_URL to an existing server."
    )]
    NoBinaries,

    #[error(
        "this process runs as root, PostgreSQL refuses to run as root, and there is no `postgres` system user (or no `runuser`/`su`) to run it as. Run as an unprivileged user, create a `postgres` system user, or set DATABASE_URL to an existing server."
    )]
    NoPostgresUser,

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    #[error("`{command}` failed ({status}): {stderr}")]
    CommandFailed {
        command: String,
        status: String,
        stderr: String,
    },

    #[error(
        "{path} is not accessible to the `{user}` system user, which runs PostgreSQL because this process is root. Choose a data directory whose parent directories `{user}` can traverse, or set DATABASE_URL to an existing server."
    )]
    NotAccessible { path: PathBuf, user: String },

    #[error(
        "the unix socket path {path}/.s.PGSQL.<port> would be longer than {limit} bytes; choose a data directory with a shorter path"
    )]
    SocketPathTooLong { path: PathBuf, limit: usize },

    #[error(
        "{data_dir} was created by PostgreSQL {data_version}, but the server binaries in {bin_dir} are PostgreSQL {bin_version}. Install the PostgreSQL {data_version} server binaries, or move the data directory away to start a fresh cluster."
    )]
    VersionMismatch {
        data_dir: PathBuf,
        data_version: String,
        bin_dir: PathBuf,
        bin_version: String,
    },

    #[error(
        "PostgreSQL did not start: `{command}` said: {stderr}\nlast lines of {log}:\n{log_tail}"
    )]
    StartFailed {
        command: String,
        stderr: String,
        log: PathBuf,
        log_tail: String,
    },

    #[error("PostgreSQL on 127.0.0.1:{port} did not accept connections within {waited_secs} s")]
    NotReady { port: u16, waited_secs: u64 },

    #[error(
        "a server from {data_dir} seems to be running (per its postmaster.pid) but did not accept connections on 127.0.0.1:{port} within {waited_secs} s; stop it, or if no such server exists, remove {data_dir}/postmaster.pid"
    )]
    ExistingServerNotReady {
        data_dir: PathBuf,
        port: u16,
        waited_secs: u64,
    },

    #[error("cannot read the port of the already running server from {path}: {reason}")]
    BadPidFile { path: PathBuf, reason: String },
}

impl EmbeddedPgError {
    fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

/// A private PostgreSQL cluster run from the machine's PostgreSQL binaries.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    /// The directory holding `data`, `sock` and `postgres.log` (absolute).
    dir: PathBuf,
    /// `<dir>/data`, the cluster.
    data_dir: PathBuf,
    /// The loopback port the server listens on.
    port: u16,
    /// Where `initdb`, `pg_ctl` and `postgres` are.
    bin_dir: PathBuf,
    /// The system user the PostgreSQL commands run as, when this process is root.
    run_as: Option<RunAs>,
    /// Whether this value started the server (and so stops it).
    owned: bool,
    /// Whether the server has been stopped by this value.
    stopped: AtomicBool,
}

impl EmbeddedPostgres {
    /// Finds binaries, initdb's the cluster if `dir/data` has no PG_VERSION, picks a free loopback port
    /// (127.0.0.1, port 0 bind trick), starts it with pg_ctl (listen_addresses=127.0.0.1, unix sockets in the
    /// dir, logfile dir/postgres.log), waits until it accepts connections (pg_isready or a TCP connect, bounded
    /// to ~30 s), and creates the database `swiftacare` if missing (via `psql` over loopback).
    ///
    /// If a server from `dir/data` is already running, it is reused (its port is read from
    /// `postmaster.pid`) and is not stopped by [`EmbeddedPostgres::stop`] or on drop.
    pub async fn start(dir: &Path) -> Result<Self, EmbeddedPgError> {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| EmbeddedPgError::io(format!("cannot create {}", dir.display()), e))?;
        let dir = tokio::fs::canonicalize(dir)
            .await
            .map_err(|e| EmbeddedPgError::io(format!("cannot resolve {}", dir.display()), e))?;
        let data_dir = dir.join("data");
        let sock_dir = dir.join("sock");
        let log_file = dir.join("postgres.log");

        if sock_dir.as_os_str().len() + SOCKET_FILE_NAME_LEN > MAX_SOCKET_PATH {
            return Err(EmbeddedPgError::SocketPathTooLong {
                path: sock_dir,
                limit: MAX_SOCKET_PATH,
            });
        }

        // An existing cluster can only be run by binaries of the same major version.
        let existing_version = match tokio::fs::read_to_string(data_dir.join("PG_VERSION")).await {
            Ok(v) => Some(v.trim().to_owned()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(EmbeddedPgError::io(
                    format!("cannot read {}", data_dir.join("PG_VERSION").display()),
                    e,
                ));
            }
        };
        let bin_dir = find_bin_dir(existing_version.as_deref()).await?;
        if let Some(data_version) = &existing_version {
            check_version(&bin_dir, &data_dir, data_version).await?;
        }

        let run_as = RunAs::detect().await?;
        prepare_dirs(&data_dir, &sock_dir, &log_file, run_as.as_ref()).await?;

        let mut pg = Self {
            dir,
            data_dir,
            port: 0,
            bin_dir,
            run_as,
            owned: false,
            stopped: AtomicBool::new(true),
        };

        if let Some(run_as) = &pg.run_as {
            pg.check_accessible(run_as).await?;
        }
        if existing_version.is_none() {
            pg.initdb().await?;
        }

        let reused = pg.is_running().await?;
        if reused {
            pg.port = read_pid_file_port(&pg.data_dir.join("postmaster.pid")).await?;
        } else {
            pg.port = pg.pg_ctl_start(&sock_dir, &log_file).await?;
            // From here on, dropping `pg` (also on an error below) stops the server.
            pg.owned = true;
            pg.stopped.store(false, Ordering::SeqCst);
        }

        match pg.wait_ready().await {
            Err(EmbeddedPgError::NotReady { port, waited_secs }) if reused => {
                return Err(EmbeddedPgError::ExistingServerNotReady {
                    data_dir: pg.data_dir.clone(),
                    port,
                    waited_secs,
                });
            }
            other => other?,
        }
        pg.ensure_database().await?;

        tracing::info!(
            port = pg.port,
            data_dir = %pg.data_dir.display(),
            reused,
            "embedded postgres started"
        );
        Ok(pg)
    }

    /// postgres://<user>@127.0.0.1:<port>/swiftacare
    pub fn database_url(&self) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{DB_NAME}", self.port)
    }

    /// pg_ctl stop -m fast; idempotent.
    ///
    /// Does nothing if the server was already running when [`EmbeddedPostgres::start`] was
    /// called (it is not ours to stop).
    pub async fn stop(&self) -> Result<(), EmbeddedPgError> {
        if !self.owned || self.stopped.load(Ordering::SeqCst) {
            return Ok(());
        }
        let result = self.run(&self.bin("pg_ctl"), &self.stop_args(), true).await;
        match result {
            Ok(_) => {}
            // Someone else stopped it already: the goal is reached.
            Err(_) if !self.is_running().await.unwrap_or(true) => {}
            Err(e) => return Err(e),
        }
        self.stopped.store(true, Ordering::SeqCst);
        tracing::info!(port = self.port, "embedded postgres stopped");
        Ok(())
    }

    fn bin(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }

    /// A client binary from the server's bin dir, or from PATH if it is not there.
    fn client_bin(&self, name: &str) -> PathBuf {
        let p = self.bin(name);
        if p.is_file() { p } else { PathBuf::from(name) }
    }

    fn stop_args(&self) -> Vec<OsString> {
        vec![
            "-D".into(),
            self.data_dir.clone().into(),
            "-m".into(),
            "fast".into(),
            "-w".into(),
            "-t".into(),
            "30".into(),
            "stop".into(),
        ]
    }

    /// When root: check that the `postgres` user can reach and write `<dir>/data`; if not, name
    /// the first directory on the way it cannot traverse.
    async fn check_accessible(&self, run_as: &RunAs) -> Result<(), EmbeddedPgError> {
        let test = Path::new("test");
        let ok = |path: &Path, flag: &str| {
            let args = vec![OsString::from(flag), path.as_os_str().to_owned()];
            async move { self.run(test, &args, true).await.is_ok() }
        };
        if ok(&self.data_dir, "-w").await {
            return Ok(());
        }
        let mut ancestors: Vec<&Path> = self.data_dir.ancestors().collect();
        ancestors.reverse();
        for a in ancestors {
            if !ok(a, "-x").await {
                return Err(EmbeddedPgError::NotAccessible {
                    path: a.to_owned(),
                    user: run_as.user.clone(),
                });
            }
        }
        Err(EmbeddedPgError::NotAccessible {
            path: self.data_dir.clone(),
            user: run_as.user.clone(),
        })
    }

    async fn initdb(&self) -> Result<(), EmbeddedPgError> {
        // Trust authentication: no password is needed. This is acceptable because the server only
        // listens on 127.0.0.1 (never on a network interface) and its unix socket directory is
        // private (mode 0700, owned by the server's user). Note that any process on this machine
        // can still connect over loopback; the embedded default is for development and
        // single-user machines. For anything shared, set DATABASE_URL to a real server.
        let base: Vec<OsString> = vec![
            "-D".into(),
            self.data_dir.clone().into(),
            format!("--username={SUPERUSER}").into(),
            "--auth=trust".into(),
            "--encoding=UTF8".into(),
        ];
        let initdb = self.bin("initdb");
        let mut args = base.clone();
        args.push("--locale=C.UTF-8".into());
        let first = match self.run(&initdb, &args, true).await {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        // C.UTF-8 is not available everywhere. initdb empties the data directory on failure,
        // so it can simply be run again with the always-available C locale.
        tracing::warn!("initdb with locale C.UTF-8 failed; retrying with locale C");
        let mut args = base;
        args.push("--locale=C".into());
        match self.run(&initdb, &args, true).await {
            Ok(_) => Ok(()),
            Err(EmbeddedPgError::CommandFailed {
                command,
                status,
                stderr,
            }) => Err(EmbeddedPgError::CommandFailed {
                command,
                status,
                stderr: format!("{stderr}\n(before that, with --locale=C.UTF-8: {first})"),
            }),
            Err(e) => Err(e),
        }
    }

    /// `pg_ctl status`: whether a server from this data directory is running.
    async fn is_running(&self) -> Result<bool, EmbeddedPgError> {
        let args: Vec<OsString> = vec!["-D".into(), self.data_dir.clone().into(), "status".into()];
        let out = self
            .command(&self.bin("pg_ctl"), &args, true)
            .output()
            .await
            .map_err(|e| EmbeddedPgError::io("cannot run pg_ctl status", e))?;
        // 0: running; 3: not running; 4: no accessible data directory.
        Ok(out.status.success())
    }

    /// Starts the server on a free port and returns the port.
    async fn pg_ctl_start(&self, sock_dir: &Path, log_file: &Path) -> Result<u16, EmbeddedPgError> {
        let pg_ctl = self.bin("pg_ctl");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = free_loopback_port().await?;
            let log_offset = tokio::fs::metadata(log_file)
                .await
                .map(|m| m.len())
                .unwrap_or(0);
            // pg_ctl runs the server through /bin/sh, so the -o string is shell-quoted.
            let mut opts = OsString::from(format!("-p {port} -k "));
            opts.push(shell_quote(sock_dir.as_os_str()));
            opts.push(" -c listen_addresses=127.0.0.1");
            let args: Vec<OsString> = vec![
                "-D".into(),
                self.data_dir.clone().into(),
                "-l".into(),
                log_file.to_owned().into(),
                "-o".into(),
                opts,
                "-w".into(),
                "-t".into(),
                "30".into(),
                "start".into(),
            ];
            match self.run(&pg_ctl, &args, true).await {
                Ok(_) => return Ok(port),
                Err(EmbeddedPgError::CommandFailed {
                    command, stderr, ..
                }) => {
                    let log_tail = read_log_tail(log_file, log_offset, 20).await;
                    // Another process may have taken the port between picking and binding.
                    if log_tail.contains("already in use") && attempt < START_ATTEMPTS {
                        tracing::warn!(port, "port taken before postgres could bind it; retrying");
                        continue;
                    }
                    return Err(EmbeddedPgError::StartFailed {
                        command,
                        stderr,
                        log: log_file.to_owned(),
                        log_tail,
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Waits (bounded) until the server accepts connections on 127.0.0.1.
    async fn wait_ready(&self) -> Result<(), EmbeddedPgError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let pg_isready = self.bin("pg_isready");
        let have_isready = pg_isready.is_file();
        loop {
            let ready = if have_isready {
                let args: Vec<OsString> = vec![
                    "-q".into(),
                    "-h".into(),
                    "127.0.0.1".into(),
                    "-p".into(),
                    self.port.to_string().into(),
                    "-U".into(),
                    SUPERUSER.into(),
                    "-d".into(),
                    "postgres".into(),
                    "-t".into(),
                    "2".into(),
                ];
                self.command(&pg_isready, &args, false)
                    .status()
                    .await
                    .map(|s| s.success())
                    .unwrap_or(false)
            } else {
                tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                    .await
                    .is_ok()
            };
            if ready {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(EmbeddedPgError::NotReady {
                    port: self.port,
                    waited_secs: READY_TIMEOUT.as_secs(),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Creates the `swiftacare` database if it does not exist (with psql over loopback).
    async fn ensure_database(&self) -> Result<(), EmbeddedPgError> {
        let psql = self.client_bin("psql");
        let psql_args = |sql: &str| -> Vec<OsString> {
            vec![
                "-X".into(),
                "-A".into(),
                "-t".into(),
                "-q".into(),
                "-v".into(),
                "ON_ERROR_STOP=1".into(),
                "-h".into(),
                "127.0.0.1".into(),
                "-p".into(),
                self.port.to_string().into(),
                "-U".into(),
                SUPERUSER.into(),
                "-d".into(),
                "postgres".into(),
                "-c".into(),
                sql.into(),
            ]
        };
        let exists = self
            .run(
                &psql,
                &psql_args(&format!(
                    "SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'"
                )),
                false,
            )
            .await?;
        if exists.trim() == "1" {
            return Ok(());
        }
        match self
            .run(
                &psql,
                &psql_args(&format!("CREATE DATABASE {DB_NAME}")),
                false,
            )
            .await
        {
            Ok(_) => Ok(()),
            // Another process created it in the meantime.
            Err(EmbeddedPgError::CommandFailed { stderr, .. })
                if stderr.contains("already exists") =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// A tokio command for `program args`, run as the server's user if `as_pg_user`.
    fn command(
        &self,
        program: &Path,
        args: &[OsString],
        as_pg_user: bool,
    ) -> tokio::process::Command {
        let run_as = if as_pg_user {
            self.run_as.as_ref()
        } else {
            None
        };
        let (program, args) = command_line(run_as, program, args);
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, _) in pg_env_vars() {
            cmd.env_remove(key);
        }
        cmd
    }

    /// Runs a command to completion; returns its stdout, or its stderr in the error.
    async fn run(
        &self,
        program: &Path,
        args: &[OsString],
        as_pg_user: bool,
    ) -> Result<String, EmbeddedPgError> {
        let out = self
            .command(program, args, as_pg_user)
            .output()
            .await
            .map_err(|e| EmbeddedPgError::io(format!("cannot run {}", program.display()), e))?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        let mut stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        if stderr.is_empty() {
            stderr = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        }
        Err(EmbeddedPgError::CommandFailed {
            command: describe(program, args),
            status: out.status.to_string(),
            stderr,
        })
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if !self.owned || self.stopped.load(Ordering::SeqCst) {
            return;
        }
        let (program, args) =
            command_line(self.run_as.as_ref(), &self.bin("pg_ctl"), &self.stop_args());
        let mut cmd = std::process::Command::new(program);
        cmd.args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (key, _) in pg_env_vars() {
            cmd.env_remove(key);
        }
        match cmd.status() {
            Ok(status) if status.success() => {
                self.stopped.store(true, Ordering::SeqCst);
                tracing::info!(port = self.port, "embedded postgres stopped");
            }
            Ok(_) | Err(_) => {
                tracing::warn!(
                    port = self.port,
                    "could not stop embedded postgres; it may still be running"
                );
            }
        }
    }
}

/// How to run a command as the `postgres` system user when this process is root.
#[derive(Debug, Clone)]
struct RunAs {
    user: String,
    switch: Switch,
}

#[derive(Debug, Clone)]
enum Switch {
    /// `runuser -u <user> -- <cmd> <args>`
    Runuser(PathBuf),
    /// `su <user> -s /bin/sh -c 'exec <cmd> <args>'`
    Su(PathBuf),
}

impl RunAs {
    /// `None` when not root; otherwise how to run commands as `postgres`.
    async fn detect() -> Result<Option<Self>, EmbeddedPgError> {
        if effective_uid().await? != 0 {
            return Ok(None);
        }
        let user_exists = tokio::process::Command::new("id")
            .args(["-u", SYSTEM_USER])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .map(|s| s.success())
            .unwrap_or(false);
        if !user_exists {
            return Err(EmbeddedPgError::NoPostgresUser);
        }
        let switch = if let Some(p) = which("runuser") {
            Switch::Runuser(p)
        } else if let Some(p) = which("su") {
            Switch::Su(p)
        } else {
            return Err(EmbeddedPgError::NoPostgresUser);
        };
        Ok(Some(Self {
            user: SYSTEM_USER.to_owned(),
            switch,
        }))
    }
}

/// The effective uid, from /proc/self/status (falling back to `id -u`).
async fn effective_uid() -> Result<u32, EmbeddedPgError> {
    if let Ok(status) = tokio::fs::read_to_string("/proc/self/status").await {
        // "Uid:\t<real>\t<effective>\t<saved>\t<fs>"
        let euid = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|rest| rest.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok());
        if let Some(euid) = euid {
            return Ok(euid);
        }
    }
    let out = tokio::process::Command::new("id")
        .arg("-u")
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| EmbeddedPgError::io("cannot run `id -u`", e))?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| EmbeddedPgError::CommandFailed {
            command: "id -u".to_owned(),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
}

/// Creates `<dir>/data` and `<dir>/sock` (mode 0700) and, when root, hands them and the log
/// file to the `postgres` user. Only these three paths are chowned, never `dir` itself.
async fn prepare_dirs(
    data_dir: &Path,
    sock_dir: &Path,
    log_file: &Path,
    run_as: Option<&RunAs>,
) -> Result<(), EmbeddedPgError> {
    use std::os::unix::fs::PermissionsExt;

    for d in [data_dir, sock_dir] {
        match tokio::fs::DirBuilder::new().mode(0o700).create(d).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(EmbeddedPgError::io(
                    format!("cannot create {}", d.display()),
                    e,
                ));
            }
        }
    }
    tokio::fs::set_permissions(sock_dir, std::fs::Permissions::from_mode(0o700))
        .await
        .map_err(|e| {
            EmbeddedPgError::io(
                format!("cannot set permissions of {}", sock_dir.display()),
                e,
            )
        })?;

    let Some(run_as) = run_as else {
        return Ok(());
    };
    // pg_ctl (running as `postgres`) must be able to append to the log, but `dir` itself stays
    // the caller's, so the log file is created here.
    tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(log_file)
        .await
        .map_err(|e| EmbeddedPgError::io(format!("cannot create {}", log_file.display()), e))?;
    let owner = OsString::from(format!("{}:", run_as.user));
    let chown = |args: Vec<OsString>| async move {
        let out = tokio::process::Command::new("chown")
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|e| EmbeddedPgError::io("cannot run chown", e))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(EmbeddedPgError::CommandFailed {
                command: describe(Path::new("chown"), &args),
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            })
        }
    };
    chown(vec!["-R".into(), owner.clone(), data_dir.into()]).await?;
    chown(vec![owner, sock_dir.into(), log_file.into()]).await?;
    Ok(())
}

/// Finds a bin dir with `initdb`, `pg_ctl` and `postgres`: the one matching an existing
/// cluster's major version first, then `pg_config --bindir`, then the highest
/// `/usr/lib/postgresql/*/bin`.
async fn find_bin_dir(preferred_major: Option<&str>) -> Result<PathBuf, EmbeddedPgError> {
    if let Some(major) = preferred_major {
        let dir = Path::new(VERSIONED_ROOT).join(major).join("bin");
        if has_server_binaries(&dir) {
            return Ok(dir);
        }
    }
    let pg_config = tokio::process::Command::new("pg_config")
        .arg("--bindir")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .await;
    if let Ok(out) = pg_config
        && out.status.success()
    {
        // Debian's /usr/bin/pg_config says /usr/bin, which has no initdb: checked here.
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_server_binaries(&dir) {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(VERSIONED_ROOT) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(version) = parse_version(&name.to_string_lossy()) else {
                continue;
            };
            let dir = entry.path().join("bin");
            if has_server_binaries(&dir) {
                versions.push((version, dir));
            }
        }
    }
    versions.sort();
    versions
        .pop()
        .map(|(_, dir)| dir)
        .ok_or(EmbeddedPgError::NoBinaries)
}

fn has_server_binaries(dir: &Path) -> bool {
    ["initdb", "pg_ctl", "postgres"]
        .iter()
        .all(|b| dir.join(b).is_file())
}

/// "15" -> [15], "9.6" -> [9, 6]; anything else -> None.
fn parse_version(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|p| p.parse().ok()).collect()
}

/// Fails if the binaries' major version differs from the cluster's `PG_VERSION`.
async fn check_version(
    bin_dir: &Path,
    data_dir: &Path,
    data_version: &str,
) -> Result<(), EmbeddedPgError> {
    let Ok(out) = tokio::process::Command::new(bin_dir.join("postgres"))
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .await
    else {
        return Ok(()); // pg_ctl will report any real problem
    };
    // "postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)"
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(bin_version) = text.split_whitespace().nth(2) else {
        return Ok(());
    };
    if bin_version == data_version || bin_version.starts_with(&format!("{data_version}.")) {
        return Ok(());
    }
    Err(EmbeddedPgError::VersionMismatch {
        data_dir: data_dir.to_owned(),
        data_version: data_version.to_owned(),
        bin_dir: bin_dir.to_owned(),
        bin_version: bin_version.to_owned(),
    })
}

/// The port of a running server: line 4 of `postmaster.pid`.
async fn read_pid_file_port(path: &Path) -> Result<u16, EmbeddedPgError> {
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|e| EmbeddedPgError::BadPidFile {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    parse_pid_file_port(&text).ok_or_else(|| EmbeddedPgError::BadPidFile {
        path: path.to_owned(),
        reason: "line 4 is not a port number".to_owned(),
    })
}

fn parse_pid_file_port(text: &str) -> Option<u16> {
    text.lines().nth(3)?.trim().parse().ok().filter(|p| *p != 0)
}

/// Asks the kernel for a free port on 127.0.0.1 (bind to port 0, read it, release it).
async fn free_loopback_port() -> Result<u16, EmbeddedPgError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| EmbeddedPgError::io("cannot bind 127.0.0.1:0 to find a free port", e))?;
    let port = listener
        .local_addr()
        .map_err(|e| EmbeddedPgError::io("cannot read the address of 127.0.0.1:0", e))?
        .port();
    Ok(port)
}

/// The last `lines` lines of the log written since `offset`.
async fn read_log_tail(log_file: &Path, offset: u64, lines: usize) -> String {
    let Ok(bytes) = tokio::fs::read(log_file).await else {
        return "(log not readable)".to_owned();
    };
    let start = usize::try_from(offset).unwrap_or(0).min(bytes.len());
    let text = String::from_utf8_lossy(&bytes[start..]);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The program and arguments that run `program args`, as `run_as` if given.
fn command_line(
    run_as: Option<&RunAs>,
    program: &Path,
    args: &[OsString],
) -> (OsString, Vec<OsString>) {
    match run_as {
        None => (program.as_os_str().to_owned(), args.to_vec()),
        Some(RunAs {
            user,
            switch: Switch::Runuser(runuser),
        }) => {
            let mut all: Vec<OsString> =
                vec!["-u".into(), user.into(), "--".into(), program.into()];
            all.extend(args.iter().cloned());
            (runuser.clone().into(), all)
        }
        Some(RunAs {
            user,
            switch: Switch::Su(su),
        }) => {
            let mut script = OsString::from("exec ");
            script.push(shell_quote(program.as_os_str()));
            for a in args {
                script.push(" ");
                script.push(shell_quote(a));
            }
            let all: Vec<OsString> = vec![
                user.into(),
                "-s".into(),
                "/bin/sh".into(),
                "-c".into(),
                script,
            ];
            (su.clone().into(), all)
        }
    }
}

/// Single-quotes a word for /bin/sh.
fn shell_quote(s: &OsStr) -> OsString {
    let mut out = Vec::with_capacity(s.len() + 2);
    out.push(b'\'');
    for &b in s.as_bytes() {
        if b == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(b);
        }
    }
    out.push(b'\'');
    OsString::from_vec(out)
}

/// For error messages.
fn describe(program: &Path, args: &[OsString]) -> String {
    let mut s = program.display().to_string();
    for a in args {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// `PG*` variables of this process (PGHOST, PGPORT, PGDATA, ...), removed from the commands'
/// environment so they cannot redirect them to another server or cluster.
fn pg_env_vars() -> Vec<(OsString, OsString)> {
    std::env::vars_os()
        .filter(|(k, _)| k.as_bytes().starts_with(b"PG"))
        .collect()
}

/// Finds an executable in PATH, also looking in the sbin directories (often not in PATH).
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `psql <url> -c <sql>` and returns its (unaligned, tuples-only) output.
    async fn psql(url: &str, sql: &str) -> String {
        let out = tokio::process::Command::new("psql")
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", url, "-c", sql])
            .output()
            .await
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql {sql:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn start_query_stop_restart_keeps_data() {
        use std::os::unix::fs::PermissionsExt;

        let tmp = tempfile::tempdir().expect("create tempdir");
        // When the test runs as root, the `postgres` user must be able to traverse the tempdir
        // to reach <dir>/data, whatever the umask.
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o711))
            .expect("make tempdir traversable");
        let dir = tmp.path().join("pg");

        let pg = EmbeddedPostgres::start(&dir).await.expect("first start");
        let url = pg.database_url();
        assert!(url.starts_with("postgres://postgres@127.0.0.1:"), "{url}");
        assert!(url.ends_with("/swiftacare"), "{url}");
        assert_eq!(psql(&url, "select 1").await, "1");
        psql(
            &url,
            "create table kept (v int); insert into kept values (42)",
        )
        .await;
        pg.stop().await.expect("stop");
        pg.stop().await.expect("second stop is a no-op");
        drop(pg);
        assert!(dir.join("data/PG_VERSION").is_file());

        let pg = EmbeddedPostgres::start(&dir).await.expect("second start");
        let url = pg.database_url();
        assert_eq!(psql(&url, "select v from kept").await, "42");
        pg.stop().await.expect("stop again");
        assert!(
            tokio::net::TcpStream::connect(("127.0.0.1", pg.port))
                .await
                .is_err(),
            "server still accepting connections after stop"
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(parse_version("15"), Some(vec![15]));
        assert_eq!(parse_version("9.6"), Some(vec![9, 6]));
        assert_eq!(parse_version("lib"), None);
        let pid = "123\n/x/data\n1700000000\n54321\n/x/sock\n127.0.0.1\n  1 2\nready\n";
        assert_eq!(parse_pid_file_port(pid), Some(54321));
        assert_eq!(parse_pid_file_port("123\n"), None);
        assert_eq!(
            shell_quote(OsStr::new("a'b c")),
            OsString::from("'a'\\''b c'")
        );
    }
}
