#include "relay/settle.hpp"

#include <spdlog/spdlog.h>

#include "base/log.hpp"
#include "relay/record.hpp"

namespace relay {

std::string_view to_string(Outcome o) {
  switch (o) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kRejected:
      return "rejected";
    case Outcome::kUpstreamError:
      return "upstream_error";
    case Outcome::kClientCancelled:
      return "client_cancelled";
  }
  return "unknown";
}

void settle(RequestContext& ctx, std::string_view detail) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  record_once(ctx);
  auto total = duration_cast<milliseconds>(std::chrono::steady_clock::now() - ctx.started);
  const std::string_view none;
  log::event(spdlog::level::info, "request",
             {{"request_id", ctx.request_id},
              {"tenant", ctx.key ? std::string_view(ctx.key->tenant_name) : none},
              {"key_id", ctx.key ? std::string_view(ctx.key->key_id) : none},
              {"method", ctx.method},
              {"path", std::string_view(ctx.path).substr(0, 128)},
              {"model", std::string_view(ctx.body.model).substr(0, 64)},
              {"account", ctx.account ? std::string_view(ctx.account->name) : none},
              {"egress", ctx.egress},
              {"status", std::int64_t{ctx.status}},
              {"outcome", to_string(ctx.outcome)},
              {"code", ctx.error_code},
              {"attempts", std::int64_t{ctx.attempts}},
              {"first_byte_ms", ctx.first_byte ? ctx.first_byte->count() : std::int64_t{-1}},
              {"total_ms", std::int64_t{total.count()}},
              {"bytes_in", ctx.bytes_in},
              {"bytes_out", ctx.bytes_out},
              {"in", ctx.usage.input_tokens},
              {"cached", ctx.usage.cached_tokens},
              {"out", ctx.usage.output_tokens},
              {"reasoning", ctx.usage.reasoning_tokens},
              {"client", ctx.client_family},
              {"detail", detail.substr(0, 200)}});
}

}  // namespace relay
