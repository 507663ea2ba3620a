//! Request body size limit. poem's `SizeLimit` insists on `Content-Length` (so it rejects every
//! GET); this one answers 413 when the declared length is too large, and buffers at most
//! `max + 1` bytes of a body sent without a length (chunked, HTTP/2) before deciding.
//!
//! One route may be larger: a bulk scheduling upload (`POST …/bulk-batches`) holds up to
//! 10,000 rows, more than the general limit, so it gets [`UPLOAD_MAX`] (or the general limit,
//! if that is larger).

/// The most a bulk batch upload may be: 10,000 rows of CSV or JSON with long e-mail addresses
/// come to about 4 MiB.
pub const UPLOAD_MAX: usize = 8 << 20;

use poem::http::StatusCode;
use poem::{Body, Endpoint, Middleware, Request};

pub struct BodyLimit(pub usize);

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        BodyLimitEndpoint {
            inner: ep,
            max: self.0,
        }
    }
}

pub struct BodyLimitEndpoint<E> {
    inner: E,
    max: usize,
}

fn too_large() -> poem::Error {
    poem::Error::from_status(StatusCode::PAYLOAD_TOO_LARGE)
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> poem::Result<Self::Output> {
        let max = if req.method() == poem::http::Method::POST
            && req
                .uri()
                .path()
                .trim_end_matches('/')
                .ends_with("/bulk-batches")
        {
            self.max.max(UPLOAD_MAX)
        } else {
            self.max
        };
        let declared = req
            .header("content-length")
            .map(|v| v.trim().parse::<u64>());
        match declared {
            Some(Ok(n)) if n > max as u64 => return Err(too_large()),
            Some(Ok(_)) => {}
            Some(Err(_)) => return Err(poem::Error::from_status(StatusCode::BAD_REQUEST)),
            // No declared length (chunked, HTTP/2, or no body at all): read at most max + 1.
            None => {
                use tokio::io::AsyncReadExt;
                let mut buf = Vec::new();
                let mut reader = req.take_body().into_async_read().take(max as u64 + 1);
                reader
                    .read_to_end(&mut buf)
                    .await
                    .map_err(|_| poem::Error::from_status(StatusCode::BAD_REQUEST))?;
                if buf.len() > max {
                    return Err(too_large());
                }
                req.set_body(Body::from(buf));
            }
        }
        self.inner.call(req).await
    }
}
