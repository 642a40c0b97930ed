//! Closed-loop HTTP load: a number of client threads repeating GETs for a while, each over
//! a kept-alive connection of its own (`rawget`: a blocking `reqwest` client hands every
//! request to a runtime thread of its own and back, load taken from the servers measured).

use crate::rawget::{split_url, RawGet};
use crate::{BenchError, Summary};
use std::time::{Duration, Instant};

/// `clients` threads GET `url(i)` (i counts each thread's requests, offset per thread) until
/// `duration` has passed; every answer must be a 200. Returns requests per second and latency.
pub fn get_loop(
    clients: usize,
    duration: Duration,
    url: &(dyn Fn(usize) -> String + Sync),
    admin: bool,
) -> Result<(f64, Summary), BenchError> {
    let t0 = Instant::now();
    let results: Vec<Result<Vec<f64>, BenchError>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..clients.max(1))
            .map(|t| {
                s.spawn(move || -> Result<Vec<f64>, BenchError> {
                    let mut conn: Option<(String, RawGet)> = None;
                    let mut ms = Vec::new();
                    let mut i = t * 1_000_003;
                    while t0.elapsed() < duration {
                        let u = url(i);
                        i += 1;
                        let (server, path) = split_url(&u)?;
                        let c = match &mut conn {
                            Some((s, c)) if *s == server => c,
                            _ => {
                                let c = RawGet::new(&server)?;
                                let c = if admin { c } else { c.anonymous() };
                                &mut conn.insert((server, c)).1
                            }
                        };
                        let start = Instant::now();
                        let status = c.get(path, &mut std::io::sink())?;
                        if status != 200 {
                            return Err(BenchError::Http(format!(
                                "GET {u} answered {status} under load"
                            )));
                        }
                        ms.push(start.elapsed().as_secs_f64() * 1000.0);
                    }
                    Ok(ms)
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(BenchError::Http("a client thread panicked".into())))
            })
            .collect()
    });
    let elapsed = t0.elapsed().as_secs_f64();
    let mut all = Vec::new();
    for r in results {
        all.extend(r?);
    }
    Ok((all.len() as f64 / elapsed, Summary::of(all)))
}
