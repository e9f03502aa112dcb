#include "pool/outcome.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace relay::pool {

std::string_view to_string(FailureClass c) {
  switch (c) {
    case FailureClass::kNone:
      return "none";
    case FailureClass::kClientError:
      return "client_error";
    case FailureClass::kConnect:
      return "connect";
    case FailureClass::kTimeout:
      return "timeout";
    case FailureClass::kServerError:
      return "server_error";
    case FailureClass::kOverloaded:
      return "overloaded";
    case FailureClass::kRateLimited:
      return "rate_limited";
    case FailureClass::kAuth:
      return "auth";
  }
  return "unknown";
}

FailureClass classify_status(int status, std::string_view error_code) {
  if (status < 400) return FailureClass::kNone;
  if (status == 401 || status == 403) return FailureClass::kAuth;
  if (status == 429) {
    // Quota is billing, not a burst: waiting out a window does not help, so treat it as a
    // credential failure (Codex itself does not retry it either, codex-protocol.md §6).
    return error_code == "insufficient_quota" ? FailureClass::kAuth : FailureClass::kRateLimited;
  }
  if (status == 529 || (status == 503 && error_code == "server_is_overloaded"))
    return FailureClass::kOverloaded;
  if (status == 408) return FailureClass::kTimeout;
  if (status >= 500) return FailureClass::kServerError;
  return FailureClass::kClientError;
}

FailureClass classify_stream_failure(std::string_view code) {
  if (code == "rate_limit_exceeded") return FailureClass::kRateLimited;
  if (code == "insufficient_quota") return FailureClass::kAuth;
  if (code == "server_is_overloaded" || code == "slow_down") return FailureClass::kOverloaded;
  // Faults of the request itself (the Responses API's ResponseError codes: invalid_prompt,
  // invalid_image*, image_too_large, ...): another account would fail the same way.
  if (code == "context_length_exceeded" || code == "invalid_request_error" ||
      code == "unsupported_parameter" || code == "string_above_max_length" ||
      code == "empty_image_file" || code == "failed_to_download_image" ||
      code == "unsupported_image_media_type" || code.starts_with("invalid_") ||
      code.starts_with("image_"))
    return FailureClass::kClientError;
  return FailureClass::kServerError;  // server_error, vector_store_timeout, empty, unknown
}

bool worth_another_account(FailureClass c) {
  return c != FailureClass::kNone && c != FailureClass::kClientError;
}

namespace {

// Far beyond any real window; keeps the double -> integer conversion in range.
constexpr double kMaxSeconds = 1e7;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

Millis from_seconds(double s) {
  s = std::clamp(s, 0.0, kMaxSeconds);
  return Millis{static_cast<std::int64_t>(std::llround(s * 1000))};
}

// A whole-string decimal number ("2", "1.5", "-3"); nullopt for anything else.
std::optional<double> parse_number(std::string_view s) {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// OpenAI's x-ratelimit-reset-* format, Go-style durations: "1s", "6m0s", "20ms", "1h2m3.5s".
std::optional<Millis> parse_duration(std::string_view s) {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  double total = 0;
  while (!s.empty()) {
    std::size_t n = 0;
    while (n < s.size() && (std::isdigit(static_cast<unsigned char>(s[n])) || s[n] == '.')) ++n;
    double v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + n, v);
    if (n == 0 || ec != std::errc{} || end != s.data() + n) return std::nullopt;
    s.remove_prefix(n);
    double unit = 0;
    if (s.starts_with("ms"))
      unit = 1e-3, s.remove_prefix(2);
    else if (s.starts_with("us"))
      unit = 1e-6, s.remove_prefix(2);
    else if (s.starts_with("ns"))
      unit = 1e-9, s.remove_prefix(2);
    else if (s.starts_with("h"))
      unit = 3600, s.remove_prefix(1);
    else if (s.starts_with("m"))
      unit = 60, s.remove_prefix(1);
    else if (s.starts_with("s"))
      unit = 1, s.remove_prefix(1);
    else
      return std::nullopt;
    total += v * unit;
  }
  return from_seconds(total);
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

int two_digits(std::string_view t) {
  if (t.size() != 2 || !std::isdigit(static_cast<unsigned char>(t[0])) ||
      !std::isdigit(static_cast<unsigned char>(t[1])))
    return -1;
  return (t[0] - '0') * 10 + (t[1] - '0');
}

// An HTTP-date in any of the three forms RFC 9110 §5.6.7 requires recipients to accept:
// "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994".
// All three hold, in order: a month name, a time, and the day before the year among numbers.
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view s) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  std::vector<std::string_view> tokens;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == ',' || s[i] == '-')) ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != ',' && s[j] != '-') ++j;
    if (j > i) tokens.push_back(s.substr(i, j - i));
    i = j;
  }
  int month = -1, hh = -1, mm = -1, ss = -1;
  std::vector<int> numbers;
  for (auto t : tokens) {
    if (t.find(':') != std::string_view::npos) {
      if (t.size() != 8 || t[2] != ':' || t[5] != ':') return std::nullopt;
      hh = two_digits(t.substr(0, 2)), mm = two_digits(t.substr(3, 2)),
      ss = two_digits(t.substr(6));
      if (hh < 0 || mm < 0 || ss < 0) return std::nullopt;
    } else if (std::isdigit(static_cast<unsigned char>(t[0]))) {
      int v = 0;
      auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
      if (ec != std::errc{} || end != t.data() + t.size()) return std::nullopt;
      numbers.push_back(v);
    } else if (t.size() == 3 && month < 0) {
      std::string lower = http::to_lower(t);
      for (std::size_t m = 0; m < kMonths.size(); ++m)
        if (lower == kMonths[m]) month = static_cast<int>(m) + 1;
    }
  }
  if (month < 0 || hh < 0 || numbers.size() != 2) return std::nullopt;
  int day = numbers[0], year = numbers[1];
  if (year < 100) year += year < 70 ? 2000 : 1900;  // RFC 850's two-digit years
  if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || year < 1970) return std::nullopt;
  const std::int64_t secs =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
      std::int64_t{hh} * 3600 + std::int64_t{mm} * 60 + ss;
  return std::chrono::system_clock::time_point{std::chrono::seconds{secs}};
}

std::optional<Millis> parse_retry_after(std::string_view v,
                                        std::chrono::system_clock::time_point now) {
  if (auto secs = parse_number(v)) return from_seconds(*secs);
  if (auto date = parse_http_date(trim(v))) {
    auto diff = std::chrono::duration_cast<Millis>(*date - now);
    return std::max(diff, Millis{0});
  }
  return std::nullopt;
}

}  // namespace

std::optional<Millis> retry_after_from(const http::Headers& headers,
                                       std::chrono::system_clock::time_point now) {
  std::optional<Millis> best;
  auto consider = [&](std::optional<Millis> v) {
    if (v && (!best || *v > *best)) best = v;
  };
  for (const auto& h : headers) {
    if (h.name == "retry-after") {
      consider(parse_retry_after(h.value, now));
    } else if (h.name == "retry-after-ms") {
      if (auto ms = parse_number(h.value)) consider(from_seconds(*ms / 1000));
    } else if (h.name == "x-ratelimit-reset-requests" || h.name == "x-ratelimit-reset-tokens") {
      consider(parse_duration(h.value));
    }
  }
  return best;
}

}  // namespace relay::pool
