#include "app/metrics_page.hpp"

#include <chrono>

#include "app/admin.hpp"
#include "app/pool_metrics.hpp"
#include "app/shared_health.hpp"
#include "records/stream_consumer.hpp"

namespace relay::app {

std::string render_metrics(const MetricSources& m) {
  const PipelineStats& stats = m.stats;
  CounterBackend& counters = m.counters;
  std::string out;
  append_metric(out, "codex_relay_requests_total", "counter",
                "Requests received on the API listener.", static_cast<double>(stats.total.load()));
  append_metric(out, "codex_relay_requests_active", "gauge", "Requests in flight.",
                static_cast<double>(stats.active.load()));
  append_metric(out, "codex_relay_limits_shared", "gauge",
                "1 when tenant-limit counters are shared through Redis, 0 when in-process.",
                counters.shared() ? 1 : 0);
  const auto& f = counters.fallback_stats();
  append_metric(out, "codex_relay_limits_fail_open_active", "gauge",
                "1 while Redis is unavailable and admission uses this node's local limits.",
                f.degraded.load() ? 1 : 0);
  append_metric(out, "codex_relay_limits_fail_open_outages_total", "counter",
                "Times Redis became unavailable and admission fell back to local limits.",
                static_cast<double>(f.outages.load()));
  append_metric(out, "codex_relay_limits_fail_open_calls_total", "counter",
                "Counter-store calls answered locally because Redis could not answer.",
                static_cast<double>(f.local_answers.load()));
  append_metric(out, "codex_relay_streams_active", "gauge",
                "Admitted requests that asked for a stream, in flight.",
                static_cast<double>(stats.streams.load()));
  const records::JournalStats j = m.journal.stats();
  append_metric(out, "codex_relay_records_queue_pending_bytes", "gauge",
                "Metadata-record journal bytes written but not yet in the usage store.",
                static_cast<double>(j.pending_bytes));
  append_metric(out, "codex_relay_records_pushed_total", "counter",
                "Metadata records written to this process's journal.",
                static_cast<double>(j.pushed));
  append_metric(out, "codex_relay_records_delivered_total", "counter",
                "Metadata records committed to the usage store by this process.",
                static_cast<double>(j.delivered));
  append_metric(out, "codex_relay_records_lost_total", "counter",
                "Metadata records lost to a failed journal write (disk full, I/O error).",
                static_cast<double>(j.push_failures));
  append_metric(out, "codex_relay_records_skipped_total", "counter",
                "Journal lines that did not decode and were skipped.",
                static_cast<double>(j.skipped));
  if (m.stream_consumer != nullptr) {
    const records::StreamConsumerStats c = m.stream_consumer->stats();
    append_metric(out, "codex_relay_records_stream_consumed_total", "counter",
                  "Records this node took from the Redis stream into PostgreSQL.",
                  static_cast<double>(c.consumed));
    append_metric(out, "codex_relay_records_stream_failures_total", "counter",
                  "Stream consumer rounds that failed on Redis or PostgreSQL (retried).",
                  static_cast<double>(c.failures));
    append_metric(out, "codex_relay_records_stream_lag", "gauge",
                  "Records in the Redis stream not yet stored in PostgreSQL, as last read.",
                  static_cast<double>(c.lag));
  }
  if (m.shared_health != nullptr) {
    append_metric(out, "codex_relay_shared_health_published_total", "counter",
                  "Account verdicts (cooling, disabled) this node published to Redis.",
                  static_cast<double>(m.shared_health->published()));
    append_metric(out, "codex_relay_shared_health_adopted_total", "counter",
                  "Account verdicts of other nodes this node adopted.",
                  static_cast<double>(m.shared_health->adopted()));
    append_metric(out, "codex_relay_shared_health_failures_total", "counter",
                  "Shared-health exchanges that could not reach Redis.",
                  static_cast<double>(m.shared_health->failures()));
  }
  m.requests.render(out);
  render_pool_metrics(out, m.accounts, m.egresses, std::chrono::steady_clock::now());
  m.alerts.render_metrics(out);
  if (m.webhook) m.webhook->render_metrics(out);
  return out;
}

}  // namespace relay::app
