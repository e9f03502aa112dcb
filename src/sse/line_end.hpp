#pragma once
// Where a line ends in SSE: at the first CR or LF. Two memchr calls, because they are
// vectorised, while string_view::find_first_of("\r\n") tests every byte against the set, which
// cost 5 ns a byte and most of the relay's streaming CPU (bench/README.md, sse_bench).
#include <cstddef>
#include <cstring>
#include <string_view>

namespace relay::sse {

inline std::size_t find_line_end(std::string_view s, std::size_t from) {
  if (from >= s.size()) return std::string_view::npos;
  const char* begin = s.data() + from;
  const std::size_t n = s.size() - from;
  const auto* lf = static_cast<const char*>(std::memchr(begin, '\n', n));
  // A CR can only end the line if it comes before the LF, so the second search stops there.
  const std::size_t before_lf = lf ? static_cast<std::size_t>(lf - begin) : n;
  const auto* cr = static_cast<const char*>(std::memchr(begin, '\r', before_lf));
  if (cr) return static_cast<std::size_t>(cr - s.data());
  if (lf) return static_cast<std::size_t>(lf - s.data());
  return std::string_view::npos;
}

// find_line_end over one buffer, line after line, with the position of the next CR kept between
// calls: a stream without CRs (every provider's) costs one CR search per buffer, not one per
// line, and an empty line none at all. The buffer must outlive the scanner and not change.
class LineEnds {
 public:
  explicit LineEnds(std::string_view s) : s_(s) {}

  std::size_t next(std::size_t from) {
    if (from >= s_.size()) return std::string_view::npos;
    if (s_[from] == '\n' || s_[from] == '\r') return from;
    if (!cr_known_ || (cr_ != std::string_view::npos && cr_ < from)) {
      cr_ = find(from, '\r');
      cr_known_ = true;
    }
    const std::size_t lf = find(from, '\n');
    return cr_ < lf ? cr_ : lf;
  }

 private:
  std::size_t find(std::size_t from, char c) const {
    const auto* p = static_cast<const char*>(std::memchr(s_.data() + from, c, s_.size() - from));
    return p ? static_cast<std::size_t>(p - s_.data()) : std::string_view::npos;
  }

  std::string_view s_;
  std::size_t cr_ = 0;  // the first CR at or after the last search's start, npos when none
  bool cr_known_ = false;
};

}  // namespace relay::sse
