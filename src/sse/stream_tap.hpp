#pragma once
// Reads a relayed SSE stream on the side: where events end (so the relay can insert a
// heartbeat or an error safely), whether the stream reached its terminal event, the response id
// and the usage. It keeps no prompt or completion text.
#include <cstdint>
#include <string>
#include <string_view>

#include "sse/sse_parser.hpp"

namespace relay::sse {

struct Usage {
  bool present = false;
  std::int64_t input_tokens = 0;
  std::int64_t cached_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t reasoning_tokens = 0;
};

// Usage from a whole JSON response (non-streaming Responses or chat completions), or an empty
// Usage when the body has none or is not JSON.
Usage usage_from_json_body(std::string_view body);

class StreamTap {
 public:
  StreamTap();
  void feed(std::string_view chunk);

  bool at_boundary() const { return parser_.at_boundary(); }
  // response.completed / response.failed / response.incomplete, or `[DONE]` on chat streams.
  bool terminal_seen() const { return !terminal_.empty(); }
  const std::string& terminal() const { return terminal_; }
  const std::string& response_id() const { return response_id_; }
  // An event that carries output (anything past response.created / in_progress / queued).
  bool output_seen() const { return output_seen_; }
  // error.code of a response.failed event, when one came.
  const std::string& failure_code() const { return failure_code_; }
  const Usage& usage() const { return usage_; }
  std::size_t events() const { return events_; }

 private:
  void on_event(const Event& ev);
  bool worth_parsing(const Event& ev);
  static bool decided_by_name(std::string_view name);

  SseParser parser_;
  std::string terminal_;
  std::string response_id_;
  std::string failure_code_;
  bool output_seen_ = false;
  Usage usage_;
  std::size_t events_ = 0;
};

}  // namespace relay::sse
