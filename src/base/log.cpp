#include "base/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <ctime>
#include <memory>
#include <mutex>

#include "base/utf8.hpp"

namespace relay::log {
namespace {

std::atomic<bool> g_json{false};
// Set while event() logs: only its payloads are spliced as JSON members, so no other message
// (which might quote outside text) can inject members.
thread_local bool t_in_event = false;

// Marks a payload that already holds JSON members (from event()); the formatter splices it.
constexpr char kMembers = '\x1e';

// "YYYY-MM-DDTHH:MM:SS" of a unix second, formatted once per second per thread: gmtime_r and
// strftime for every access-log line were 1 % of the relay's CPU under load.
std::string_view second_text(std::time_t secs) {
  thread_local std::time_t cached = -1;
  thread_local char text[40];
  thread_local std::size_t size = 0;
  if (secs != cached) {
    std::tm tm{};
    gmtime_r(&secs, &tm);
    size = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    cached = secs;
  }
  return {text, size};
}

class JsonFormatter final : public spdlog::formatter {
 public:
  // Straight into spdlog's buffer: the access-log line is written for every request.
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto put = [&dest](std::string_view s) { dest.append(s.data(), s.data() + s.size()); };
    const auto t = msg.time.time_since_epoch();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t).count();
    put("{\"ts\":\"");
    put(second_text(static_cast<std::time_t>(ms / 1000)));
    const auto milli = static_cast<int>((ms % 1000 + 1000) % 1000);
    const std::array<char, 5> frac{'.', static_cast<char>('0' + milli / 100),
                                   static_cast<char>('0' + milli / 10 % 10),
                                   static_cast<char>('0' + milli % 10), 'Z'};
    put({frac.data(), frac.size()});
    put("\",\"level\":\"");
    const auto lv = spdlog::level::to_string_view(msg.level);
    put({lv.data(), lv.size()});
    put("\"");
    std::string_view payload(msg.payload.data(), msg.payload.size());
    if (t_in_event && !payload.empty() && payload.front() == kMembers) {
      put(",");
      put(payload.substr(1));
    } else {
      std::string quoted;
      append_json_string(quoted, payload);
      put(",\"msg\":");
      put(quoted);
    }
    put("}\n");
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

// spdlog's stderr sink formats each line into a buffer of its own (a heap allocation for a line
// past 250 bytes, as every access-log line is) and writes it through stdio (lock, fwrite,
// fflush). This one keeps its buffer and writes each line with one write(2): the same system
// call, without the work around it.
class FdLineSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit FdLineSink(int fd) : fd_(fd) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    line_.clear();  // keeps its capacity
    formatter_->format(msg, line_);
    const char* at = line_.data();
    std::size_t left = line_.size();
    while (left > 0) {
      const ssize_t n = ::write(fd_, at, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // nowhere to report a log that cannot be written
      at += n;
      left -= static_cast<std::size_t>(n);
    }
  }
  void flush_() override {}

 private:
  int fd_;
  spdlog::memory_buf_t line_;
};

void append_text_value(std::string& out, std::string_view v) {
  bool plain = !v.empty();
  for (char c : v) plain = plain && c != ' ' && c != '=' && c != '"' && c > 0x1f;
  if (plain)
    out.append(v);
  else
    append_json_string(out, v);
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t i = json_plain_run(s, 0);
  out += '"';
  out.append(s.data(), i);
  if (i == s.size()) {  // the usual case: nothing to escape
    out += '"';
    return;
  }
  while (i < s.size()) {
    if (const std::size_t run = json_plain_run(s, i)) {
      out.append(s.substr(i, run));
      i += run;
      continue;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else if (c >= 0x80) {
      const std::size_t n = utf8_sequence_length(s, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
        continue;
      }
      out.append(s.substr(i, n));
      i += n;
      continue;
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  out += '"';
}

spdlog::sink_ptr fd_line_sink(int fd) {
  return std::make_shared<FdLineSink>(fd);
}

void use_json(bool json, spdlog::sink_ptr sink) {
  g_json = json;
  auto logger = spdlog::default_logger();
  if (json) {
    // One plain sink: color codes would break the JSON.
    if (!sink) sink = fd_line_sink(STDERR_FILENO);
    auto fresh = std::make_shared<spdlog::logger>(logger->name(), std::move(sink));
    fresh->set_level(logger->level());
    fresh->set_formatter(std::make_unique<JsonFormatter>());
    spdlog::set_default_logger(fresh);
  }
}

bool json() {
  return g_json.load(std::memory_order_relaxed);
}

void event(spdlog::level::level_enum level, std::string_view name,
           std::initializer_list<Field> fields) {
  if (!spdlog::should_log(level)) return;
  // One buffer per thread, kept: the request line is built for every request.
  thread_local std::string out;
  out.clear();
  const bool as_json = json();
  if (as_json) {
    out += kMembers;
    out += "\"event\":";
    append_json_string(out, name);
  } else {
    out.append(name);
  }
  for (const Field& f : fields) {
    if (as_json) {
      out.append(",\"", 2).append(f.name.text).append("\":", 2);  // plain: see FieldName
    } else {
      out += ' ';
      out.append(f.name.text);
      out += '=';
    }
    if (const auto* s = std::get_if<std::string_view>(&f.value)) {
      if (as_json)
        append_json_string(out, *s);
      else
        append_text_value(out, s->empty() ? std::string_view("-") : *s);
    } else if (const auto* i = std::get_if<std::int64_t>(&f.value)) {
      char digits[24];
      const auto r = std::to_chars(digits, digits + sizeof digits, *i);
      out.append(digits, r.ptr);
    } else {
      out += std::get<bool>(f.value) ? "true" : "false";
    }
  }
  t_in_event = as_json;
  // As the message itself: "{}" would copy it through fmt's buffer first.
  spdlog::default_logger_raw()->log(level, spdlog::string_view_t(out.data(), out.size()));
  t_in_event = false;
}

}  // namespace relay::log
