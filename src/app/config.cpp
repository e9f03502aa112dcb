#include "app/config.hpp"

#include <fmt/core.h>
#include <toml++/toml.h>

#include <array>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "redis/url.hpp"

namespace relay::app {
namespace {

using FieldRef =
    std::variant<std::string*, int*, std::int64_t*, std::size_t*, double*, bool*, pool::Millis*>;

constexpr std::int64_t kNoMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kDayMs = 86'400'000;

struct Field {
  std::string_view section;
  std::string_view key;
  FieldRef (*ref)(Config&);
  std::int64_t min = 0;  // integers and durations only
  std::int64_t max = kNoMax;
};

// The one list of settings: TOML keys and environment names are both derived from it. Plain
// sections stringify the member name so keys match the struct; [pool] names its keys, because
// durations are Millis members exposed as *_ms integers and cool-downs live in a per-class
// array. Ranges keep durations far from steady_clock overflow and counts sane.
// clang-format off
#define RELAY_FIELD(sec, name) \
  Field{#sec, #name, [](Config& c) -> FieldRef { return &c.sec.name; }}
#define RELAY_BOUNDED(sec, name, lo, hi) \
  Field{#sec, #name, [](Config& c) -> FieldRef { return &c.sec.name; }, lo, hi}
#define RELAY_POOL(key, member, lo, hi) \
  Field{"pool", #key, [](Config& c) -> FieldRef { return &c.pool.member; }, lo, hi}
#define RELAY_POLICY(key, cls, member, lo, hi) \
  Field{"pool", #key, [](Config& c) -> FieldRef { \
    return &c.pool.policy[static_cast<std::size_t>(pool::FailureClass::cls)].member; }, lo, hi}
// clang-format on
constexpr std::array kFields = {
    RELAY_FIELD(server, listen),
    RELAY_FIELD(server, threads),
    RELAY_FIELD(server, max_header_bytes),
    RELAY_FIELD(server, max_body_bytes),
    RELAY_FIELD(server, header_timeout_ms),
    RELAY_FIELD(server, body_timeout_ms),
    RELAY_FIELD(server, keepalive_timeout_ms),
    RELAY_BOUNDED(server, min_send_rate, 0, 1ll << 30),
    RELAY_BOUNDED(server, send_rate_grace_ms, 1, kDayMs),
    RELAY_BOUNDED(server, max_connections, 1, 10'000'000),
    RELAY_BOUNDED(server, max_connections_per_ip, 1, 10'000'000),
    RELAY_BOUNDED(server, invalid_key_burst, 0, 1'000'000),
    RELAY_BOUNDED(server, invalid_key_per_minute, 0, 1'000'000),
    RELAY_FIELD(server, tls_cert_file),
    RELAY_FIELD(server, tls_key_file),
    RELAY_FIELD(server, region),
    RELAY_FIELD(server, node),
    RELAY_FIELD(upstream, connect_timeout_ms),
    RELAY_FIELD(upstream, first_byte_timeout_ms),
    RELAY_FIELD(upstream, stream_first_byte_timeout_ms),
    RELAY_FIELD(upstream, idle_timeout_ms),
    RELAY_FIELD(upstream, heartbeat_interval_ms),
    RELAY_FIELD(upstream, stream_buffer_bytes),
    RELAY_FIELD(store, data_dir),
    RELAY_FIELD(store, master_key_file),
    RELAY_FIELD(store, backend),
    RELAY_FIELD(store, postgres_url),
    RELAY_FIELD(log, level),
    RELAY_FIELD(log, format),
    RELAY_FIELD(redis, url),
    RELAY_FIELD(redis, failure_mode),
    RELAY_BOUNDED(redis, timeout_ms, 1, 60'000),
    RELAY_FIELD(redis, key_prefix),
    RELAY_BOUNDED(limits, lease_ttl_ms, 1000, kDayMs),
    RELAY_FIELD(admin, listen),
    RELAY_BOUNDED(admin, max_body_bytes, 1024, 64 << 20),
    RELAY_BOUNDED(egress, probe_interval_ms, 0, kDayMs),
    RELAY_BOUNDED(egress, probe_timeout_ms, 10, 600'000),
    RELAY_BOUNDED(egress, down_retry_ms, 100, kDayMs),
    RELAY_BOUNDED(records, retention_days, 1, 36'500),
    RELAY_BOUNDED(records, aggregate_retention_days, 1, 36'500),
    RELAY_BOUNDED(records, retention_interval_ms, 1000, kDayMs),
    RELAY_FIELD(alerts, webhook_url),
    RELAY_BOUNDED(alerts, webhook_timeout_ms, 100, 600'000),
    RELAY_POOL(half_open_successes, half_open_successes, 1, 1000),
    RELAY_POOL(ewma_alpha, ewma_alpha, 0, 0),  // a double in (0, 1]: see check_double
    RELAY_POOL(affinity_ttl_ms, affinity_ttl, 0, 7 * kDayMs),
    RELAY_POOL(affinity_max_entries, affinity_max_entries, 1, 10'000'000),
    RELAY_POOL(max_attempts, max_attempts, 1, 10),
    RELAY_POOL(attempt_deadline_ms, attempt_deadline, 1, kDayMs),
    RELAY_POOL(holdback_bytes, holdback_bytes, 0, std::int64_t{64} * 1024 * 1024),
    RELAY_POOL(probe_disabled, probe_disabled, 0, 1),
    RELAY_POOL(probe_interval_ms, probe_interval, 10, kDayMs),
    RELAY_POOL(probe_path, probe_path, 0, 0),
    RELAY_POLICY(connect_base_ms, kConnect, base_cooldown, 0, 7 * kDayMs),
    RELAY_POLICY(connect_max_ms, kConnect, max_cooldown, 0, 7 * kDayMs),
    RELAY_POLICY(timeout_base_ms, kTimeout, base_cooldown, 0, 7 * kDayMs),
    RELAY_POLICY(timeout_max_ms, kTimeout, max_cooldown, 0, 7 * kDayMs),
    RELAY_POLICY(server_error_base_ms, kServerError, base_cooldown, 0, 7 * kDayMs),
    RELAY_POLICY(server_error_max_ms, kServerError, max_cooldown, 0, 7 * kDayMs),
    RELAY_POLICY(overloaded_base_ms, kOverloaded, base_cooldown, 0, 7 * kDayMs),
    RELAY_POLICY(overloaded_max_ms, kOverloaded, max_cooldown, 0, 7 * kDayMs),
    RELAY_POLICY(rate_limited_base_ms, kRateLimited, base_cooldown, 0, 7 * kDayMs),
    RELAY_POLICY(rate_limited_max_ms, kRateLimited, max_cooldown, 0, 7 * kDayMs),
    RELAY_POLICY(auth_disables, kAuth, disables, 0, 1),
};
#undef RELAY_FIELD
#undef RELAY_BOUNDED
#undef RELAY_POOL
#undef RELAY_POLICY

// Cool-down pairs checked after each layer: a base above its cap is a typo, not a wish.
constexpr std::array<std::pair<pool::FailureClass, std::string_view>, 5> kCooldownKeys = {{
    {pool::FailureClass::kConnect, "connect"},
    {pool::FailureClass::kTimeout, "timeout"},
    {pool::FailureClass::kServerError, "server_error"},
    {pool::FailureClass::kOverloaded, "overloaded"},
    {pool::FailureClass::kRateLimited, "rate_limited"},
}};

constexpr std::array kLogLevels = {"trace", "debug", "info", "warn", "error", "critical", "off"};

// Numbers are never negative in this config; the range check also catches int overflow.
template <typename T>
bool assign_number(const Field& f, T* dst, std::int64_t v) {
  if (v < f.min || v > f.max) return false;
  if constexpr (std::is_same_v<T, pool::Millis>) {
    *dst = pool::Millis{v};
  } else if constexpr (std::is_same_v<T, bool>) {
    *dst = v != 0;
  } else {
    if (v < 0 || static_cast<std::uint64_t>(v) > std::numeric_limits<T>::max()) return false;
    *dst = static_cast<T>(v);
  }
  return true;
}

std::string range_text(const Field& f) {
  return f.max == kNoMax ? "value out of range" : fmt::format("must be {}..{}", f.min, f.max);
}

// ewma_alpha is the only float: the weight of the newest sample, so 0 would freeze the average.
std::string check_double(double v) {
  if (!(v > 0 && v <= 1))
    return fmt::format("{} is out of range: must be above 0 and at most 1", v);
  return {};
}

// Returns "" on success, else the problem (without the location, which the caller knows).
std::string check_string(const Field& f, const std::string& v) {
  if (f.section == "log" && f.key == "level") {
    for (const char* l : kLogLevels)
      if (v == l) return {};
    return "'" + v + "' is not one of trace, debug, info, warn, error, critical, off";
  }
  if (f.section == "redis" && f.key == "url" && !v.empty()) {
    auto r = redis::parse_url(v);
    if (!r.endpoint) return r.error;  // never echoes the url: it may hold a password
  }
  if (f.section == "log" && f.key == "format" && v != "json" && v != "text")
    return "'" + v + "' is not one of json, text";
  if (f.section == "alerts" && f.key == "webhook_url" && !v.empty() && !v.starts_with("http://") &&
      !v.starts_with("https://"))
    return "must start with http:// or https://";
  if (f.section == "server" && (f.key == "region" || f.key == "node")) {
    for (unsigned char c : v)
      if (!std::isalnum(c) && c != '-' && c != '_' && c != '.')
        return "'" + v + "' may hold only letters, digits, '-', '_' and '.'";
  }
  if (f.section == "store" && f.key == "backend" && v != "sqlite" && v != "postgres")
    return "'" + v + "' is not one of sqlite, postgres";
  if (f.section == "store" && f.key == "postgres_url" && !v.empty() &&
      !v.starts_with("postgresql://") && !v.starts_with("postgres://"))
    return "must start with postgresql://";  // never echo it: it may hold a password
  if (f.section == "redis" && f.key == "failure_mode" && v != "open" && v != "closed")
    return "'" + v + "' is not one of open, closed";
  if (f.section == "redis" && f.key == "key_prefix") {
    for (unsigned char c : v)
      if (c <= 0x20 || c >= 0x7f) return "must be printable ASCII without spaces";
  }
  if (f.section == "pool" && f.key == "probe_path") {
    // It becomes a request target as is: no room for spaces, control bytes or a fragment.
    bool clean = v.size() > 4 && v.find('#') == std::string::npos;
    for (unsigned char c : v) clean = clean && c > 0x20 && c < 0x7f;
    if (!v.starts_with("/v1/") || !clean)
      return "'" + v + "' must be a path starting with /v1/ (e.g. /v1/models), without spaces";
  }
  return {};
}

void check_cooldowns(const Config& cfg, const std::string& origin) {
  for (const auto& [cls, name] : kCooldownKeys) {
    const pool::ClassPolicy& p = cfg.pool.for_class(cls);
    if (p.base_cooldown > p.max_cooldown)
      throw std::runtime_error(
          fmt::format("{}: pool.{}_base_ms ({}) must not exceed pool.{}_max_ms ({})", origin, name,
                      p.base_cooldown.count(), name, p.max_cooldown.count()));
  }
}

const Field* find_field(std::string_view section, std::string_view key) {
  for (const Field& f : kFields)
    if (f.section == section && f.key == key) return &f;
  return nullptr;
}

bool is_section(std::string_view name) {
  for (const Field& f : kFields)
    if (f.section == name) return true;
  return false;
}

std::string toml_type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    default:
      return "a date/time";
  }
}

void apply_toml_value(Config& cfg, const Field& f, const toml::node& node,
                      const std::string& where) {
  std::visit(
      [&](auto* dst) {
        using T = std::remove_pointer_t<decltype(dst)>;
        if constexpr (std::is_same_v<T, std::string>) {
          auto s = node.value<std::string>();
          if (!node.is_string() || !s)
            throw std::runtime_error(where + ": expected a string, got " + toml_type_name(node));
          if (auto err = check_string(f, *s); !err.empty())
            throw std::runtime_error(where + ": " + err);
          *dst = *s;
        } else if constexpr (std::is_same_v<T, bool>) {
          if (!node.is_boolean())
            throw std::runtime_error(where + ": expected a boolean, got " + toml_type_name(node));
          *dst = **node.as_boolean();
        } else if constexpr (std::is_same_v<T, double>) {
          auto v = node.value<double>();  // an integer such as 1 is a fine value here
          if (!(node.is_floating_point() || node.is_integer()) || !v)
            throw std::runtime_error(where + ": expected a number, got " + toml_type_name(node));
          if (auto err = check_double(*v); !err.empty())
            throw std::runtime_error(where + ": " + err);
          *dst = *v;
        } else {
          if (!node.is_integer())
            throw std::runtime_error(where + ": expected an integer, got " + toml_type_name(node));
          if (!assign_number(f, dst, **node.as_integer()))
            throw std::runtime_error(where + ": " + range_text(f));
        }
      },
      f.ref(cfg));
}

std::string env_name(const Field& f) {
  std::string name = "CODEX_RELAY_";
  for (char c : f.section) name.push_back(static_cast<char>(std::toupper(c)));
  name.push_back('_');
  for (char c : f.key) name.push_back(static_cast<char>(std::toupper(c)));
  return name;
}

void apply_env_value(Config& cfg, const Field& f, const std::string& var, std::string_view text) {
  std::visit(
      [&](auto* dst) {
        using T = std::remove_pointer_t<decltype(dst)>;
        if constexpr (std::is_same_v<T, std::string>) {
          if (auto err = check_string(f, std::string(text)); !err.empty())
            throw std::runtime_error("environment variable " + var + ": " + err);
          *dst = std::string(text);
        } else if constexpr (std::is_same_v<T, bool>) {
          if (text == "true" || text == "1")
            *dst = true;
          else if (text == "false" || text == "0")
            *dst = false;
          else
            throw std::runtime_error("environment variable " + var + ": '" + std::string(text) +
                                     "' is not one of true, false, 1, 0");
        } else if constexpr (std::is_same_v<T, double>) {
          double v = 0;
          auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
          if (text.empty() || ec != std::errc() || end != text.data() + text.size())
            throw std::runtime_error("environment variable " + var + ": '" + std::string(text) +
                                     "' is not a number");
          if (auto err = check_double(v); !err.empty())
            throw std::runtime_error("environment variable " + var + ": " + err);
          *dst = v;
        } else {
          std::int64_t v = 0;
          auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
          if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < 0)
            throw std::runtime_error("environment variable " + var + ": '" + std::string(text) +
                                     "' is not a valid non-negative integer");
          if (!assign_number(f, dst, v))
            throw std::runtime_error("environment variable " + var + ": " + range_text(f));
        }
      },
      f.ref(cfg));
}

std::runtime_error parse_failure(const std::string& path, const toml::parse_error& e) {
  const auto& pos = e.source().begin;
  return std::runtime_error(
      fmt::format("config file {}:{}:{}: {}", path, pos.line, pos.column, e.description()));
}

Config config_from_table(const toml::table& root, const std::string& path);

}  // namespace

Config load_config(const std::string& path_or_empty) {
  if (path_or_empty.empty()) return {};
  const std::string& path = path_or_empty;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw std::runtime_error("config file " + path + ": not found or not a regular file");

  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    throw parse_failure(path, e);
  }
  return config_from_table(root, path);
}

Config parse_config_text(std::string_view text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    throw parse_failure(origin, e);
  }
  return config_from_table(root, origin);
}

namespace {

Config config_from_table(const toml::table& root, const std::string& path) {
  Config cfg;
  for (const auto& [section_key, section_node] : root) {
    const std::string_view section = section_key.str();
    if (!is_section(section))
      throw std::runtime_error(fmt::format(
          "config file {}: unknown section or key '{}' (known sections: server, upstream, "
          "store, log, redis, limits, admin, egress, records, alerts, pool)",
          path, section));
    const toml::table* table = section_node.as_table();
    if (!table)
      throw std::runtime_error(
          fmt::format("config file {}: '{}' must be a table ([{}])", path, section, section));
    for (const auto& [key_key, node] : *table) {
      const std::string where = fmt::format("config file {}: {}.{}", path, section, key_key.str());
      const Field* f = find_field(section, key_key.str());
      if (!f) throw std::runtime_error(where + ": unknown key");
      apply_toml_value(cfg, *f, node, where);
    }
  }
  check_cooldowns(cfg, "config file " + path);
  return cfg;
}

}  // namespace

void apply_env_overrides(Config& cfg) {
  for (const Field& f : kFields) {
    const std::string var = env_name(f);
    if (const char* v = std::getenv(var.c_str())) apply_env_value(cfg, f, var, v);
  }
  check_cooldowns(cfg, "config (file and CODEX_RELAY_POOL_* environment)");
}

}  // namespace relay::app
