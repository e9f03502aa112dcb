#pragma once
// Phase 8, settle: what happens after the response. The metadata record (if the response did
// not already carry it out, record.hpp) and one access-log event with metadata only (never a
// key, a prompt or a completion).
#include <string_view>

#include "relay/context.hpp"

namespace relay {

void settle(RequestContext& ctx, std::string_view detail = {});

}  // namespace relay
