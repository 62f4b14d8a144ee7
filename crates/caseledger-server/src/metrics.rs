//! Prometheus counters, written by hand.
//!
//! A handful of counters and one latency histogram do not justify a metrics crate and its
//! global registry: atomics and a short text renderer cover them, and the exposition format
//! (version 0.0.4) is simple and stable.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the request latency histogram, in seconds.
const LATENCY_BUCKETS_SECONDS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
struct Histogram {
    buckets: [u64; LATENCY_BUCKETS_SECONDS.len()],
    count: u64,
    sum_seconds: f64,
}

/// Counts and latencies of one route template.
#[derive(Default)]
struct RouteStats {
    /// Requests by (method, status).
    counts: BTreeMap<(&'static str, u16), u64>,
    latency: Histogram,
}

/// The service's counters.
#[derive(Default)]
pub struct Metrics {
    /// Per route template (the set is bounded: templates, not paths). One lock, and no
    /// allocation once a route has been seen: the request path only looks its entry up.
    routes: Mutex<BTreeMap<String, RouteStats>>,
    in_flight: AtomicI64,
    appends: AtomicU64,
    append_duplicates: AtomicU64,
    rejections: Mutex<BTreeMap<String, u64>>,
    sse_subscribers: AtomicI64,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// The method's name as a label; methods outside the standard set count as `OTHER`, so the
/// label set stays bounded.
fn method_label(method: &str) -> &'static str {
    const METHODS: [&str; 9] = [
        "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE",
    ];
    METHODS
        .into_iter()
        .find(|known| *known == method)
        .unwrap_or("OTHER")
}

impl Metrics {
    /// Counts one finished request.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let method = method_label(method);
        let seconds = elapsed.as_secs_f64();
        let Ok(mut routes) = self.routes.lock() else {
            return;
        };
        if !routes.contains_key(route) {
            routes.insert(route.to_owned(), RouteStats::default());
        }
        let Some(stats) = routes.get_mut(route) else {
            return;
        };
        *stats.counts.entry((method, status)).or_default() += 1;
        let histogram = &mut stats.latency;
        for (bucket, bound) in histogram.buckets.iter_mut().zip(LATENCY_BUCKETS_SECONDS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        histogram.count += 1;
        histogram.sum_seconds += seconds;
    }

    /// A request started (+1) or finished (-1).
    pub fn in_flight_add(&self, delta: i64) {
        self.in_flight.fetch_add(delta, Ordering::Relaxed);
    }

    /// Requests being handled now (as `caseledger_http_requests_in_flight` reports them).
    pub fn in_flight(&self) -> i64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// An SSE subscriber joined (+1) or left (-1).
    pub fn sse_subscribers_add(&self, delta: i64) {
        self.sse_subscribers.fetch_add(delta, Ordering::Relaxed);
    }

