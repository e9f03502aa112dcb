#pragma once
// Phase 8, settle: what happens after the response. Today: one access-log line with metadata
// only (never a key, a prompt or a completion).
#include <string_view>

#include "relay/context.hpp"

namespace relay {

void settle(const RequestContext& ctx, std::string_view detail = {});

}  // namespace relay
