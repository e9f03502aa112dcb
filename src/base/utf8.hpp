#pragma once
// UTF-8 validation shared by everything that must emit valid text from untrusted bytes: the
// record codec, the log, metric labels.
#include <cstddef>
#include <string_view>

namespace relay {

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF), or 0 when there is none. i < s.size().
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

}  // namespace relay
