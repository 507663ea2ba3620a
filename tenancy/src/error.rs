//! Errors raised by the door itself (not by the work done inside a transaction).

/// What can go wrong getting into a tenant's (or the control) schema.
#[derive(Debug, thiserror::Error)]
pub enum DoorError {
    /// No connection could be had: the database is down, restarting or saturated.
    /// Callers answer 503 with `Retry-After`.
    #[error("database unavailable on shard {shard}: {reason}")]
    Unavailable { shard: String, reason: String },
    /// The tenant is placed on a shard this process has no pool for (configuration error).
    #[error("no pool configured for shard {0}")]
    UnknownShard(String),
    /// Any database error raised while entering or running the transaction.
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl DoorError {
    /// True when retrying later may succeed (connection refused, pool timeout, server restart).
    pub fn is_unavailable(&self) -> bool {
        match self {
            DoorError::Unavailable { .. } => true,
            DoorError::Database(e) => is_connection_loss(e),
            DoorError::UnknownShard(_) => false,
        }
    }
}

/// Diesel reports a lost connection as `BrokenTransactionManager`, `DatabaseError(ClosedConnection)`
/// or an `Unknown` error carrying the driver's message.
pub fn is_connection_loss(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => true,
        Error::BrokenTransactionManager => true,
        Error::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            let m = info.message();
            m.contains("connection closed")
                || m.contains("terminating connection")
                || m.contains("the database system is shutting down")
                || m.contains("the database system is starting up")
                || m.contains("error communicating with the server")
        }
        _ => false,
    }
}
