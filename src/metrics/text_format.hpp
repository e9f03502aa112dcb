#pragma once
// The pieces of the Prometheus text exposition format 0.0.4 that the relay writes
// (docs/metrics.md). Label values come from untrusted text (a client's model name), so every
// value goes through the sanitizer before it is stored or written.
#include <cstddef>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace relay::metrics {

// A label value keeps at most this many bytes (after sanitizing, before escaping).
inline constexpr std::size_t kMaxLabelBytes = 64;
// Every label value of a label set that did not fit under a family's series cap.
inline constexpr std::string_view kOther = "other";

// Appends `value` as a label may hold it: whole UTF-8 characters up to kMaxLabelBytes bytes;
// each byte of an invalid sequence and each control byte (below 0x20, and 0x7F) becomes '?'.
// Idempotent: a sanitized value comes out unchanged.
void append_sanitized(std::string& out, std::string_view value);
std::string sanitize_label_value(std::string_view value);

// Escapes '\', '"' and newline as the format requires inside a label value's quotes.
void append_escaped(std::string& out, std::string_view value);

// A sample value: shortest round-trip decimal, "NaN", "+Inf" or "-Inf".
void append_value(std::string& out, double value);

// The "# HELP" and "# TYPE" lines of one family; written once, before its samples.
void append_family_header(std::string& out, std::string_view name, std::string_view help,
                          std::string_view type);

struct Label {
  std::string_view name;
  std::string_view value;
};

// One sample line, `name{a="x",b="y"} value`; label values are sanitized and escaped here.
void append_sample(std::string& out, std::string_view name, std::span<const Label> labels,
                   double value);
inline void append_sample(std::string& out, std::string_view name,
                          std::initializer_list<Label> labels, double value) {
  append_sample(out, name, std::span<const Label>(labels.begin(), labels.size()), value);
}

}  // namespace relay::metrics
