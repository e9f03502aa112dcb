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

}  // namespace relay::sse
