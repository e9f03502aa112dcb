#include "records/usage_record.hpp"

#include <simdjson.h>

#include <array>
#include <charconv>
#include <cstdio>
#include <limits>

#include "base/utf8.hpp"

namespace relay::records {
namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kVersion = 1;
// encode's worst case is about 12 strings of 256 bytes escaped 6-fold; anything longer was not
// written by encode, and is refused before the parser allocates for it.
constexpr std::size_t kMaxLine = std::size_t{64} * 1024;

// One table drives both directions, so encode and decode cannot disagree on a field.
struct Field {
  std::string_view member;  // ,"key": as it precedes the value in a line
  std::string_view key() const { return member.substr(2, member.size() - 4); }
  std::string UsageRecord::*str = nullptr;
  std::int64_t UsageRecord::*num = nullptr;
  bool UsageRecord::*flag = nullptr;
  std::int64_t min = 0;
  std::int64_t max = kMax;
};

constexpr Field text(std::string_view member, std::string UsageRecord::*m) {
  Field f;
  f.member = member;
  f.str = m;
  return f;
}

constexpr Field number(std::string_view member, std::int64_t UsageRecord::*m, std::int64_t min = 0,
                       std::int64_t max = kMax) {
  Field f;
  f.member = member;
  f.num = m;
  f.min = min;
  f.max = max;
  return f;
}

constexpr Field flag(std::string_view member, bool UsageRecord::*m) {
  Field f;
  f.member = member;
  f.flag = m;
  return f;
}

// In UsageRecord's order, which is also the order of the keys in a line.
constexpr std::array<Field, 24> kFields{
    text(",\"request_id\":", &UsageRecord::request_id),
    number(",\"start_ms\":", &UsageRecord::start_ms),
    text(",\"node\":", &UsageRecord::node),
    text(",\"region\":", &UsageRecord::region),
    text(",\"tenant\":", &UsageRecord::tenant),
    text(",\"key_id\":", &UsageRecord::key_id),
    text(",\"account\":", &UsageRecord::account),
    text(",\"egress\":", &UsageRecord::egress),
    text(",\"model\":", &UsageRecord::model),
    text(",\"endpoint\":", &UsageRecord::endpoint),
    flag(",\"stream\":", &UsageRecord::stream),
    number(",\"status\":", &UsageRecord::status, 0, kMaxStatus),
    text(",\"error_code\":", &UsageRecord::error_code),
    number(",\"attempts\":", &UsageRecord::attempts),
    number(",\"ttfb_ms\":", &UsageRecord::ttfb_ms, -1),
    number(",\"duration_ms\":", &UsageRecord::duration_ms),
    number(",\"bytes_in\":", &UsageRecord::bytes_in),
    number(",\"bytes_out\":", &UsageRecord::bytes_out),
    number(",\"input_tokens\":", &UsageRecord::input_tokens),
    number(",\"cached_tokens\":", &UsageRecord::cached_tokens),
    number(",\"output_tokens\":", &UsageRecord::output_tokens),
    number(",\"reasoning_tokens\":", &UsageRecord::reasoning_tokens),
    flag(",\"usage_incomplete\":", &UsageRecord::usage_incomplete),
    text(",\"client_family\":", &UsageRecord::client_family),
};

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {  // nearly every byte of a record
      ++i;
      continue;
    }
    const std::size_t n = utf8_sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// Calls take(piece) for s as a record holds it: at most kMaxString bytes, whole characters only,
// each invalid byte as '?', or in a path as %XX (a '?' there would read as the start of a query).
// A piece is one character or one replacement.
template <typename Take>
void for_each_kept(std::string_view s, bool path, Take&& take) {
  std::size_t kept = 0;
  char pct[4];
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_sequence_length(s, i);
    std::string_view ch = s.substr(i, n);
    if (n == 0) {
      std::snprintf(pct, sizeof pct, "%%%02X", static_cast<unsigned char>(s[i]));
      ch = path ? std::string_view(pct, 3) : std::string_view("?");
    }
    i += n ? n : 1;
    if (kept + ch.size() > kMaxString) break;
    kept += ch.size();
    take(ch);
  }
}

std::string_view without_query(std::string_view s, bool path) {
  return path ? s.substr(0, s.find('?')) : s;
}

void append_string(std::string& out, std::string_view s, bool path) {
  out += '"';
  if (s.size() <= kMaxString && json_plain_run(s, 0) == s.size()) {  // the usual case
    out += s;
    out += '"';
    return;
  }
  for_each_kept(s, path, [&](std::string_view ch) {
    const auto c = static_cast<unsigned char>(ch[0]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  });
  out += '"';
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

}  // namespace

std::string encode(const UsageRecord& r) {
  std::string out;
  out.reserve(512);
  out += "{\"v\":";
  append_int(out, kVersion);
  for (const Field& f : kFields) {
    out += f.member;
    if (f.str) {
      const bool path = f.str == &UsageRecord::endpoint;
      append_string(out, without_query(r.*f.str, path), path);
    } else if (f.num) {
      const std::int64_t v = r.*f.num;
      append_int(out, v < f.min || v > f.max ? f.min : v);
    } else {
      out += r.*f.flag ? "true" : "false";
    }
  }
  out += '}';
  return out;
}

UsageRecord normalized(const UsageRecord& r) {
  UsageRecord out;
  for (const Field& f : kFields) {
    if (f.str) {
      const bool path = f.str == &UsageRecord::endpoint;
      const std::string_view s = without_query(r.*f.str, path);
      std::string& to = out.*f.str;
      if (s.size() <= kMaxString && valid_utf8(s)) {
        to = s;  // the usual case: kept as it is
      } else {
        for_each_kept(s, path, [&](std::string_view ch) { to += ch; });
      }
    } else if (f.num) {
      const std::int64_t v = r.*f.num;
      out.*f.num = v < f.min || v > f.max ? f.min : v;
    } else {
      out.*f.flag = r.*f.flag;
    }
  }
  return out;
}

std::optional<UsageRecord> decode(std::string_view line) {
  if (line.size() > kMaxLine) return std::nullopt;
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(line.data(), line.size(), true).get(obj)) return std::nullopt;
  std::int64_t version = 0;
  if (obj["v"].get(version) || version != kVersion) return std::nullopt;
  UsageRecord r;
  for (const Field& f : kFields) {
    simdjson::dom::element e;
    if (obj[f.key()].get(e)) return std::nullopt;
    if (f.str) {
      std::string_view s;
      if (e.get(s) || s.size() > kMaxString || !valid_utf8(s)) return std::nullopt;
      if (f.str == &UsageRecord::endpoint && s.find('?') != std::string_view::npos)
        return std::nullopt;
      r.*f.str = s;
    } else if (f.num) {
      std::int64_t v = 0;
      if (e.get(v) || v < f.min || v > f.max) return std::nullopt;
      r.*f.num = v;
    } else {
      bool b = false;
      if (e.get(b)) return std::nullopt;
      r.*f.flag = b;
    }
  }
  return r;
}

}  // namespace relay::records
