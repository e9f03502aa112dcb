#pragma once
// The request metrics of /metrics (docs/metrics.md), all derived from the one UsageRecord each
// request ends with: responses by status and error code, time to first byte and duration
// histograms, tokens by tenant, model and kind, and streams that ended without usage. The
// record holds no key, prompt or completion, and only these fields of it become labels.
#include <string>

#include "metrics/registry.hpp"
#include "records/usage_record.hpp"

namespace relay::metrics {

// Series caps: the status/code pairs are few (the relay's error codes), but tenants and
// models are not bounded by code, and a model name is whatever the client sent.
inline constexpr std::size_t kResponsesMaxSeries = 200;
inline constexpr std::size_t kTokensMaxSeries = 1000;
inline constexpr std::size_t kUsageIncompleteMaxSeries = 1000;

class RequestMetrics {
 public:
  RequestMetrics();

  // Once per request, at settle. Thread-safe.
  void observe(const records::UsageRecord& r);
  // Appends every family (HELP and TYPE lines included) to `out`.
  void render(std::string& out) const;

 private:
  CounterFamily responses_;
  HistogramFamily ttfb_;
  HistogramFamily duration_;
  CounterFamily tokens_;
  CounterFamily usage_incomplete_;
};

}  // namespace relay::metrics
