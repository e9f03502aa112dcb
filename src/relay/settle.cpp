#include "relay/settle.hpp"

#include <spdlog/spdlog.h>

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

void settle(const RequestContext& ctx, std::string_view detail) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  auto total = duration_cast<milliseconds>(std::chrono::steady_clock::now() - ctx.started);
  spdlog::info(
      "request id={} tenant={} method={} path={} model={} account={} egress={} status={} "
      "outcome={} "
      "code={} attempts={} first_byte_ms={} total_ms={} in={} cached={} out={}{}{}",
      ctx.request_id, ctx.key ? std::string_view(ctx.key->tenant_name) : std::string_view("-"),
      ctx.method, ctx.path.substr(0, 128),
      ctx.body.model.empty() ? "-" : ctx.body.model.substr(0, 64),
      ctx.account ? std::string_view(ctx.account->name) : std::string_view("-"),
      ctx.egress.empty() ? std::string_view("-") : std::string_view(ctx.egress), ctx.status,
      to_string(ctx.outcome), ctx.error_code.empty() ? std::string_view("-") : ctx.error_code,
      ctx.attempts, ctx.first_byte ? ctx.first_byte->count() : -1, total.count(),
      ctx.usage.input_tokens, ctx.usage.cached_tokens, ctx.usage.output_tokens,
      detail.empty() ? "" : " detail=", detail.substr(0, 200));
}

}  // namespace relay