    /// An act was appended (or answered as a duplicate of an earlier one).
    pub fn count_append(&self, duplicate: bool) {
        if duplicate {
            self.append_duplicates.fetch_add(1, Ordering::Relaxed);
        } else {
            self.appends.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A request was refused with the problem `code`.
    pub fn count_rejection(&self, code: &str) {
        if let Ok(mut rejections) = self.rejections.lock() {
            *rejections.entry(code.to_owned()).or_default() += 1;
        }
    }

    /// The Prometheus text exposition, with `head_position` and each projection's
    /// checkpoint and cached entries as gauges.
    pub fn render(&self, head_position: Option<u64>, projections: &[ProjectionGauges]) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP caseledger_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE caseledger_http_requests_total counter\n");
        let routes = self.routes.lock().ok();
        let routes = routes.as_deref();
        for (route, stats) in routes.into_iter().flatten() {
            for ((method, status), count) in &stats.counts {
                let _ = writeln!(
                    out,
                    "caseledger_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
                    escape(route)
                );
            }
        }
        out.push_str("# HELP caseledger_http_request_duration_seconds Time to the response head, by route.\n");
        out.push_str("# TYPE caseledger_http_request_duration_seconds histogram\n");
        for (route, stats) in routes.into_iter().flatten() {
            let histogram = &stats.latency;
            let route = escape(route);
            for (bound, count) in LATENCY_BUCKETS_SECONDS.iter().zip(histogram.buckets) {
                let _ = writeln!(
                    out,
                    "caseledger_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "caseledger_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                histogram.count
            );
            let _ = writeln!(
                out,
                "caseledger_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                histogram.sum_seconds
            );
            let _ = writeln!(
                out,
                "caseledger_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                histogram.count
            );
        }
        gauge(
            &mut out,
            "caseledger_http_requests_in_flight",
            "Requests being handled.",
            self.in_flight.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "caseledger_sse_subscribers",
            "Open live-tail connections.",
            self.sse_subscribers.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "caseledger_acts_appended_total",
            "Acts appended through the API.",
            self.appends.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "caseledger_acts_duplicate_total",
            "Repeated requests answered with the first result.",
            self.append_duplicates.load(Ordering::Relaxed),
        );
        out.push_str("# HELP caseledger_rejections_total Refused requests by problem code.\n");
        out.push_str("# TYPE caseledger_rejections_total counter\n");
        if let Ok(rejections) = self.rejections.lock() {
            for (code, count) in rejections.iter() {
                let _ = writeln!(
                    out,
                    "caseledger_rejections_total{{code=\"{}\"}} {count}",
                    escape(code)
                );
            }
        }
        if let Some(position) = head_position {
            gauge(
                &mut out,
                "caseledger_log_head_position",
                "Position of the last record of the log.",
                position as i64,
            );
        }
        if !projections.is_empty() {
            projection_gauge(
                &mut out,
                "caseledger_projection_checkpoint",
                "Last log position each projection has folded.",
                projections.iter().map(|p| (p.name, p.checkpoint)),
            );
            projection_gauge(
                &mut out,
                "caseledger_projection_cache_entries",
                "Entries each projection holds in memory.",
                projections.iter().map(|p| (p.name, p.cache_entries as u64)),
            );
        }
        out
    }
}

/// One projection's gauges, read from the projections at each scrape.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectionGauges {
    /// The projection's name.
    pub name: &'static str,
    /// The last position it has folded.
    pub checkpoint: u64,
    /// The entries its caches hold.
    pub cache_entries: usize,
}

impl ProjectionGauges {
    /// The gauges of every attached projection.
    pub fn of(live: &caseledger_projections::ledger::LiveProjections) -> Vec<ProjectionGauges> {
        // Both lists are in the projections' own order.
        live.checkpoints()
            .into_iter()
            .zip(live.cached())
            .map(
                |((name, checkpoint), (_, cache_entries))| ProjectionGauges {
                    name,
                    checkpoint,
                    cache_entries,
                },
            )
            .collect()
    }
}

fn gauge(out: &mut String, name: &str, help: &str, value: i64) {
    let _ = write!(
        out,
        "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"
    );
}

/// A gauge with one value a projection, labelled `projection`.
fn projection_gauge<'a>(
    out: &mut String,
    name: &str,
    help: &str,
    values: impl Iterator<Item = (&'a str, u64)>,
) {
    let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n");
    for (projection, value) in values {
        let _ = writeln!(
            out,
            "{name}{{projection=\"{}\"}} {value}",
            escape(projection)
        );
    }
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    let _ = write!(
        out,
        "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"
    );
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histogram() {
        let metrics = Metrics::default();
        metrics.observe_request("GET", "/healthz", 200, Duration::from_micros(300));
        metrics.observe_request("GET", "/healthz", 200, Duration::from_millis(3));
        metrics.count_rejection("forbidden");
        metrics.count_append(false);
        let text = metrics.render(
            Some(7),
            &[ProjectionGauges {
                name: "case_status",
                checkpoint: 7,
                cache_entries: 3,
            }],
        );
        assert!(text.contains(
            "caseledger_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "caseledger_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.001\"} 1"
        ));
        assert!(text.contains(
            "caseledger_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.005\"} 2"
        ));
        assert!(text.contains("caseledger_rejections_total{code=\"forbidden\"} 1"));
        assert!(text.contains("caseledger_acts_appended_total 1"));
        assert!(text.contains("caseledger_log_head_position 7"));
        assert!(text.contains("caseledger_projection_checkpoint{projection=\"case_status\"} 7"));
        assert!(text.contains("caseledger_projection_cache_entries{projection=\"case_status\"} 3"));
    }
}
