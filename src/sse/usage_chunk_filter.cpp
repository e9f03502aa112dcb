#include "sse/usage_chunk_filter.hpp"

#include <simdjson.h>

#include <algorithm>

#include "sse/json_peek.hpp"
#include "sse/line_end.hpp"

namespace relay::sse {
namespace {

// The data of an event's raw bytes: its "data:" lines joined by '\n' (the SSE rule).
std::string event_data(std::string_view raw) {
  std::string data;
  bool first = true;
  std::size_t i = 0;
  while (i < raw.size()) {
    std::size_t end = find_line_end(raw, i);
    if (end == std::string_view::npos) end = raw.size();
    std::string_view line = raw.substr(i, end - i);
    if (line.substr(0, 5) == "data:") {
      line.remove_prefix(5);
      if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
      if (!first) data += '\n';
      data.append(line);
      first = false;
    }
    i = end;
    if (i < raw.size() && raw[i] == '\r') ++i;
    if (i < raw.size() && raw[i] == '\n') ++i;
  }
  return data;
}

}  // namespace

bool is_usage_only_chunk(std::string_view data) {
  if (data.empty() || data.front() != '{' || !may_have_usage_object(data)) return false;
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(simdjson::padded_string(data)).get(doc)) return false;
  simdjson::dom::array choices;
  simdjson::dom::object usage;
  return !doc["choices"].get(choices) && choices.size() == 0 && !doc["usage"].get(usage);
}

void UsageChunkFilter::feed(std::string_view chunk, std::string& out) {
  pending_.append(chunk);
  release(out, false);
}

void UsageChunkFilter::flush(std::string& out) {
  release(out, true);
  out += pending_;
  pending_.clear();
  scan_ = line_start_ = 0;
}

// Scans line by line for the blank line that ends an event; a lone '\r' at the end of the
// buffer waits for the next byte, which may be its '\n'.
void UsageChunkFilter::release(std::string& out, bool at_end) {
  std::size_t event_start = 0;
  while (scan_ < pending_.size()) {
    scan_ = std::min(find_line_end(pending_, scan_), pending_.size());
    if (scan_ == pending_.size()) break;
    const char c = pending_[scan_];
    std::size_t next = scan_ + 1;
    if (c == '\r') {
      if (next == pending_.size() && !at_end) break;
      if (next < pending_.size() && pending_[next] == '\n') ++next;
    }
    const bool blank = scan_ == line_start_;
    scan_ = line_start_ = next;
    if (!blank) continue;
    std::string_view raw(pending_.data() + event_start, next - event_start);
    if (passthrough_) {
      out.append(raw);
      passthrough_ = false;
    } else if (is_usage_only_chunk(event_data(raw))) {
      ++removed_;
    } else {
      out.append(raw);
    }
    event_start = next;
  }
  pending_.erase(0, event_start);
  scan_ -= event_start;
  line_start_ -= event_start;
  if (pending_.size() > kMaxEvent || (passthrough_ && !pending_.empty())) {
    // Too long to be a usage chunk: let it through now rather than hold it.
    out += pending_;
    pending_.clear();
    scan_ = line_start_ = 0;
    passthrough_ = true;
  }
}

}  // namespace relay::sse
