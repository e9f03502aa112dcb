#pragma once
// The admin fields that the CLI (src/app/cli_*.cpp) and the admin API (admin_api.cpp) accept
// alike: the six admission limits, account base URLs and model lists, CA files. One place, so
// that the two ways of changing the config cannot check differently.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/config_store.hpp"

namespace relay::admin {

// One admission limit: its JSON field (also the CLI flag without "--", with '-' for '_'), its
// name in messages, and where it lives.
struct LimitField {
  const char* json;   // "daily_tokens"
  const char* flag;   // "--daily-tokens"
  const char* label;  // "daily tokens"
  const char* help;
  std::optional<std::int64_t> store::TenantLimitsUpdate::*update;
  std::int64_t store::TenantLimits::*limit;
};
extern const std::array<LimitField, 6> kLimitFields;

// {"rps":10,...}: every limit, 0 for none.
std::string limits_json(const store::TenantLimits& l);
// {"rps":10}: the limits an update sets (for the audit details).
std::string limits_update_json(const store::TenantLimitsUpdate& u);

std::string trim(std::string_view s);

// Trimmed, without trailing slashes. std::invalid_argument unless http:// or https://.
std::string normalize_base_url(std::string url);
// "" or "*": every model (an empty list); else the comma-separated names, trimmed.
std::vector<std::string> parse_models(const std::string& list);
// The absolute path of a readable CA file; std::invalid_argument when it cannot be read.
std::string absolute_readable(const std::string& path);

}  // namespace relay::admin

namespace relay::admin {

// The start of an audit listing, as unix ms: unix ms digits, a day "YYYY-MM-DD" (UTC
// midnight), or an age "30m", "12h", "7d" back from now_ms. nullopt when it is none of these.
std::optional<std::int64_t> parse_since(std::string_view text, std::int64_t now_ms);

}  // namespace relay::admin
