#include "relay/usage_option.hpp"

namespace relay {

bool is_chat_completions_path(std::string_view path) {
  return path == "/v1/chat/completions" || path == "/v1/chat/completions/";
}

bool wants_usage_option(std::string_view path, const BodyInfo& body) {
  return is_chat_completions_path(path) && body.json && body.stream && !body.stream_options;
}

void add_include_usage(std::string& body) {
  constexpr std::string_view kMember = R"("stream_options":{"include_usage":true})";
  const std::size_t open = body.find('{');
  if (open == std::string::npos) return;
  std::size_t next = body.find_first_not_of(" \t\r\n", open + 1);
  const bool empty = next != std::string::npos && body[next] == '}';
  body.insert(open + 1, empty ? std::string(kMember) : std::string(kMember) + ",");
}

}  // namespace relay
