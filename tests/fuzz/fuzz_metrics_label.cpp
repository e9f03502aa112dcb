// Fuzz target: metric label values (src/metrics/text_format.cpp), which come from untrusted
// text such as a client's model name. Whatever the bytes, the sanitized value is at most
// kMaxLabelBytes of valid UTF-8 without control bytes and sanitizing it again changes nothing;
// the escaped form has no raw newline and no bare quote, and unescapes to the sanitized value;
// a sample line is one line; and a family's series cap holds.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "metrics/registry.hpp"
#include "metrics/text_format.hpp"

namespace {

// Independent of the sanitizer's own decoder: RFC 3629 by code point ranges.
bool valid_utf8_without_controls(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7F) return false;
      ++i;
      continue;
    }
    // F8..FF never start a sequence (the fuzzer found this oracle taking FC as a 4-byte lead).
    const std::size_t n = c >= 0xF8 ? 0 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (n == 0 || i + n > s.size()) return false;
    std::uint32_t cp = c & (0x7F >> n);
    for (std::size_t k = 1; k < n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    const std::uint32_t min = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

// The label value written as `escaped`; nullopt when a quote or newline is bare or an escape
// is unknown.
std::optional<std::string> unescape(std::string_view escaped) {
  std::string out;
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    char c = escaped[i];
    if (c == '"' || c == '\n') return std::nullopt;
    if (c == '\\') {
      if (++i == escaped.size()) return std::nullopt;
      c = escaped[i];
      if (c == 'n') {
        c = '\n';
      } else if (c != '\\' && c != '"') {
        return std::nullopt;
      }
    }
    out += c;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace relay::metrics;
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  const std::string clean = sanitize_label_value(in);
  if (clean.size() > kMaxLabelBytes || !valid_utf8_without_controls(clean)) std::abort();
  if (sanitize_label_value(clean) != clean) std::abort();
  if (in.size() <= kMaxLabelBytes && valid_utf8_without_controls(in) && clean != in) std::abort();

  std::string escaped;
  append_escaped(escaped, in);
  if (escaped.find('\n') != std::string::npos || unescape(escaped) != in) std::abort();

  std::string line;
  append_sample(line, "m", {{"v", in}}, 1);
  const std::string want = "m{v=\"" + [&] {
    std::string e;
    append_escaped(e, clean);
    return e;
  }() + "\"} 1\n";
  if (line != want) std::abort();

  // Two labels from the one input; the cap of 3 must hold across every run.
  static CounterFamily family("fuzz_total", "Fuzz.", {"a", "b"}, 3);
  family.add({in.substr(0, size / 2), in.substr(size / 2)});
  if (family.series_count() > 3) std::abort();
  std::string out;
  family.render(out);
  std::size_t lines = 0;
  for (const char c : out) lines += c == '\n';
  if (lines != 2 + family.series_count()) std::abort();
  return 0;
}
