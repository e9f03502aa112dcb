#pragma once
// UTF-8 validation shared by everything that must emit valid text from untrusted bytes: the
// record codec, the log, metric labels.
#include <cstddef>
#include <string_view>

namespace relay {

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF), or 0 when there is none. i < s.size().
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

// How many bytes from s[i] on a JSON string carries as they are: printable ASCII other than
// '"' and '\\'. Lets the encoders copy whole runs instead of a byte at a time.
inline std::size_t json_plain_run(std::string_view s, std::size_t i) {
  std::size_t j = i;
  while (j < s.size()) {
    const auto c = static_cast<unsigned char>(s[j]);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') break;
    ++j;
  }
  return j - i;
}

}  // namespace relay
