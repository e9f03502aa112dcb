#pragma once
// Incremental server-sent-events parser (WHATWG rules: LF, CRLF or CR line ends; `data`
// lines joined with LF; comments ignored; a blank line dispatches). It never copies the stream:
// the relay forwards the original bytes and this runs beside it as a tap.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace relay::sse {

struct Event {
  std::string_view type;          // the `event:` field, may be empty
  std::string_view data;          // `data:` lines joined by '\n'
  std::size_t data_capacity = 0;  // bytes readable at data.data() (for simdjson padding)
  bool truncated = false;         // data exceeded the limit and was cut
};

class SseParser {
 public:
  explicit SseParser(std::size_t max_event_bytes = 32u << 20) : max_event_(max_event_bytes) {}

  void feed(std::string_view chunk, const std::function<void(const Event&)>& on_event);

  // True when everything fed so far ended on an event boundary, so bytes can be inserted into
  // the stream (a heartbeat, an error event) without splitting an event.
  bool at_boundary() const { return line_.empty() && !has_fields_ && !after_cr_; }

 private:
  void process_line(std::string_view line, const std::function<void(const Event&)>& on_event);

  std::size_t max_event_;
  std::string line_;
  std::string event_type_;
  std::string data_;
  bool has_fields_ = false;
  bool has_data_ = false;
  bool truncated_ = false;
  bool after_cr_ = false;   // last byte was CR: a following LF belongs to it
  bool line_seen_ = false;  // a partial line has started (may be empty so far)
};

}  // namespace relay::sse
