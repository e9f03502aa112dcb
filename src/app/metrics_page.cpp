#include "app/metrics_page.hpp"

#include <chrono>

#include "app/admin.hpp"
#include "app/pool_metrics.hpp"

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
  m.requests.render(out);
  render_pool_metrics(out, m.accounts, m.egresses, std::chrono::steady_clock::now());
  m.alerts.render_metrics(out);
  if (m.webhook) m.webhook->render_metrics(out);
  return out;
}

}  // namespace relay::app
