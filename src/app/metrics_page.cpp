#include "app/metrics_page.hpp"

#include <chrono>
#include <span>

#include "app/admin.hpp"
#include "app/connection_limiter.hpp"
#include "app/pool_metrics.hpp"
#include "app/shared_health.hpp"
#include "http/session.hpp"
#include "records/stream_consumer.hpp"

namespace relay::app {

namespace {

// One series without labels: what append_metric writes.
struct Metric {
  Metric(const char* name, const char* type, const char* help, auto value)
      : name(name), type(type), help(help), value(static_cast<double>(value)) {}
  const char* name;
  const char* type;
  const char* help;
  double value;
};

void append_metrics(std::string& out, std::span<const Metric> metrics) {
  for (const Metric& x : metrics) append_metric(out, x.name, x.type, x.help, x.value);
}

}  // namespace

std::string render_metrics(const MetricSources& m) {
  const PipelineStats& stats = m.stats;
  const auto& f = m.counters.fallback_stats();
  const records::JournalStats j = m.journal.stats();
  std::string out;
  const Metric general[] = {
      {"codex_relay_requests_total", "counter", "Requests received on the API listener.",
       stats.total.load()},
      {"codex_relay_requests_active", "gauge", "Requests in flight.", stats.active.load()},
      {"codex_relay_limits_shared", "gauge",
       "1 when tenant-limit counters are shared through Redis, 0 when in-process.",
       m.counters.shared() ? 1 : 0},
      {"codex_relay_limits_fail_open_active", "gauge",
       "1 while Redis is unavailable and admission uses this node's local limits.",
       f.degraded.load() ? 1 : 0},
      {"codex_relay_limits_fail_open_outages_total", "counter",
       "Times Redis became unavailable and admission fell back to local limits.", f.outages.load()},
      {"codex_relay_limits_fail_open_calls_total", "counter",
       "Counter-store calls answered locally because Redis could not answer.",
       f.local_answers.load()},
      {"codex_relay_streams_active", "gauge",
       "Admitted requests that asked for a stream, in flight.", stats.streams.load()},
      {"codex_relay_records_queue_pending_bytes", "gauge",
       "Metadata-record journal bytes written but not yet in the usage store.", j.pending_bytes},
      {"codex_relay_records_pushed_total", "counter",
       "Metadata records written to this process's journal.", j.pushed},
      {"codex_relay_records_delivered_total", "counter",
       "Metadata records committed to the usage store by this process.", j.delivered},
      {"codex_relay_records_lost_total", "counter",
       "Metadata records lost to a failed journal write (disk full, I/O error).", j.push_failures},
      {"codex_relay_records_skipped_total", "counter",
       "Journal lines that did not decode and were skipped.", j.skipped},
  };
  append_metrics(out, general);
  if (m.stream_consumer != nullptr) {
    const records::StreamConsumerStats c = m.stream_consumer->stats();
    const Metric stream[] = {
        {"codex_relay_records_stream_consumed_total", "counter",
         "Records this node took from the Redis stream into PostgreSQL.", c.consumed},
        {"codex_relay_records_stream_failures_total", "counter",
         "Stream consumer rounds that failed on Redis or PostgreSQL (retried).", c.failures},
        {"codex_relay_records_stream_lag", "gauge",
         "Records in the Redis stream not yet stored in PostgreSQL, as last read.", c.lag},
    };
    append_metrics(out, stream);
  }
  if (const SharedHealth* h = m.shared_health; h != nullptr) {
    const Metric health[] = {
        {"codex_relay_shared_health_published_total", "counter",
         "Account verdicts (cooling, disabled) this node published to Redis.", h->published()},
        {"codex_relay_shared_health_adopted_total", "counter",
         "Account verdicts of other nodes this node adopted.", h->adopted()},
        {"codex_relay_shared_health_failures_total", "counter",
         "Shared-health exchanges that could not reach Redis.", h->failures()},
    };
    append_metrics(out, health);
  }
  if (m.connections && m.sessions) {
    const auto& s = *m.sessions;
    const Metric listener[] = {
        {"codex_relay_connections_open", "gauge", "Client connections open on the API listener.",
         m.connections->open()},
        {"codex_relay_connections_refused_total", "counter",
         "Client connections refused because server.max_connections were open.",
         m.connections->refused_total()},
        {"codex_relay_connections_refused_address_total", "counter",
         "Client connections refused because their address had server.max_connections_per_ip open.",
         m.connections->refused_address()},
        {"codex_relay_tls_handshake_failures_total", "counter",
         "TLS handshakes on the API listener that failed or timed out.",
         s.tls_handshake_failures.load()},
        {"codex_relay_bad_request_heads_total", "counter",
         "Request heads refused with 400: malformed or ambiguous framing (smuggling shapes).",
         s.bad_request_heads.load()},
        {"codex_relay_slow_clients_total", "counter",
         "Responses cut because the client read slower than server.min_send_rate.",
         s.slow_clients.load()},
    };
    append_metrics(out, listener);
  }
  m.requests.render(out);
  render_pool_metrics(out, m.accounts, m.egresses, std::chrono::steady_clock::now());
  m.alerts.render_metrics(out);
  if (m.webhook) m.webhook->render_metrics(out);
  return out;
}

}  // namespace relay::app
