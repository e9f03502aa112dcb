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
  // A name skip_data_of skips came before a data line: data is only its first kSkippedPrefix
  // bytes (a later `event:` line may have renamed the event to one not skipped).
  bool cut = false;
};

class SseParser {
 public:
  explicit SseParser(std::size_t max_event_bytes = 32u << 20) : max_event_(max_event_bytes) {}

  // Events whose `event:` name makes skip(name) true arrive with only the first kSkippedPrefix
  // bytes of their data (all of it when shorter; `truncated` as usual) and `cut` set: a caller
  // that decides by the name alone need not have every delta of a stream copied. The data
  // lines of such an event are still read, so where events begin and end does not change.
  static constexpr std::size_t kSkippedPrefix = 7;
  void skip_data_of(bool (*skip)(std::string_view name)) { skip_data_ = skip; }

  void feed(std::string_view chunk, const std::function<void(const Event&)>& on_event);

  // True when everything fed so far ended on an event boundary, so bytes can be inserted into
  // the stream (a heartbeat, an error event) without splitting an event.
  bool at_boundary() const { return line_.empty() && !has_fields_ && !after_cr_; }

 private:
  void process_line(std::string_view line, const std::function<void(const Event&)>& on_event);
  void keep_partial(std::string_view piece);  // a line not ended yet, up to max_event_

  std::size_t max_event_;
  bool (*skip_data_)(std::string_view) = nullptr;
  std::string line_;
  std::string event_type_;
  std::string data_;
  bool has_fields_ = false;
  bool has_data_ = false;
  bool truncated_ = false;
  bool skipping_data_ = false;  // this event's name is one skip_data_ skips
  std::size_t data_size_ = 0;   // of the whole data, when skipping
  bool after_cr_ = false;       // last byte was CR: a following LF belongs to it
  bool line_seen_ = false;      // a partial line has started (may be empty so far)
  bool line_cut_ = false;       // that line was longer than max_event_
};

}  // namespace relay::sse
