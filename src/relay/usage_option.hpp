#pragma once
// Chat Completions streams carry their usage only when the request sets
// stream_options.include_usage. So that every stream's tokens are counted, the relay sets it on
// a streaming chat request that has no stream_options at all, and removes the extra usage chunk
// from what the client receives (sse/usage_chunk_filter.hpp). A request that has stream_options
// is left as the client wrote it: without include_usage its record says usage_incomplete.
#include <string>
#include <string_view>

#include "relay/inspect.hpp"

namespace relay {

bool is_chat_completions_path(std::string_view path);

// Whether the relay should ask for usage on the client's behalf.
bool wants_usage_option(std::string_view path, const BodyInfo& body);

// Adds "stream_options":{"include_usage":true} as the first member of the JSON object in body
// (which inspect has parsed as an object). The rest of the body is kept byte for byte.
void add_include_usage(std::string& body);

}  // namespace relay
