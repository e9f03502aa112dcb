#include "sse/sse_parser.hpp"

#include "sse/line_end.hpp"

namespace relay::sse {

namespace {
constexpr std::size_t kPadding = 64;  // simdjson::SIMDJSON_PADDING
}

void SseParser::feed(std::string_view chunk, const std::function<void(const Event&)>& on_event) {
  std::size_t i = 0;
  while (i < chunk.size()) {
    if (after_cr_) {
      after_cr_ = false;
      if (chunk[i] == '\n') {
        ++i;
        continue;
      }
    }
    std::size_t end = find_line_end(chunk, i);
    if (end == std::string_view::npos) {
      if (line_.size() < max_event_) line_.append(chunk.substr(i, max_event_ - line_.size()));
      line_seen_ = true;
      return;
    }
    std::string_view piece = chunk.substr(i, end - i);
    if (chunk[end] == '\r') after_cr_ = true;
    i = end + 1;
    if (line_seen_ || !line_.empty()) {
      if (line_.size() < max_event_) line_.append(piece.substr(0, max_event_ - line_.size()));
      std::string line = std::move(line_);
      line_.clear();
      line_seen_ = false;
      process_line(line, on_event);
    } else {
      process_line(piece, on_event);
    }
  }
}

void SseParser::process_line(std::string_view line,
                             const std::function<void(const Event&)>& on_event) {
  if (line.empty()) {
    if (has_data_) {
      data_.reserve(data_.size() + kPadding);
      Event ev{event_type_, data_, data_.capacity(), truncated_};
      on_event(ev);
    }
    event_type_.clear();
    data_.clear();
    has_fields_ = has_data_ = truncated_ = false;
    return;
  }
  has_fields_ = true;
  if (line.front() == ':') return;  // comment
  auto colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_) data_ += '\n';
    if (data_.size() + value.size() > max_event_) {
      truncated_ = true;
      value = value.substr(0, max_event_ > data_.size() ? max_event_ - data_.size() : 0);
    }
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    event_type_.assign(value);
  }
  // `id` and `retry` are legal but the relay has no use for them.
}

}  // namespace relay::sse
