#pragma once
// The relay's log: spdlog on stderr, as text (for a terminal) or as one JSON object per line
// ([log] format, "json" by default for serve). Request events carry their fields as JSON members
// rather than inside a message, so a log pipeline can filter on request_id, tenant or status.
// Nothing logged may hold a relay key, a credential, a prompt or a completion: callers pass
// metadata only.
#include <spdlog/common.h>
#include <spdlog/sinks/sink.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace relay::log {

// json=true installs a JSON logger writing to `sink` (stderr when null); false only clears the
// flag, keeping the current logger and its text pattern.
void use_json(bool json, spdlog::sink_ptr sink = nullptr);

// A sink writing each formatted line to fd with one write(2), from a buffer it keeps; serve's
// JSON log uses it on stderr.
spdlog::sink_ptr fd_line_sink(int fd);
bool json();

// A field's name: a string literal of printable ASCII without '"' or '\\', checked when the
// code is compiled, so that the request line can write it as it is.
struct FieldName {
  template <std::size_t N>
  consteval FieldName(const char (&s)[N])  // NOLINT(google-explicit-constructor)
      : text(s, N - 1) {
    for (char c : text)
      if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') throw "not a plain field name";
  }
  std::string_view text;
};

struct Field {
  FieldName name;
  std::variant<std::string_view, std::int64_t, bool> value;
};

// One structured event: {"ts":…,"level":…,"event":NAME,<fields>} in JSON, and
// "NAME k=v k=v" in text (a value with a space or '=' is quoted).
void event(spdlog::level::level_enum level, std::string_view name,
           std::initializer_list<Field> fields);

// JSON string escaping that always yields valid JSON: control bytes as \u00XX, invalid UTF-8
// as U+FFFD. Appends the quoted string to out.
void append_json_string(std::string& out, std::string_view s);

}  // namespace relay::log
