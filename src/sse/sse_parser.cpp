#include "sse/sse_parser.hpp"

#include "sse/line_end.hpp"

#include <utility>

namespace relay::sse {

namespace {
constexpr std::size_t kPadding = 64;  // simdjson::SIMDJSON_PADDING
}

void SseParser::feed(std::string_view chunk, const std::function<void(const Event&)>& on_event) {
  std::size_t i = 0;
  LineEnds ends(chunk);
  while (i < chunk.size()) {
    if (after_cr_) {
      after_cr_ = false;
      if (chunk[i] == '\n') {
        ++i;
        continue;
      }
    }
    std::size_t end = ends.next(i);
    if (end == std::string_view::npos) {
      keep_partial(chunk.substr(i));
      line_seen_ = true;
      return;
    }
    std::string_view piece = chunk.substr(i, end - i);
    if (chunk[end] == '\r') after_cr_ = true;
    i = end + 1;
    if (line_seen_ || !line_.empty()) {
      keep_partial(piece);
      std::string line = std::move(line_);
      line_.clear();
      line_seen_ = false;
      // A line cut while it was kept is data lost: the event is truncated, as it would be had
      // the line come in one piece.
      if (std::exchange(line_cut_, false)) truncated_ = true;
      process_line(line, on_event);
    } else {
      process_line(piece, on_event);
    }
  }
}

void SseParser::keep_partial(std::string_view piece) {
  if (line_.size() + piece.size() > max_event_) line_cut_ = true;
  if (line_.size() < max_event_) line_.append(piece.substr(0, max_event_ - line_.size()));
}

void SseParser::process_line(std::string_view line,
                             const std::function<void(const Event&)>& on_event) {
  if (line.empty()) {
    if (has_data_) {
      data_.reserve(data_.size() + kPadding);
      Event ev{event_type_, data_, data_.capacity(), truncated_, skipping_data_};
      on_event(ev);
    }
    event_type_.clear();
    data_.clear();
    data_size_ = 0;
    has_fields_ = has_data_ = truncated_ = skipping_data_ = false;
    return;
  }
  has_fields_ = true;
  if (line.front() == ':') return;  // comment
  // The two fields every event has are recognised by their first bytes; only other lines pay
  // for a search for the colon (a call per line was a fifth of the parser's time).
  std::size_t colon = 0;
  if (line.starts_with("data:"))
    colon = 4;
  else if (line.starts_with("event:"))
    colon = 5;
  else
    colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (skipping_data_) {
      // Only the length (for truncated) and the first bytes are kept: see skip_data_of.
      data_size_ += (has_data_ ? 1 : 0) + value.size();
      if (data_size_ > max_event_) truncated_ = true;
      if (has_data_ && data_.size() < kSkippedPrefix) data_ += '\n';
      if (data_.size() < kSkippedPrefix)
        data_.append(value.substr(0, kSkippedPrefix - data_.size()));
      has_data_ = true;
      return;
    }
    if (has_data_) data_ += '\n';
    if (data_.size() + value.size() > max_event_) {
      truncated_ = true;
      value = value.substr(0, max_event_ > data_.size() ? max_event_ - data_.size() : 0);
    }
    data_.append(value);
    data_size_ = data_.size();
    has_data_ = true;
  } else if (field == "event") {
    event_type_.assign(value);
    if (skip_data_ && skip_data_(event_type_)) {
      skipping_data_ = true;  // what came before this line counts as read already
      data_size_ = data_.size();
      if (data_.size() > kSkippedPrefix) data_.resize(kSkippedPrefix);
    }
  }
  // `id` and `retry` are legal but the relay has no use for them.
}

}  // namespace relay::sse
