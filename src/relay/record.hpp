#pragma once
// The request's metadata record (docs/records.md): built from the RequestContext and handed to
// the EventQueue once per API request. It is handed over *before* the byte that completes the
// response leaves (the terminal SSE event, the last byte of a fixed-length body, the last chunk),
// so a client that holds a complete response implies a record in the journal; settle writes it
// for the requests that end otherwise (cut, cancelled).
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "records/event_queue.hpp"
#include "relay/context.hpp"

namespace relay {

class RecordSink {
 public:
  // queue may be null (records off); observe sees every record (the request metrics).
  RecordSink(records::EventQueue* queue, std::function<void(const records::UsageRecord&)> observe,
             std::string node, std::string region)
      : queue_(queue),
        observe_(std::move(observe)),
        node_(std::move(node)),
        region_(std::move(region)) {}

  void write(const records::UsageRecord& record) const;
  const std::string& node() const { return node_; }
  const std::string& region() const { return region_; }

 private:
  records::EventQueue* queue_;
  std::function<void(const records::UsageRecord&)> observe_;
  std::string node_;
  std::string region_;
};

records::UsageRecord make_record(const RequestContext& ctx, std::string_view node,
                                 std::string_view region,
                                 std::chrono::steady_clock::time_point now);

// Hands ctx's record to ctx.records, the first time only; nothing without a sink.
void record_once(RequestContext& ctx);

}  // namespace relay
