// Fuzz target: the client-family classifier. The input's first line is the originator, the rest
// the user agent. Whatever they hold, the result is one of the fixed names (so no header text
// can reach a record), and it is empty only when both headers are.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "relay/client_family.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto nl = text.find('\n');
  std::string_view originator = text.substr(0, nl);
  std::string_view agent = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  static constexpr std::array<std::string_view, 11> kNames = {
      "codex_exec",      "codex_cli_rs",  "codex_vscode", "codex_other",
      "openai_js",       "openai_python", "openai_other", "curl",
      "python_requests", "browser",       "other"};
  std::string_view family = relay::client_family(originator, agent);
  if (family.empty()) {
    if (!originator.empty() || !agent.empty()) std::abort();
    return 0;
  }
  bool known = false;
  for (std::string_view n : kNames) known = known || family == n;
  if (!known) std::abort();
  return 0;
}
