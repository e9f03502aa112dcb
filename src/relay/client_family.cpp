#include "relay/client_family.hpp"

#include <array>
#include <cctype>
#include <utility>

namespace relay {
namespace {

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

// The names Codex uses for `originator` (codex-protocol.md); anything else that starts with
// codex_ is a Codex build we have not seen.
constexpr std::array kCodexOriginators = {std::string_view("codex_exec"),
                                          std::string_view("codex_cli_rs"),
                                          std::string_view("codex_vscode")};

// User-Agent prefixes, first match wins; the SDKs send "OpenAI/JS 6.49.0", "OpenAI/Python 1.x".
constexpr std::array<std::pair<std::string_view, std::string_view>, 10> kAgents = {{
    {"codex_exec/", "codex_exec"},
    {"codex_cli_rs/", "codex_cli_rs"},
    {"codex_vscode/", "codex_vscode"},
    {"codex_", "codex_other"},
    {"OpenAI/JS", "openai_js"},
    {"OpenAI/Python", "openai_python"},
    {"OpenAI/", "openai_other"},
    {"curl/", "curl"},
    {"python-requests/", "python_requests"},
    {"Mozilla/", "browser"},
}};

}  // namespace

std::string_view client_family(std::string_view originator, std::string_view user_agent) {
  if (!originator.empty()) {
    for (std::string_view o : kCodexOriginators)
      if (originator == o) return o;
    if (starts_with_ci(originator, "codex")) return "codex_other";
  }
  for (const auto& [prefix, family] : kAgents)
    if (starts_with_ci(user_agent, prefix)) return family;
  return originator.empty() && user_agent.empty() ? std::string_view() : "other";
}

std::string_view client_family(const http::Headers& headers) {
  const std::string* o = http::find_header(headers, "originator");
  const std::string* ua = http::find_header(headers, "user-agent");
  return client_family(o ? std::string_view(*o) : std::string_view(),
                       ua ? std::string_view(*ua) : std::string_view());
}

}  // namespace relay
