#pragma once
// The kind of client behind a request, for the metadata record: a short name from a fixed list,
// derived from `originator` (sent by the Codex CLI) and `User-Agent`. The header values
// themselves are never stored: they can carry host names, OS versions and other details that
// identify a person or a machine.
#include <string_view>

#include "http/message.hpp"

namespace relay {

// One of: codex_exec, codex_cli_rs, codex_vscode, codex_other, openai_js, openai_python,
// openai_other, curl, python_requests, browser, other, or "" when neither header is present.
std::string_view client_family(std::string_view originator, std::string_view user_agent);
std::string_view client_family(const http::Headers& headers);

}  // namespace relay
