#pragma once
// UTF-8 validation shared by everything that must emit valid text from untrusted bytes: the
// record codec, the log, metric labels.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace relay {

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF), or 0 when there is none. i < s.size().
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

// How many bytes from s[i] on a JSON string carries as they are: printable ASCII other than
// '"' and '\\'. Lets the encoders copy whole runs instead of a byte at a time; eight bytes are
// tested at once (the bit tricks of "Bit Twiddling Hacks": a byte below 0x20, above 0x7e, or
// equal to '"' or '\\' anywhere in the word), which matters on the access-log line.
inline std::size_t json_plain_run(std::string_view s, std::size_t i) {
  constexpr std::uint64_t k01 = 0x0101010101010101ULL;
  constexpr std::uint64_t k80 = 0x8080808080808080ULL;
  std::size_t j = i;
  for (; j + 8 <= s.size(); j += 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, s.data() + j, 8);
    const std::uint64_t below_space = (w - k01 * 0x20) & ~w & k80;
    const std::uint64_t above_tilde = ((w + k01 * (127 - 0x7e)) | w) & k80;
    const std::uint64_t q = w ^ (k01 * '"');
    const std::uint64_t b = w ^ (k01 * '\\');
    const std::uint64_t quote = (q - k01) & ~q & k80;
    const std::uint64_t backslash = (b - k01) & ~b & k80;
    if (below_space | above_tilde | quote | backslash) break;
  }
  for (; j < s.size(); ++j) {
    const auto c = static_cast<unsigned char>(s[j]);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') break;
  }
  return j - i;
}

}  // namespace relay
