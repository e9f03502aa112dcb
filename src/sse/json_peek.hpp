#pragma once
// Cheap looks into an event's JSON before paying for a full parse. Most events of a stream are
// deltas that carry nothing the relay reads; these tell them apart with a substring scan. They
// may say yes wrongly (the full parse then decides), never no wrongly.
#include <cstring>
#include <string_view>

namespace relay::sse {

// glibc's memmem: string_view::find stops at every '"' of the JSON to compare the rest.
inline std::size_t find_in(std::string_view hay, std::string_view needle, std::size_t from = 0) {
  if (from > hay.size()) return std::string_view::npos;
  const void* at = memmem(hay.data() + from, hay.size() - from, needle.data(), needle.size());
  return at ? static_cast<std::size_t>(static_cast<const char*>(at) - hay.data())
            : std::string_view::npos;
}

// True when some `"usage"` key is followed by an object (`"usage": {`). Chat chunks carry
// `"usage":null` on every delta once include_usage is on; only the last one has an object.
inline bool may_have_usage_object(std::string_view json) {
  constexpr std::string_view kKey = "\"usage\"";
  auto skip_space = [&](std::size_t i) {
    while (i < json.size() &&
           (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r'))
      ++i;
    return i;
  };
  for (std::size_t at = find_in(json, kKey); at != std::string_view::npos;
       at = find_in(json, kKey, at + 1)) {
    std::size_t i = skip_space(at + kKey.size());
    if (i >= json.size() || json[i] != ':') continue;
    i = skip_space(i + 1);
    if (i < json.size() && json[i] == '{') return true;
  }
  return false;
}

}  // namespace relay::sse
