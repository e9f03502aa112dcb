#pragma once
// The body of the admin listener's GET /metrics: what serve's parts report, gathered at scrape
// time (docs/metrics.md). Nothing here may name a key, a prompt or a completion.
#include <string>

#include "app/counter_backend.hpp"
#include "app/webhook_sender.hpp"
#include "metrics/request_metrics.hpp"
#include "pool/account_pool.hpp"
#include "pool/egress_pool.hpp"
#include "records/journal_queue.hpp"
#include "relay/pipeline.hpp"
#include "relay/quota_alerts.hpp"

namespace relay::records {
class StreamConsumer;
}
namespace relay::http {
struct SessionCounters;
}

namespace relay::app {

class SharedHealth;
class ConnectionLimiter;

struct MetricSources {
  const PipelineStats& stats;
  CounterBackend& counters;
  const records::JournalQueue& journal;
  const metrics::RequestMetrics& requests;
  const pool::AccountPool& accounts;
  const pool::EgressPool& egresses;
  const QuotaAlerts& alerts;
  const WebhookSender* webhook;                              // null: no [alerts] webhook_url
  const SharedHealth* shared_health = nullptr;               // null: no [redis]
  const records::StreamConsumer* stream_consumer = nullptr;  // null: not cluster + redis
  const ConnectionLimiter* connections = nullptr;
  const http::SessionCounters* sessions = nullptr;
};

std::string render_metrics(const MetricSources& m);

}  // namespace relay::app
