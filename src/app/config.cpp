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
#include <variant>

namespace relay::app {
namespace {

using FieldRef = std::variant<std::string*, int*, std::int64_t*, std::size_t*>;

struct Field {
  std::string_view section;
  std::string_view key;
  FieldRef (*ref)(Config&);
};

// The one list of settings: TOML keys and environment names are both derived from it, and the
// stringified member names keep them identical to the struct fields.
// clang-format off
#define RELAY_FIELD(sec, name) \
  Field{#sec, #name, [](Config& c) -> FieldRef { return &c.sec.name; }}
// clang-format on
constexpr std::array kFields = {
    RELAY_FIELD(server, listen),
    RELAY_FIELD(server, threads),
    RELAY_FIELD(server, max_header_bytes),
    RELAY_FIELD(server, max_body_bytes),
    RELAY_FIELD(server, header_timeout_ms),
    RELAY_FIELD(server, body_timeout_ms),
    RELAY_FIELD(server, keepalive_timeout_ms),
    RELAY_FIELD(upstream, connect_timeout_ms),
    RELAY_FIELD(upstream, first_byte_timeout_ms),
    RELAY_FIELD(upstream, idle_timeout_ms),
    RELAY_FIELD(upstream, heartbeat_interval_ms),
    RELAY_FIELD(upstream, stream_buffer_bytes),
    RELAY_FIELD(store, data_dir),
    RELAY_FIELD(store, master_key_file),
    RELAY_FIELD(log, level),
};
#undef RELAY_FIELD

constexpr std::array kLogLevels = {"trace", "debug", "info", "warn", "error", "critical", "off"};

// Numbers are never negative in this config; the range check also catches int overflow.
template <typename T>
bool assign_number(T* dst, std::int64_t v) {
  if (v < 0 || static_cast<std::uint64_t>(v) > std::numeric_limits<T>::max()) return false;
  *dst = static_cast<T>(v);
  return true;
}

// Returns "" on success, else the problem (without the location, which the caller knows).
std::string check_string(const Field& f, const std::string& v) {
  if (f.section == "log" && f.key == "level") {
    for (const char* l : kLogLevels)
      if (v == l) return {};
    return "'" + v + "' is not one of trace, debug, info, warn, error, critical, off";
  }
  return {};
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
        } else {
          if (!node.is_integer())
            throw std::runtime_error(where + ": expected an integer, got " + toml_type_name(node));
          if (!assign_number(dst, **node.as_integer()))
            throw std::runtime_error(where + ": value out of range");
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
        } else {
          std::int64_t v = 0;
          auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
          if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
              !assign_number(dst, v))
            throw std::runtime_error("environment variable " + var + ": '" + std::string(text) +
                                     "' is not a valid non-negative integer");
        }
      },
      f.ref(cfg));
}

}  // namespace

Config load_config(const std::string& path_or_empty) {
  Config cfg;
  if (path_or_empty.empty()) return cfg;
  const std::string& path = path_or_empty;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw std::runtime_error("config file " + path + ": not found or not a regular file");

  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& pos = e.source().begin;
    throw std::runtime_error(
        fmt::format("config file {}:{}:{}: {}", path, pos.line, pos.column, e.description()));
  }

  for (const auto& [section_key, section_node] : root) {
    const std::string_view section = section_key.str();
    if (!is_section(section))
      throw std::runtime_error(fmt::format(
          "config file {}: unknown section or key '{}' (known sections: server, upstream, "
          "store, log)",
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
  return cfg;
}

void apply_env_overrides(Config& cfg) {
  for (const Field& f : kFields) {
    const std::string var = env_name(f);
    if (const char* v = std::getenv(var.c_str())) apply_env_value(cfg, f, var, v);
  }
}

}  // namespace relay::app
