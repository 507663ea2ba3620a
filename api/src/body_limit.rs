//! Request body size limit. poem's `SizeLimit` insists on `Content-Length` (so it rejects every
//! GET); this one answers 413 when the declared length is too large, and buffers at most
//! `max + 1` bytes of a body sent without a length (chunked, HTTP/2) before deciding.
//!
//! Routes that take larger bodies (a bulk upload) are named where the routes are built, with
//! [`BodyLimit::allowing`]; they get their own limit or the general one, whichever is larger.

/// The most a bulk batch upload may be. By arithmetic, not measurement: 10,000 rows (the batch
/// limit) of the longest CSV row the parser accepts in practice — a 320-character e-mail, two
/// ids, two dates and preferred times, ~420 bytes — come to ~4 MiB; twice that leaves room.
pub const UPLOAD_MAX: usize = 8 << 20;

use poem::http::{Method, StatusCode};
use poem::{Body, Endpoint, Middleware, Request};

pub struct BodyLimit {
    max: usize,
    /// (method, path suffix, limit) of routes allowed more than `max`.
    larger: Vec<(Method, &'static str, usize)>,
}

impl BodyLimit {
    pub fn new(max: usize) -> BodyLimit {
        BodyLimit {
            max,
            larger: Vec::new(),
        }
    }

    /// Lets requests with `method` whose path ends in `suffix` be up to `max` bytes.
    pub fn allowing(mut self, method: Method, suffix: &'static str, max: usize) -> BodyLimit {
        self.larger.push((method, suffix, max));
        self
    }
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        BodyLimitEndpoint {
            inner: ep,
            max: self.max,
            larger: self.larger.clone(),
        }
    }
}

pub struct BodyLimitEndpoint<E> {
    inner: E,
    max: usize,
    larger: Vec<(Method, &'static str, usize)>,
}

impl<E> BodyLimitEndpoint<E> {
    fn limit_for(&self, req: &Request) -> usize {
        let path = req.uri().path().trim_end_matches('/');
        self.larger
            .iter()
            .filter(|(m, suffix, _)| req.method() == m && path.ends_with(suffix))
            .map(|(_, _, max)| *max)
            .fold(self.max, usize::max)
    }
}

fn too_large() -> poem::Error {
    poem::Error::from_status(StatusCode::PAYLOAD_TOO_LARGE)
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> poem::Result<Self::Output> {
        let max = self.limit_for(&req);
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
