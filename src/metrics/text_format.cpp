#include "metrics/text_format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>

#include "base/utf8.hpp"

namespace relay::metrics {

void append_sanitized(std::string& out, std::string_view value) {
  // The usual label value (a tenant, a model, a status) is short printable ASCII, kept whole;
  // this runs for several labels of every request.
  if (value.size() <= kMaxLabelBytes &&
      std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c < 0x7f; })) {
    out.append(value);
    return;
  }
  std::size_t kept = 0;
  for (std::size_t i = 0; i < value.size();) {
    const std::size_t n = utf8_sequence_length(value, i);
    std::string_view ch = value.substr(i, n);
    if (n == 0) {
      ch = "?";
    } else if (n == 1) {
      const auto c = static_cast<unsigned char>(value[i]);
      if (c < 0x20 || c == 0x7F) ch = "?";
    }
    i += n == 0 ? 1 : n;
    // Cut before a character that would cross the limit, never inside one.
    if (kept + ch.size() > kMaxLabelBytes) break;
    out += ch;
    kept += ch.size();
  }
}

std::string sanitize_label_value(std::string_view value) {
  std::string out;
  append_sanitized(out, value);
  return out;
}

void append_escaped(std::string& out, std::string_view value) {
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void append_value(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else {
    fmt::format_to(std::back_inserter(out), "{}", value);
  }
}

void append_family_header(std::string& out, std::string_view name, std::string_view help,
                          std::string_view type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  // HELP text escapes only '\' and newline (a '"' is literal there).
  for (const char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void append_sample(std::string& out, std::string_view name, std::span<const Label> labels,
                   double value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    std::string clean;
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) out += ',';
      out += labels[i].name;
      out += "=\"";
      clean.clear();
      append_sanitized(clean, labels[i].value);
      append_escaped(out, clean);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  append_value(out, value);
  out += '\n';
}

}  // namespace relay::metrics
